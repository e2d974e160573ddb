"""custody_async: ASYNC_TRANSACTION batches and their details (protocol §2.5)

Revision ID: 0013_custody_async
Revises: 0001_ledger
Create Date: 2026-11-23 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_custody_async"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "custody_async_batches",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("batch_no", sa.String(length=50), nullable=False),
        sa.Column("key_serial", sa.String(length=32), nullable=False),
        sa.Column("detail_count", sa.Integer(), nullable=False),
        sa.Column("done_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("finished_us", sa.BigInteger(), nullable=True),
        sa.Column("notify_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("detail_count > 0 AND done_count >= 0 AND done_count <= detail_count",
                           name=op.f("ck_custody_async_batches_counts_sane")),
        sa.CheckConstraint("status IN ('PROCESSING', 'DONE')", name=op.f("ck_custody_async_batches_status_known")),
        sa.CheckConstraint("(status = 'DONE') = (done_count = detail_count)",
                           name=op.f("ck_custody_async_batches_done_when_counted")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_async_batches")),
        sa.UniqueConstraint("platform_no", "batch_no", name="uq_custody_async_batches_platform_batch"),
    )
    op.create_table(
        "custody_async_details",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("batch_id", _ID, nullable=False),
        sa.Column("platform_no", sa.String(length=32), nullable=False),
        sa.Column("request_no", sa.String(length=50), nullable=False),
        sa.Column("trade_type", sa.String(length=40), nullable=False),
        sa.Column("req_data", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("error_code", sa.String(length=6), nullable=True),
        sa.Column("error_message", sa.String(length=300), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("done_us", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("status IN ('PENDING', 'SUCCESS', 'FAIL')",
                           name=op.f("ck_custody_async_details_status_known")),
        sa.CheckConstraint("(status = 'FAIL') = (error_code IS NOT NULL)",
                           name=op.f("ck_custody_async_details_fail_has_code")),
        sa.CheckConstraint("(status = 'PENDING') = (done_us IS NULL)",
                           name=op.f("ck_custody_async_details_done_has_time")),
        sa.ForeignKeyConstraint(["batch_id"], ["custody_async_batches.id"],
                                name=op.f("fk_custody_async_details_batch_id_custody_async_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_async_details")),
        sa.UniqueConstraint("platform_no", "request_no", name="uq_custody_async_details_platform_request"),
    )
    op.create_index("ix_custody_async_details_batch", "custody_async_details", ["batch_id"])
    op.create_index("ix_custody_async_batches_processing", "custody_async_batches", ["id"],
                    sqlite_where=sa.text("status = 'PROCESSING'"), postgresql_where=sa.text("status = 'PROCESSING'"))
    op.create_index("ix_custody_async_details_pending", "custody_async_details", ["platform_no", "id"],
                    sqlite_where=sa.text("status = 'PENDING'"), postgresql_where=sa.text("status = 'PENDING'"))


def downgrade() -> None:
    op.drop_index("ix_custody_async_details_pending", table_name="custody_async_details")
    op.drop_index("ix_custody_async_details_batch", table_name="custody_async_details")
    op.drop_index("ix_custody_async_batches_processing", table_name="custody_async_batches")
    op.drop_table("custody_async_details")
    op.drop_table("custody_async_batches")
