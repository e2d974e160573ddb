"""custody fees: fee plans, per-period charges and platform own-account movements (scenario 15)

Revision ID: 0014_custody_fees
Revises: 0001_ledger
Create Date: 2026-11-23 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_custody_fees"
down_revision = "0001_ledger"
branch_labels = None
depends_on = ("0002_platforms",)  # the tables reference custody_platforms

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "custody_fee_plans",
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("annual_rate_ppm", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("flat_fee_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("period", sa.String(length=12), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("method IN ('RATE', 'FLAT')", name=op.f("ck_custody_fee_plans_method_known")),
        sa.CheckConstraint("period IN ('MONTHLY', 'QUARTERLY', 'HALF_YEARLY', 'YEARLY')",
                           name=op.f("ck_custody_fee_plans_period_known")),
        sa.CheckConstraint("annual_rate_ppm >= 0 AND annual_rate_ppm <= 1000000",
                           name=op.f("ck_custody_fee_plans_rate_range")),
        sa.CheckConstraint("flat_fee_fen >= 0", name=op.f("ck_custody_fee_plans_flat_nonneg")),
        sa.ForeignKeyConstraint(["platform_no"], ["custody_platforms.platform_no"],
                                name=op.f("fk_custody_fee_plans_platform_no_custody_platforms")),
        sa.PrimaryKeyConstraint("platform_no", name=op.f("pk_custody_fee_plans")),
    )
    op.create_table(
        "custody_fee_charges",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("period_days", sa.Integer(), nullable=False),
        sa.Column("year_days", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("annual_rate_ppm", sa.BigInteger(), nullable=False),
        sa.Column("flat_fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("balance_sum_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("charged_us", sa.BigInteger(), nullable=False),
        sa.Column("settled_us", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_custody_fee_charges_period_ordered")),
        sa.CheckConstraint("days > 0 AND days <= period_days AND year_days IN (365, 366)",
                           name=op.f("ck_custody_fee_charges_days_sane")),
        sa.CheckConstraint("balance_sum_fen >= 0 AND fee_fen >= 0", name=op.f("ck_custody_fee_charges_amounts_nonneg")),
        sa.CheckConstraint("paid_fen >= 0 AND paid_fen <= fee_fen", name=op.f("ck_custody_fee_charges_paid_within_fee")),
        sa.CheckConstraint("(status = 'PAID' AND paid_fen = fee_fen) OR (status = 'OWED' AND paid_fen < fee_fen)",
                           name=op.f("ck_custody_fee_charges_status_matches")),
        sa.ForeignKeyConstraint(["platform_no"], ["custody_platforms.platform_no"],
                                name=op.f("fk_custody_fee_charges_platform_no_custody_platforms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_fee_charges")),
        sa.UniqueConstraint("platform_no", "period_start", name="uq_custody_fee_charges_platform_period"),
    )
    op.create_index("ix_custody_fee_charges_owed", "custody_fee_charges", ["platform_no", "status"])
    op.create_table(
        "custody_fee_movements",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("charge_id", _ID, nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("posting_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("kind IN ('DEPOSIT', 'FEE', 'ARREARS')", name=op.f("ck_custody_fee_movements_kind_known")),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_custody_fee_movements_amount_positive")),
        sa.CheckConstraint("(kind = 'DEPOSIT') = (charge_id IS NULL)",
                           name=op.f("ck_custody_fee_movements_charge_for_fees")),
        sa.ForeignKeyConstraint(["platform_no"], ["custody_platforms.platform_no"],
                                name=op.f("fk_custody_fee_movements_platform_no_custody_platforms")),
        sa.ForeignKeyConstraint(["charge_id"], ["custody_fee_charges.id"],
                                name=op.f("fk_custody_fee_movements_charge_id_custody_fee_charges")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_fee_movements")),
        sa.UniqueConstraint("platform_no", "kind", "ref", name="uq_custody_fee_movements_ref"),
    )
    op.create_index("ix_custody_fee_movements_platform", "custody_fee_movements", ["platform_no", "id"])


def downgrade() -> None:
    op.drop_index("ix_custody_fee_movements_platform", table_name="custody_fee_movements")
    op.drop_table("custody_fee_movements")
    op.drop_index("ix_custody_fee_charges_owed", table_name="custody_fee_charges")
    op.drop_table("custody_fee_charges")
    op.drop_table("custody_fee_plans")
