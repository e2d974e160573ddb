"""pages: bank-hosted gateway page sessions and the simulated SMS gateway log

Revision ID: 0008_pages
Revises: 0001_ledger
Create Date: 2026-11-23 12:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008_pages'
down_revision = '0001_ledger'
branch_labels = None
depends_on = None

_ID64 = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'gateway_page_sessions',
        sa.Column('id', _ID64, autoincrement=True, nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('csrf_hash', sa.String(length=64), nullable=False),
        sa.Column('platform_no', sa.String(length=32), nullable=False),
        sa.Column('service_name', sa.String(length=64), nullable=False),
        sa.Column('key_serial', sa.String(length=32), nullable=False),
        sa.Column('user_device', sa.String(length=10), nullable=True),
        sa.Column('request_no', sa.String(length=50), nullable=False),
        sa.Column('platform_user_no', sa.String(length=50), nullable=False),
        sa.Column('redirect_url', sa.String(length=500), nullable=False),
        sa.Column('req_data', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.Column('expires_us', sa.BigInteger(), nullable=False),
        sa.Column('finished_us', sa.BigInteger(), nullable=True),
        sa.Column('sms_mobile', sa.String(length=20), nullable=True),
        sa.Column('sms_code_hash', sa.String(length=64), nullable=True),
        sa.Column('sms_sent_us', sa.BigInteger(), nullable=True),
        sa.Column('sms_count', sa.Integer(), server_default='0', nullable=False),
        sa.Column('sms_failures', sa.Integer(), server_default='0', nullable=False),
        sa.CheckConstraint("status IN ('OPEN', 'DONE', 'CLOSED')",
                           name=op.f('ck_gateway_page_sessions_status_known')),
        sa.CheckConstraint('sms_count >= 0 AND sms_failures >= 0',
                           name=op.f('ck_gateway_page_sessions_counts_nonneg')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_page_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_gateway_page_sessions_token_hash')),
    )
    op.create_table(
        'gateway_sms_messages',
        sa.Column('id', _ID64, autoincrement=True, nullable=False),
        sa.Column('session_id', _ID64, nullable=False),
        sa.Column('mobile', sa.String(length=20), nullable=False),
        sa.Column('body', sa.String(length=500), nullable=False),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['session_id'], ['gateway_page_sessions.id'],
                                name=op.f('fk_gateway_sms_messages_session_id_gateway_page_sessions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_sms_messages')),
    )
    op.create_index('ix_gateway_sms_messages_mobile', 'gateway_sms_messages', ['mobile', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_gateway_sms_messages_mobile', table_name='gateway_sms_messages')
    op.drop_table('gateway_sms_messages')
    op.drop_table('gateway_page_sessions')
