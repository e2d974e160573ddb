"""console: bank operators, their sessions, and the console action trail

Revision ID: 0007_console
Revises: 0001_ledger
Create Date: 2026-11-23 12:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007_console'
down_revision = '0001_ledger'
branch_labels = None
depends_on = None

_ID64 = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'console_operators',
        sa.Column('id', _ID64, autoincrement=True, nullable=False),
        sa.Column('username', sa.String(length=40), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=12), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False),
        sa.Column('locked_until_us', sa.BigInteger(), nullable=True),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.Column('updated_us', sa.BigInteger(), nullable=False),
        sa.CheckConstraint("role IN ('operator', 'reviewer', 'admin')", name=op.f('ck_console_operators_role_known')),
        sa.CheckConstraint("status IN ('ACTIVE', 'DISABLED')", name=op.f('ck_console_operators_status_known')),
        sa.CheckConstraint('failed_logins >= 0', name=op.f('ck_console_operators_failed_nonneg')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_operators')),
        sa.UniqueConstraint('username', name=op.f('uq_console_operators_username')),
    )
    op.create_table(
        'console_sessions',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('operator_id', _ID64, nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.Column('expires_us', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['operator_id'], ['console_operators.id'],
                                name=op.f('fk_console_sessions_operator_id_console_operators')),
        sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_console_sessions')),
    )
    op.create_index('ix_console_sessions_operator', 'console_sessions', ['operator_id'], unique=False)
    op.create_table(
        'console_actions',
        sa.Column('id', _ID64, autoincrement=True, nullable=False),
        sa.Column('operator_id', _ID64, nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('target', sa.String(length=120), nullable=False),
        sa.Column('detail', sa.String(length=200), nullable=True),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['operator_id'], ['console_operators.id'],
                                name=op.f('fk_console_actions_operator_id_console_operators')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_actions')),
    )
    op.create_index('ix_console_actions_operator', 'console_actions', ['operator_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_console_actions_operator', table_name='console_actions')
    op.drop_table('console_actions')
    op.drop_index('ix_console_sessions_operator', table_name='console_sessions')
    op.drop_table('console_sessions')
    op.drop_table('console_operators')
