"""The IBPS / other-bank simulator's own tables (prefix `ibsim_`).

The simulator stands in for systems outside our bank, so it keeps its state the way they would: in
its own store, surviving our restarts (a debit that timed out on our side is still there to query
after we come back). It shares the database file only for convenience; nothing of ours joins these
tables, and a real connector would not have them.
"""

from sqlalchemy import BigInteger, CheckConstraint, Column, Date, Integer, String, Table

from cunguan.db.tables.base import Id64, metadata

ibsim_banks = Table(
    "ibsim_banks",
    metadata,
    Column("bank_no", String(12), primary_key=True),
    Column("name", String(60), nullable=False),
    Column("status", String(8), nullable=False),
    CheckConstraint("status IN ('OPEN', 'CLOSED')", name="status_known"),
)

ibsim_accounts = Table(
    "ibsim_accounts",
    metadata,
    Column("bank_no", String(12), primary_key=True),
    Column("account_no", String(40), primary_key=True),
    Column("holder_name", String(100), nullable=False),
    Column("balance_fen", BigInteger, nullable=False),
    Column("status", String(10), nullable=False),
    CheckConstraint("balance_fen >= 0", name="balance_nonneg"),
    CheckConstraint("status IN ('NORMAL', 'ABNORMAL')", name="status_known"),
)

ibsim_agreements = Table(
    "ibsim_agreements",
    metadata,
    Column("agreement_no", String(32), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("bank_no", String(12), nullable=False),
    Column("account_no", String(40), nullable=False),
    Column("payee_account_no", String(40), nullable=True),  # NULL: signed before the cutover
    Column("start_date", Date, nullable=True),
    Column("end_date", Date, nullable=True),
    Column("per_txn_fen", BigInteger, nullable=True),
    Column("daily_fen", BigInteger, nullable=True),
    Column("monthly_fen", BigInteger, nullable=True),
    Column("daily_count", Integer, nullable=True),
    Column("monthly_count", Integer, nullable=True),
    Column("status", String(10), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    CheckConstraint("kind IN ('QUERY', 'PAYMENT')", name="kind_known"),
    CheckConstraint("status IN ('ACTIVE', 'CANCELLED')", name="status_known"),
)

ibsim_debits = Table(
    "ibsim_debits",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("serial", String(40), nullable=False, unique=True),
    Column("agreement_no", String(32), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("status", String(10), nullable=False),
    Column("code", String(8), nullable=True),
    Column("biz_date", Date, nullable=False),
    Column("received_count", Integer, nullable=False),
    Column("pending_queries", Integer, nullable=False),  # queries that still answer UNKNOWN
    Column("created_us", BigInteger, nullable=False),
    CheckConstraint("status IN ('APPLIED', 'REJECTED', 'LOST')", name="status_known"),
)
