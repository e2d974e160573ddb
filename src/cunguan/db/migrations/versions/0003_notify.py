"""notify: platform notification outbox and delivery attempts

Revision ID: 0003_notify
Revises: 0001_ledger
Create Date: 2026-11-23 12:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0003_notify'
down_revision = '0001_ledger'
branch_labels = None
depends_on = None

_ID64 = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'notify_outbox',
        sa.Column('id', _ID64, autoincrement=True, nullable=False),
        sa.Column('platform_no', sa.String(length=32), nullable=False),
        sa.Column('service_name', sa.String(length=64), nullable=False),
        sa.Column('response_type', sa.String(length=16), nullable=False),
        sa.Column('key_serial', sa.String(length=32), nullable=False),
        sa.Column('notify_url', sa.String(length=500), nullable=False),
        sa.Column('resp_data', sa.Text(), nullable=False),
        sa.Column('biz_ref', sa.String(length=96), nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('attempt_count', sa.Integer(), server_default='0', nullable=False),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.Column('next_attempt_us', sa.BigInteger(), nullable=False),
        sa.Column('deadline_us', sa.BigInteger(), nullable=False),
        sa.Column('claim_token', sa.String(length=32), nullable=True),
        sa.Column('delivered_us', sa.BigInteger(), nullable=True),
        sa.Column('updated_us', sa.BigInteger(), nullable=False),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        sa.CheckConstraint("status IN ('PENDING', 'DELIVERED', 'FAILED')",
                           name=op.f('ck_notify_outbox_status_known')),
        sa.CheckConstraint('attempt_count >= 0', name=op.f('ck_notify_outbox_attempts_nonneg')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_outbox')),
    )
    op.create_index('ix_notify_outbox_due', 'notify_outbox', ['status', 'next_attempt_us'], unique=False)
    op.create_index('ix_notify_outbox_platform', 'notify_outbox', ['platform_no', 'status'], unique=False)
    op.create_table(
        'notify_attempts',
        sa.Column('id', _ID64, autoincrement=True, nullable=False),
        sa.Column('outbox_id', _ID64, nullable=False),
        sa.Column('attempt_no', sa.Integer(), nullable=False),
        sa.Column('started_us', sa.BigInteger(), nullable=False),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.Column('http_status', sa.Integer(), nullable=True),
        sa.Column('error_class', sa.String(length=64), nullable=True),
        sa.Column('response_excerpt', sa.String(length=200), nullable=True),
        sa.Column('outcome', sa.String(length=12), nullable=False),
        sa.CheckConstraint("outcome IN ('DELIVERED', 'RETRY', 'FAILED')",
                           name=op.f('ck_notify_attempts_outcome_known')),
        sa.CheckConstraint('duration_ms >= 0', name=op.f('ck_notify_attempts_duration_nonneg')),
        sa.ForeignKeyConstraint(['outbox_id'], ['notify_outbox.id'],
                                name=op.f('fk_notify_attempts_outbox_id_notify_outbox')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_attempts')),
    )
    op.create_index('ix_notify_attempts_outbox', 'notify_attempts', ['outbox_id', 'attempt_no'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_notify_attempts_outbox', table_name='notify_attempts')
    op.drop_table('notify_attempts')
    op.drop_index('ix_notify_outbox_platform', table_name='notify_outbox')
    op.drop_index('ix_notify_outbox_due', table_name='notify_outbox')
    op.drop_table('notify_outbox')
