"""ASYNC details: room for HOT status updates on PostgreSQL

An accepted detail is inserted PENDING and updated exactly once by the runner (status, error, time),
and no index names those columns. Yet the acceptance packs every page full, so each of those updates
put the new row version on another page and took a new entry in all three indexes (primary key,
batch, platform + requestNo). Unlike the tables of `0017_lean_writes`, a detail's page is revisited
within the SAME transaction — a chunk updates its few hundred details together, and the old versions
are not yet dead, so pruning cannot reclaim them — hence half of each page is left free: every row of
a page can get its new version beside it. The cost is disk: the details table takes about twice the
space (its rows are bounded by the retention of ASYNC batches). PostgreSQL only: SQLite rewrites a row
in place and has no such setting. It applies to pages written after the migration.

Revision ID: 0018_async_details_fillfactor
Revises: 0017_lean_writes
Create Date: 2026-12-07 07:00:00
"""

from alembic import op

revision = "0018_async_details_fillfactor"
down_revision = "0017_lean_writes"
branch_labels = None
depends_on = None

FILLFACTOR = 50


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE custody_async_details SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE custody_async_details RESET (fillfactor)")
