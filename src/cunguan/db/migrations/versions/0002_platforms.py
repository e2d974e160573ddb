"""custody platforms: platforms, platform public keys, the bank's signing key

Revision ID: 0002_platforms
Revises: 0001_ledger
Create Date: 2026-11-23 12:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0002_platforms'
down_revision = '0001_ledger'
branch_labels = None
depends_on = None

_ID64 = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'custody_platforms',
        sa.Column('platform_no', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('notify_url', sa.String(length=500), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('custody_account_id', _ID64, nullable=False),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.Column('updated_us', sa.BigInteger(), nullable=False),
        sa.CheckConstraint("status IN ('ACTIVE', 'DISABLED')", name=op.f('ck_custody_platforms_status_known')),
        sa.ForeignKeyConstraint(['custody_account_id'], ['accounts.id'],
                                name=op.f('fk_custody_platforms_custody_account_id_accounts')),
        sa.PrimaryKeyConstraint('platform_no', name=op.f('pk_custody_platforms')),
    )
    op.create_table(
        'custody_platform_keys',
        sa.Column('platform_no', sa.String(length=32), nullable=False),
        sa.Column('key_serial', sa.String(length=32), nullable=False),
        sa.Column('public_key_pem', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.CheckConstraint("status IN ('ACTIVE', 'REVOKED')", name=op.f('ck_custody_platform_keys_status_known')),
        sa.ForeignKeyConstraint(['platform_no'], ['custody_platforms.platform_no'],
                                name=op.f('fk_custody_platform_keys_platform_no_custody_platforms')),
        sa.PrimaryKeyConstraint('platform_no', 'key_serial', name=op.f('pk_custody_platform_keys')),
    )
    op.create_table(
        'custody_bank_keys',
        sa.Column('key_serial', sa.String(length=32), nullable=False),
        sa.Column('public_key_pem', sa.Text(), nullable=False),
        sa.Column('private_key_pem', sa.Text(), nullable=False),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('key_serial', name=op.f('pk_custody_bank_keys')),
    )


def downgrade() -> None:
    op.drop_table('custody_bank_keys')
    op.drop_table('custody_platform_keys')
    op.drop_table('custody_platforms')
