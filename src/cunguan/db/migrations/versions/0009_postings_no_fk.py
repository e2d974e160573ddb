"""postings: drop the foreign keys to accounts and freezes

The ledger verifies every posting's accounts and freeze under their row locks before it writes (postings
are written only by `cunguan.db.ledger_store`), so the database-side checks were paid twice: on
PostgreSQL the three FK triggers cost about as much as the posting insert itself. `cunguan audit`
checks instead that every posting's accounts and freeze exist (`check_references`).

Revision ID: 0009_postings_no_fk
Revises: 0001_ledger
Create Date: 2026-11-23 12:50:00
"""

from alembic import op

revision = "0009_postings_no_fk"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None

_FKS = (
    ("fk_postings_debit_account_id_accounts", ["debit_account_id"], "accounts", ["id"]),
    ("fk_postings_credit_account_id_accounts", ["credit_account_id"], "accounts", ["id"]),
    ("fk_postings_freeze_id_freezes", ["freeze_id"], "freezes", ["id"]),
)


def upgrade() -> None:
    # SQLite cannot drop a constraint: batch mode rebuilds the table (rows, CHECKs and indexes kept).
    with op.batch_alter_table("postings", schema=None) as batch_op:
        for name, _cols, _ref, _ref_cols in _FKS:
            batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("postings", schema=None) as batch_op:
        for name, cols, ref, ref_cols in _FKS:
            batch_op.create_foreign_key(name, ref, cols, ref_cols)
