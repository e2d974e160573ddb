"""The payment-company simulator (`paysim_`) and payout-channel simulator (`payoutsim_`) tables.

Both simulators stand in for systems outside our bank (third-party payment companies, the payout
channel), so they keep their state the way those would: in their own store, surviving our restarts (a
payment whose start timed out on our side is still there to query when we come back). They share the
database only for convenience; nothing of ours joins these tables, and real adapters would not have
them. No full card or account number is stored: only the last four digits.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from cunguan.db.tables.base import Id64, metadata

paysim_payments = Table(
    "paysim_payments",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("company", String(16), nullable=False),
    Column("order_no", String(50), nullable=False),  # ours (the recharge requestNo)
    Column("company_order_no", String(40), nullable=False, unique=True),  # theirs
    Column("way", String(8), nullable=False),
    Column("pay_type", String(4), nullable=True),
    Column("bankcode", String(8), nullable=True),
    Column("card_tail", String(4), nullable=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("fee_fen", BigInteger, nullable=False),
    Column("request_digest", String(64), nullable=False),  # same order no, other content = conflict
    Column("answer", String(10), nullable=False),  # their decision: ACCEPTED / REJECTED (at once)
    Column("outcome", String(8), nullable=False),  # the truth, decided at start
    Column("error_code", String(8), nullable=True),
    Column("error_message", String(100), nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("resolve_us", BigInteger, nullable=False),  # PENDDING until then
    Column("pending_queries", Integer, nullable=False),  # queries that still answer PENDDING
    Column("received_count", Integer, nullable=False),  # start calls received for this order
    UniqueConstraint("company", "order_no", name="uq_paysim_payments_company_order_no_pair"),
    CheckConstraint("amount_fen > 0 AND fee_fen >= 0 AND fee_fen <= amount_fen", name="amounts_sane"),
    CheckConstraint("answer IN ('ACCEPTED', 'REJECTED')", name="answer_known"),
    CheckConstraint("outcome IN ('SUCCESS', 'FAIL')", name="outcome_known"),
    CheckConstraint("way IN ('SWIFT', 'WEB')", name="way_known"),
)
Index("ix_paysim_payments_company_resolve", paysim_payments.c.company, paysim_payments.c.resolve_us)

paysim_notifications = Table(
    "paysim_notifications",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("company", String(16), nullable=False),
    Column("payment_id", Id64, nullable=False),
    Column("copy_no", Integer, nullable=False),  # 1 = first, 2.. = duplicates of the same message
    Column("due_us", BigInteger, nullable=False),
    Column("delivered_us", BigInteger, nullable=True),
    Column("attempts", Integer, nullable=False),
    UniqueConstraint("payment_id", "copy_no", name="uq_paysim_notifications_payment_copy"),
)
Index("ix_paysim_notifications_due", paysim_notifications.c.company, paysim_notifications.c.delivered_us,
      paysim_notifications.c.due_us)

payoutsim_orders = Table(
    "payoutsim_orders",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("order_no", String(50), nullable=False, unique=True),
    Column("account_tail", String(4), nullable=False),
    Column("bank_code", String(8), nullable=False),
    Column("route", String(10), nullable=False),
    Column("remit_type", String(14), nullable=False),
    Column("corporate", Boolean, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("request_digest", String(64), nullable=False),
    Column("answer", String(10), nullable=False),  # ACCEPTED / REJECTED
    Column("reject_code", String(8), nullable=True),
    Column("outcome", String(8), nullable=True),  # SUCCESS / FAIL once accepted (decided at acceptance)
    Column("fail_code", String(8), nullable=True),
    Column("accepted_us", BigInteger, nullable=False),
    Column("complete_us", BigInteger, nullable=True),  # REMITING until then
    Column("pending_queries", Integer, nullable=False),
    Column("received_count", Integer, nullable=False),
    CheckConstraint("amount_fen > 0", name="amount_positive"),
    CheckConstraint("answer IN ('ACCEPTED', 'REJECTED')", name="answer_known"),
    CheckConstraint("outcome IS NULL OR outcome IN ('SUCCESS', 'FAIL')", name="outcome_known"),
    CheckConstraint("route IN ('BANK_OWN', 'INTERBANK')", name="route_known"),
    CheckConstraint("remit_type IN ('NORMAL', 'NORMAL_URGENT', 'URGENT')", name="remit_type_known"),
)
