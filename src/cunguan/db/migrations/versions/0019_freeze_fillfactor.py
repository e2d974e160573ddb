"""freezes and freeze orders: room for every row's next version on PostgreSQL

`0017_lean_writes` left 30 % of each page free on the tables updated in place, on the reasoning
that a row is updated about once before its page is revisited. For freezes and freeze orders
(custody_pre_transactions) that does not hold: the trades that consume them come in chunks, and a
chunk consumes the freezes of a project's bids, or a run of repayment freezes, that were written
together and so share pages. The old versions are still live inside the chunk's transaction, so
pruning cannot reclaim them, and once the 30 % is used the remaining updates of the page are not
HOT — each a new row version on another page and a new entry in all three indexes. Measured during
a 100,000-detail `cunguan bench async` run on PostgreSQL (`pg_stat_user_tables`): 54,032 updates of
each table, 24,948 (orders) and 25,195 (freezes) of them HOT. Half of each page free is room for a
new version of every row on it, as `0018_async_details_fillfactor` gives the ASYNC details for the
same reason. The cost is disk: these two tables take about twice the space. PostgreSQL only; it
applies to pages written after the migration.

Revision ID: 0019_freeze_fillfactor
Revises: 0018_async_details_fillfactor
Create Date: 2026-12-08 01:40:00
"""

from alembic import op

revision = "0019_freeze_fillfactor"
down_revision = "0018_async_details_fillfactor"
branch_labels = None
depends_on = None

FILLFACTOR = 50
PREVIOUS = 70
TABLES = ("freezes", "custody_pre_transactions")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} SET (fillfactor = {PREVIOUS})")
