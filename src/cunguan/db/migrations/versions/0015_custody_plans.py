"""custody plans: wealth-management plans, their orders, matches, sales and movements (scenario 12)

Revision ID: 0015_custody_plans
Revises: 0001_ledger
Create Date: 2026-11-23 15:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_custody_plans"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None  # no foreign keys: plan rows name trade rows by (platform, requestNo / projectNo)

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "custody_plans",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("intel_project_no", sa.String(length=50), nullable=False),
        sa.Column("intel_project_name", sa.String(length=300), nullable=False),
        sa.Column("intel_project_description", sa.String(length=300), nullable=True),
        sa.Column("annual_interest_rate", sa.String(length=24), nullable=False),
        sa.Column("request_no", sa.String(length=50), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_plans")),
        sa.UniqueConstraint("platform_no", "intel_project_no", name="uq_custody_plans_platform_intel"),
    )
    op.create_table(
        "custody_plan_orders",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("request_no", sa.String(length=50), nullable=False),
        sa.Column("intel_project_no", sa.String(length=50), nullable=False),
        sa.Column("platform_user_no", sa.String(length=50), nullable=False),
        sa.Column("purchase_fen", sa.BigInteger(), nullable=False),
        sa.Column("appended_fen", sa.BigInteger(), nullable=False),
        sa.Column("reinvested_fen", sa.BigInteger(), nullable=False),
        sa.Column("matched_fen", sa.BigInteger(), nullable=False),
        sa.Column("unfrozen_fen", sa.BigInteger(), nullable=False),
        sa.Column("remark", sa.String(length=50), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("purchase_fen > 0 AND appended_fen >= 0 AND reinvested_fen >= 0 AND matched_fen >= 0 "
                           "AND unfrozen_fen >= 0 AND matched_fen + unfrozen_fen <= purchase_fen + appended_fen "
                           "+ reinvested_fen", name=op.f("ck_custody_plan_orders_amounts_sane")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_plan_orders")),
        sa.UniqueConstraint("platform_no", "request_no", name="uq_custody_plan_orders_platform_request"),
    )
    op.create_index("ix_custody_plan_orders_user", "custody_plan_orders", ["platform_no", "platform_user_no"])
    op.create_table(
        "custody_plan_matches",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("order_request_no", sa.String(length=50), nullable=False),
        sa.Column("project_no", sa.String(length=50), nullable=False),
        sa.Column("holder_user_no", sa.String(length=50), nullable=False),
        sa.Column("matched_fen", sa.BigInteger(), nullable=False),
        sa.Column("share_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("matched_fen > 0 AND share_fen >= 0 AND share_fen <= matched_fen",
                           name=op.f("ck_custody_plan_matches_amounts_sane")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_plan_matches")),
        sa.UniqueConstraint("platform_no", "order_request_no", "project_no",
                            name="uq_custody_plan_matches_order_project"),
    )
    op.create_index("ix_custody_plan_matches_project", "custody_plan_matches",
                    ["platform_no", "project_no", "holder_user_no"])
    op.create_table(
        "custody_plan_sales",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("sale_request_no", sa.String(length=50), nullable=False),
        sa.Column("batch_request_no", sa.String(length=50), nullable=False),
        sa.Column("order_request_no", sa.String(length=50), nullable=False),
        sa.Column("project_no", sa.String(length=50), nullable=False),
        sa.Column("seller_user_no", sa.String(length=50), nullable=False),
        sa.Column("sale_share_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("sale_share_fen > 0", name=op.f("ck_custody_plan_sales_share_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_plan_sales")),
        sa.UniqueConstraint("platform_no", "sale_request_no", name="uq_custody_plan_sales_platform_sale"),
    )
    op.create_index("ix_custody_plan_sales_order", "custody_plan_sales", ["platform_no", "order_request_no"])
    op.create_table(
        "custody_plan_movements",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("order_request_no", sa.String(length=50), nullable=False),
        sa.Column("request_no", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("project_no", sa.String(length=50), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_custody_plan_movements_amount_positive")),
        sa.CheckConstraint("kind IN ('PURCHASE', 'APPEND', 'MATCH', 'REPAYMENT', 'SALE', 'UNFREEZE')",
                           name=op.f("ck_custody_plan_movements_kind_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_plan_movements")),
    )
    op.create_index("ix_custody_plan_movements_order", "custody_plan_movements", ["platform_no", "order_request_no"])


def downgrade() -> None:
    op.drop_index("ix_custody_plan_movements_order", table_name="custody_plan_movements")
    op.drop_table("custody_plan_movements")
    op.drop_index("ix_custody_plan_sales_order", table_name="custody_plan_sales")
    op.drop_table("custody_plan_sales")
    op.drop_index("ix_custody_plan_matches_project", table_name="custody_plan_matches")
    op.drop_table("custody_plan_matches")
    op.drop_index("ix_custody_plan_orders_user", table_name="custody_plan_orders")
    op.drop_table("custody_plan_orders")
    op.drop_table("custody_plans")
