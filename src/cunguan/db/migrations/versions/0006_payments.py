"""payments: the payment-company simulator (paysim_*) and payout-channel simulator (payoutsim_*) tables

Revision ID: 0006_payments
Revises: 0001_ledger
Create Date: 2026-11-23 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_payments"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "paysim_payments",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("company", sa.String(length=16), nullable=False),
        sa.Column("order_no", sa.String(length=50), nullable=False),
        sa.Column("company_order_no", sa.String(length=40), nullable=False),
        sa.Column("way", sa.String(length=8), nullable=False),
        sa.Column("pay_type", sa.String(length=4), nullable=True),
        sa.Column("bankcode", sa.String(length=8), nullable=True),
        sa.Column("card_tail", sa.String(length=4), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("error_code", sa.String(length=8), nullable=True),
        sa.Column("error_message", sa.String(length=100), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("resolve_us", sa.BigInteger(), nullable=False),
        sa.Column("pending_queries", sa.Integer(), nullable=False),
        sa.Column("received_count", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount_fen > 0 AND fee_fen >= 0 AND fee_fen <= amount_fen",
                           name=op.f("ck_paysim_payments_amounts_sane")),
        sa.CheckConstraint("answer IN ('ACCEPTED', 'REJECTED')", name=op.f("ck_paysim_payments_answer_known")),
        sa.CheckConstraint("outcome IN ('SUCCESS', 'FAIL')", name=op.f("ck_paysim_payments_outcome_known")),
        sa.CheckConstraint("way IN ('SWIFT', 'WEB')", name=op.f("ck_paysim_payments_way_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paysim_payments")),
        sa.UniqueConstraint("company_order_no", name=op.f("uq_paysim_payments_company_order_no")),
        sa.UniqueConstraint("company", "order_no", name="uq_paysim_payments_company_order_no_pair"),
    )
    op.create_index("ix_paysim_payments_company_resolve", "paysim_payments", ["company", "resolve_us"])
    op.create_table(
        "paysim_notifications",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("company", sa.String(length=16), nullable=False),
        sa.Column("payment_id", _ID, nullable=False),
        sa.Column("copy_no", sa.Integer(), nullable=False),
        sa.Column("due_us", sa.BigInteger(), nullable=False),
        sa.Column("delivered_us", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paysim_notifications")),
        sa.UniqueConstraint("payment_id", "copy_no", name="uq_paysim_notifications_payment_copy"),
    )
    op.create_index("ix_paysim_notifications_due", "paysim_notifications", ["company", "delivered_us", "due_us"])
    op.create_table(
        "payoutsim_orders",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("order_no", sa.String(length=50), nullable=False),
        sa.Column("account_tail", sa.String(length=4), nullable=False),
        sa.Column("bank_code", sa.String(length=8), nullable=False),
        sa.Column("route", sa.String(length=10), nullable=False),
        sa.Column("remit_type", sa.String(length=14), nullable=False),
        sa.Column("corporate", sa.Boolean(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.String(length=10), nullable=False),
        sa.Column("reject_code", sa.String(length=8), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("fail_code", sa.String(length=8), nullable=True),
        sa.Column("accepted_us", sa.BigInteger(), nullable=False),
        sa.Column("complete_us", sa.BigInteger(), nullable=True),
        sa.Column("pending_queries", sa.Integer(), nullable=False),
        sa.Column("received_count", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_payoutsim_orders_amount_positive")),
        sa.CheckConstraint("answer IN ('ACCEPTED', 'REJECTED')", name=op.f("ck_payoutsim_orders_answer_known")),
        sa.CheckConstraint("outcome IS NULL OR outcome IN ('SUCCESS', 'FAIL')",
                           name=op.f("ck_payoutsim_orders_outcome_known")),
        sa.CheckConstraint("route IN ('BANK_OWN', 'INTERBANK')", name=op.f("ck_payoutsim_orders_route_known")),
        sa.CheckConstraint("remit_type IN ('NORMAL', 'NORMAL_URGENT', 'URGENT')",
                           name=op.f("ck_payoutsim_orders_remit_type_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payoutsim_orders")),
        sa.UniqueConstraint("order_no", name=op.f("uq_payoutsim_orders_order_no")),
    )


def downgrade() -> None:
    op.drop_table("payoutsim_orders")
    op.drop_index("ix_paysim_notifications_due", table_name="paysim_notifications")
    op.drop_table("paysim_notifications")
    op.drop_index("ix_paysim_payments_company_resolve", table_name="paysim_payments")
    op.drop_table("paysim_payments")
