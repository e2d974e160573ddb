"""Ledger tables. The database itself enforces what no code path may break (django-hordak style):
positive posting amounts, distinct sides, frozen within balance for accounts that may not overdraw,
freezes never consumed or released beyond their amount.

Sign convention: an account's balance is Σ credits − Σ debits, so a user's virtual account grows when
credited, and Σ of all balances is always 0. Asset-side accounts (the custody cash account, settlement
accounts of the bank) may overdraw and carry negative balances.

Times are integer microseconds since the epoch, UTC (`*_us`): exact, engine-neutral, cheap to index.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    text,
)

from cunguan.db.tables.base import Id64, metadata

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("code", String(96), nullable=False, unique=True),
    Column("owner_type", String(16), nullable=False),
    Column("owner_ref", String(64), nullable=False),
    Column("currency", String(3), nullable=False, server_default="CNY"),
    Column("allow_overdraw", Boolean, nullable=False, server_default="0"),
    Column("balance_fen", BigInteger, nullable=False, server_default="0"),
    Column("frozen_fen", BigInteger, nullable=False, server_default="0"),
    Column("created_us", BigInteger, nullable=False),
    CheckConstraint("frozen_fen >= 0", name="frozen_nonneg"),
    CheckConstraint("allow_overdraw OR balance_fen >= frozen_fen", name="frozen_within_balance"),
)

postings = Table(
    "postings",
    metadata,
    # The chain sequence is the key: gapless, assigned under the chain lock, so inserts append.
    Column("seq", Id64, primary_key=True, autoincrement=False),
    # No foreign keys on postings (migration 0009): the ledger checks the accounts and the freeze under
    # their locks before writing, and `cunguan audit` checks that every posting's references exist.
    Column("debit_account_id", Id64, nullable=False),
    Column("credit_account_id", Id64, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("biz_type", String(40), nullable=False),
    Column("ref", String(96), nullable=False),
    Column("idem_key", String(160), nullable=True),
    Column("freeze_id", Id64, nullable=True),
    Column("debit_balance_after", BigInteger, nullable=False),
    Column("credit_balance_after", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    CheckConstraint("amount_fen > 0", name="amount_positive"),
    CheckConstraint("debit_account_id <> credit_account_id", name="distinct_sides"),
    # Partial (migration 0017): trade postings have no key, and a NULL entry per posting was pure cost.
    Index("uq_postings_idem_key", "idem_key", unique=True, sqlite_where=text("idem_key IS NOT NULL"),
          postgresql_where=text("idem_key IS NOT NULL")),
    Index("ix_postings_debit", "debit_account_id", "seq"),
    Index("ix_postings_credit", "credit_account_id", "seq"),
)

freezes = Table(
    "freezes",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("key", String(160), nullable=False, unique=True),
    Column("account_id", Id64, ForeignKey("accounts.id"), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("consumed_fen", BigInteger, nullable=False, server_default="0"),
    Column("released_fen", BigInteger, nullable=False, server_default="0"),
    Column("status", String(12), nullable=False),
    Column("ref", String(96), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    CheckConstraint("amount_fen > 0", name="amount_positive"),
    CheckConstraint("consumed_fen >= 0 AND released_fen >= 0", name="parts_nonneg"),
    CheckConstraint("consumed_fen + released_fen <= amount_fen", name="within_amount"),
    CheckConstraint("status IN ('FREEZED', 'UNFREEZED')", name="status_known"),
    Index("ix_freezes_account", "account_id"),
)

idempotency = Table(
    "idempotency",
    metadata,
    # "{scope}:{key}" composed by the caller, e.g. "P1001:CANCEL_PRE_TRANSACTION:REQ123".
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("outcome", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

ledger_chain = Table(
    "ledger_chain",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", LargeBinary(32), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)
