"""custody trades: projects, pre-transactions, general freezes and their releases, shares, debenture
sales, trades and trade details

Revision ID: 0010_custody_trades
Revises: 0001_ledger
Create Date: 2026-11-23 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_custody_trades"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "custody_debenture_sales",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("request_no", sa.String(length=50), nullable=False),
        sa.Column("seller_user_no", sa.String(length=50), nullable=False),
        sa.Column("project_no", sa.String(length=50), nullable=False),
        sa.Column("sale_share_fen", sa.BigInteger(), nullable=False),
        sa.Column("sold_fen", sa.BigInteger(), nullable=False),
        sa.Column("reserved_fen", sa.BigInteger(), nullable=False),
        sa.Column("cancelled_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('ONSALE', 'COMPLETED')", name=op.f("ck_custody_debenture_sales_status_known")
        ),
        sa.CheckConstraint(
            "sale_share_fen > 0 AND sold_fen >= 0 AND reserved_fen >= 0 AND cancelled_fen >= 0 AND sold_fen + reserved_fen + cancelled_fen <= sale_share_fen",
            name=op.f("ck_custody_debenture_sales_never_oversold"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_debenture_sales")),
        sa.UniqueConstraint("platform_no", "request_no", name="uq_custody_debenture_sales_platform_request"),
    )
    op.create_table(
        "custody_freeze_releases",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("request_no", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("original_no", sa.String(length=50), nullable=False),
        sa.Column("platform_user_no", sa.String(length=50), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('UNFREEZE', 'CANCEL_PRETRANSACTION')",
            name=op.f("ck_custody_freeze_releases_kind_known"),
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_custody_freeze_releases_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_freeze_releases")),
        sa.UniqueConstraint("platform_no", "request_no", name="uq_custody_freeze_releases_platform_request"),
    )
    op.create_table(
        "custody_general_freezes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("freeze_no", sa.String(length=50), nullable=False),
        sa.Column("general", sa.Boolean(), nullable=False),
        sa.Column("platform_user_no", sa.String(length=50), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("unfrozen_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('FREEZED', 'UNFREEZED')", name=op.f("ck_custody_general_freezes_status_known")
        ),
        sa.CheckConstraint(
            "amount_fen > 0 AND unfrozen_fen >= 0 AND unfrozen_fen <= amount_fen",
            name=op.f("ck_custody_general_freezes_amounts_sane"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_general_freezes")),
        sa.UniqueConstraint("platform_no", "freeze_no", name="uq_custody_general_freezes_platform_freeze"),
    )
    op.create_table(
        "custody_pre_transactions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("request_no", sa.String(length=50), nullable=False),
        sa.Column("service_name", sa.String(length=32), nullable=False),
        sa.Column("platform_user_no", sa.String(length=50), nullable=False),
        sa.Column("biz_type", sa.String(length=20), nullable=False),
        sa.Column("project_no", sa.String(length=50), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("consumed_fen", sa.BigInteger(), nullable=False),
        sa.Column("released_fen", sa.BigInteger(), nullable=False),
        sa.Column("pre_marketing_fen", sa.BigInteger(), nullable=False),
        sa.Column("marketing_spent", sa.Boolean(), nullable=False),
        sa.Column("share_fen", sa.BigInteger(), nullable=False),
        sa.Column("share_bought_fen", sa.BigInteger(), nullable=False),
        sa.Column("creditsale_request_no", sa.String(length=50), nullable=True),
        sa.Column("original_recharge_no", sa.String(length=50), nullable=True),
        sa.Column("remark", sa.String(length=50), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('INIT', 'FREEZED', 'UNFREEZED', 'FAIL', 'ERROR')",
            name=op.f("ck_custody_pre_transactions_status_known"),
        ),
        sa.CheckConstraint(
            "amount_fen > 0 AND consumed_fen >= 0 AND released_fen >= 0 AND consumed_fen + released_fen <= amount_fen",
            name=op.f("ck_custody_pre_transactions_amounts_sane"),
        ),
        sa.CheckConstraint(
            "pre_marketing_fen >= 0 AND share_fen >= 0 AND share_bought_fen >= 0 AND share_bought_fen <= share_fen",
            name=op.f("ck_custody_pre_transactions_extras_sane"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_pre_transactions")),
        sa.UniqueConstraint("platform_no", "request_no", name="uq_custody_pre_transactions_platform_request"),
    )
    op.create_index(
        "ix_custody_pre_transactions_project",
        "custody_pre_transactions",
        ["platform_no", "project_no"],
        unique=False,
    )
    op.create_table(
        "custody_projects",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("project_no", sa.String(length=50), nullable=False),
        sa.Column("borrower_user_no", sa.String(length=50), nullable=False),
        sa.Column("project_name", sa.String(length=300), nullable=False),
        sa.Column("project_description", sa.String(length=300), nullable=True),
        sa.Column("project_type", sa.String(length=16), nullable=False),
        sa.Column("project_period", sa.Integer(), nullable=True),
        sa.Column("annual_interest_rate", sa.String(length=24), nullable=False),
        sa.Column("repayment_way", sa.String(length=32), nullable=False),
        sa.Column("project_properties", sa.String(length=8), nullable=False),
        sa.Column("exchange_asset", sa.Boolean(), nullable=False),
        sa.Column("extend_json", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("ever_repaying", sa.Boolean(), nullable=False),
        sa.Column("project_amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("loan_fen", sa.BigInteger(), nullable=False),
        sa.Column("tender_frozen_fen", sa.BigInteger(), nullable=False),
        sa.Column("repaid_principal_fen", sa.BigInteger(), nullable=False),
        sa.Column("income_fen", sa.BigInteger(), nullable=False),
        sa.Column("compensated_fen", sa.BigInteger(), nullable=False),
        sa.Column("compensation_repaid_fen", sa.BigInteger(), nullable=False),
        sa.Column("request_no", sa.String(length=50), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "project_type IN ('STANDARDPOWDER', 'ENTRUST_PAY')", name=op.f("ck_custody_projects_type_known")
        ),
        sa.CheckConstraint(
            "status IN ('COLLECTING', 'REPAYING', 'FINISH', 'MISCARRY')",
            name=op.f("ck_custody_projects_status_known"),
        ),
        sa.CheckConstraint(
            "compensation_repaid_fen <= compensated_fen",
            name=op.f("ck_custody_projects_compensation_repaid_within"),
        ),
        sa.CheckConstraint(
            "loan_fen + tender_frozen_fen <= project_amount_fen",
            name=op.f("ck_custody_projects_never_oversubscribed"),
        ),
        sa.CheckConstraint(
            "loan_fen >= 0 AND tender_frozen_fen >= 0 AND repaid_principal_fen >= 0 AND income_fen >= 0 AND compensated_fen >= 0 AND compensation_repaid_fen >= 0",
            name=op.f("ck_custody_projects_accumulators_non_negative"),
        ),
        sa.CheckConstraint("project_amount_fen > 0", name=op.f("ck_custody_projects_amount_positive")),
        sa.CheckConstraint(
            "repaid_principal_fen + compensated_fen <= loan_fen",
            name=op.f("ck_custody_projects_principal_within_loan"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_projects")),
        sa.UniqueConstraint("platform_no", "project_no", name="uq_custody_projects_platform_project"),
    )
    op.create_table(
        "custody_shares",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("project_no", sa.String(length=50), nullable=False),
        sa.Column("holder_user_no", sa.String(length=50), nullable=False),
        sa.Column("principal_fen", sa.BigInteger(), nullable=False),
        sa.Column("locked_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "principal_fen >= 0 AND locked_fen >= 0 AND locked_fen <= principal_fen",
            name=op.f("ck_custody_shares_share_sane"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_shares")),
        sa.UniqueConstraint("platform_no", "project_no", "holder_user_no", name="uq_custody_shares_holding"),
    )
    op.create_table(
        "custody_trade_details",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("trade_id", _ID, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("request_no", sa.String(length=50), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("biz_type", sa.String(length=32), nullable=False),
        sa.Column("freeze_request_no", sa.String(length=50), nullable=True),
        sa.Column("source_user_no", sa.String(length=50), nullable=False),
        sa.Column("target_user_no", sa.String(length=50), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("income_fen", sa.BigInteger(), nullable=False),
        sa.Column("share_fen", sa.BigInteger(), nullable=True),
        sa.Column("project_no", sa.String(length=50), nullable=True),
        sa.Column("custom_define", sa.String(length=50), nullable=True),
        sa.Column("remark", sa.String(length=50), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "amount_fen > 0 AND income_fen >= 0 AND income_fen <= amount_fen",
            name=op.f("ck_custody_trade_details_amounts_sane"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_trade_details")),
        sa.UniqueConstraint("trade_id", "seq", name="uq_custody_trade_details_trade_seq"),
    )
    op.create_index(
        "ix_custody_trade_details_platform_created",
        "custody_trade_details",
        ["platform_no", "created_us"],
        unique=False,
    )
    op.create_table(
        "custody_trades",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("request_no", sa.String(length=50), nullable=False),
        sa.Column("trade_type", sa.String(length=32), nullable=False),
        sa.Column("project_no", sa.String(length=50), nullable=True),
        sa.Column("sale_request_no", sa.String(length=50), nullable=True),
        sa.Column("batch_no", sa.String(length=50), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("detail_count", sa.Integer(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_fen > 0 AND detail_count > 0", name=op.f("ck_custody_trades_sane")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_trades")),
        sa.UniqueConstraint("platform_no", "request_no", name="uq_custody_trades_platform_request"),
    )
    op.create_index(
        "ix_custody_trades_platform_created", "custody_trades", ["platform_no", "created_us"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_custody_trades_platform_created", table_name="custody_trades")
    op.drop_table("custody_trades")
    op.drop_index("ix_custody_trade_details_platform_created", table_name="custody_trade_details")
    op.drop_table("custody_trade_details")
    op.drop_table("custody_shares")
    op.drop_table("custody_projects")
    op.drop_index("ix_custody_pre_transactions_project", table_name="custody_pre_transactions")
    op.drop_table("custody_pre_transactions")
    op.drop_table("custody_general_freezes")
    op.drop_table("custody_freeze_releases")
    op.drop_table("custody_debenture_sales")
