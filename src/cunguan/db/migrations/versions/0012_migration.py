"""migration: import runs, imported users' migration state, per-row issues, migrated balances, staged
projects and holders' shares (存量迁移)

Revision ID: 0012_migration
Revises: 0001_ledger
Create Date: 2026-11-23 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_migration"
down_revision = "0001_ledger"
branch_labels = None
depends_on = ("0004_custody_users",)  # migration_users references custody_users

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "migration_runs",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("file_digest", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("checkpoint_line", sa.Integer(), server_default="0", nullable=False),
        sa.Column("accepted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("flagged", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("transfer_fen", sa.BigInteger(), nullable=True),
        sa.Column("total_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("started_us", sa.BigInteger(), nullable=False),
        sa.Column("finished_us", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("kind IN ('USERS', 'BALANCES', 'PROJECTS', 'SHARES')",
                           name=op.f("ck_migration_runs_kind_known")),
        sa.CheckConstraint("status IN ('RUNNING', 'DONE')", name=op.f("ck_migration_runs_status_known")),
        sa.CheckConstraint("checkpoint_line >= 0 AND accepted >= 0 AND flagged >= 0 AND rejected >= 0",
                           name=op.f("ck_migration_runs_counts_nonneg")),
        sa.CheckConstraint("transfer_fen IS NULL OR transfer_fen > 0", name=op.f("ck_migration_runs_transfer_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_runs")),
        sa.UniqueConstraint("platform_no", "kind", "file_digest", name="uq_migration_runs_file"),
    )
    op.create_table(
        "migration_users",
        sa.Column("user_id", _ID, autoincrement=False, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("platform_user_no", sa.String(length=50), nullable=False),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("id_key", sa.String(length=60), nullable=False),
        sa.Column("card_valid", sa.Boolean(), nullable=False),
        sa.Column("quick_pay", sa.Boolean(), nullable=False),
        sa.Column("review_required", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("activation_request_no", sa.String(length=50), nullable=True),
        sa.Column("card_changed", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("state IN ('IMPORTED', 'ACTIVATED', 'ABNORMAL', 'AUDIT')",
                           name=op.f("ck_migration_users_state_known")),
        sa.ForeignKeyConstraint(["user_id"], ["custody_users.id"], name=op.f("fk_migration_users_user_id_custody_users")),
        sa.ForeignKeyConstraint(["run_id"], ["migration_runs.id"], name=op.f("fk_migration_users_run_id_migration_runs")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_migration_users")),
        sa.UniqueConstraint("platform_no", "platform_user_no", name="uq_migration_users_user"),
        sa.UniqueConstraint("platform_no", "id_key", name="uq_migration_users_id_key"),
    )
    op.create_table(
        "migration_issues",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("platform_user_no", sa.String(length=50), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.CheckConstraint("outcome IN ('FLAGGED', 'REJECTED')", name=op.f("ck_migration_issues_outcome_known")),
        sa.ForeignKeyConstraint(["run_id"], ["migration_runs.id"], name=op.f("fk_migration_issues_run_id_migration_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_issues")),
    )
    op.create_index("ix_migration_issues_run", "migration_issues", ["run_id", "line_no"], unique=False)
    op.create_table(
        "migration_balances",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("request_no", sa.String(length=50), nullable=False),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("platform_user_no", sa.String(length=50), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_migration_balances_amount_positive")),
        sa.ForeignKeyConstraint(["run_id"], ["migration_runs.id"], name=op.f("fk_migration_balances_run_id_migration_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_balances")),
        sa.UniqueConstraint("platform_no", "request_no", name="uq_migration_balances_request"),
        sa.UniqueConstraint("platform_no", "platform_user_no", name="uq_migration_balances_user"),
    )
    op.create_table(
        "migration_projects",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("project_no", sa.String(length=50), nullable=False),
        sa.Column("borrower_user_no", sa.String(length=50), nullable=False),
        sa.Column("project_name", sa.String(length=100), nullable=True),
        sa.Column("project_amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("annual_rate", sa.String(length=16), nullable=True),
        sa.Column("repayment_way", sa.String(length=32), nullable=True),
        sa.Column("project_period", sa.Integer(), nullable=True),
        sa.CheckConstraint("project_amount_fen > 0", name=op.f("ck_migration_projects_amount_positive")),
        sa.ForeignKeyConstraint(["run_id"], ["migration_runs.id"], name=op.f("fk_migration_projects_run_id_migration_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_projects")),
        sa.UniqueConstraint("platform_no", "project_no", name="uq_migration_projects_project"),
    )
    op.create_table(
        "migration_shares",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("project_no", sa.String(length=50), nullable=False),
        sa.Column("holder_user_no", sa.String(length=50), nullable=False),
        sa.Column("share_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("share_fen > 0", name=op.f("ck_migration_shares_share_positive")),
        sa.ForeignKeyConstraint(["run_id"], ["migration_runs.id"], name=op.f("fk_migration_shares_run_id_migration_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_shares")),
        sa.UniqueConstraint("platform_no", "project_no", "holder_user_no", name="uq_migration_shares_holder"),
    )
    op.create_index("ix_migration_shares_run", "migration_shares", ["run_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_migration_shares_run", table_name="migration_shares")
    op.drop_table("migration_shares")
    op.drop_table("migration_projects")
    op.drop_table("migration_balances")
    op.drop_index("ix_migration_issues_run", table_name="migration_issues")
    op.drop_table("migration_issues")
    op.drop_table("migration_users")
    op.drop_table("migration_runs")
