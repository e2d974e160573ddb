"""custody_money: recharges, withdrawals, advances, backrolls, intercepts, settlement files, money settings

Revision ID: 0011_custody_money
Revises: 0001_ledger
Create Date: 2026-11-23 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_custody_money"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('custody_money_settings',
    sa.Column('platform_no', sa.String(length=32), nullable=False),
    sa.Column('advance_mode', sa.String(length=8), nullable=False),
    sa.Column('bank_advance_limit_fen', sa.BigInteger(), nullable=False),
    sa.Column('audit_mode', sa.Boolean(), nullable=False),
    sa.Column('updated_us', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("advance_mode IN ('NONE', 'PLATFORM', 'BANK')", name=op.f('ck_custody_money_settings_advance_mode_known')),
    sa.CheckConstraint('bank_advance_limit_fen >= 0', name=op.f('ck_custody_money_settings_limit_sane')),
    sa.PrimaryKeyConstraint('platform_no', name=op.f('pk_custody_money_settings'))
    )
    op.create_table('custody_recharges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('platform_no', sa.String(length=32), nullable=False),
    sa.Column('request_no', sa.String(length=50), nullable=False),
    sa.Column('service_name', sa.String(length=24), nullable=False),
    sa.Column('platform_user_no', sa.String(length=50), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_no', sa.String(length=50), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('commission_fen', sa.BigInteger(), nullable=False),
    sa.Column('pay_company', sa.String(length=16), nullable=False),
    sa.Column('recharge_way', sa.String(length=8), nullable=False),
    sa.Column('pay_way', sa.String(length=8), nullable=False),
    sa.Column('bankcode', sa.String(length=8), nullable=True),
    sa.Column('pay_type', sa.String(length=4), nullable=True),
    sa.Column('card_masked', sa.String(length=32), nullable=True),
    sa.Column('pay_mobile_masked', sa.String(length=16), nullable=True),
    sa.Column('callback_mode', sa.String(length=20), nullable=True),
    sa.Column('auth_trade_type', sa.String(length=12), nullable=True),
    sa.Column('auth_tender_fen', sa.BigInteger(), nullable=True),
    sa.Column('auth_tender_used_fen', sa.BigInteger(), nullable=False),
    sa.Column('project_no', sa.String(length=50), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('start_state', sa.String(length=8), nullable=False),
    sa.Column('company_order_no', sa.String(length=40), nullable=True),
    sa.Column('channel_error_code', sa.String(length=8), nullable=True),
    sa.Column('channel_error_message', sa.String(length=100), nullable=True),
    sa.Column('pay_fee_fen', sa.BigInteger(), nullable=True),
    sa.Column('paid_us', sa.BigInteger(), nullable=True),
    sa.Column('pay_date', sa.String(length=8), nullable=True),
    sa.Column('settled_date', sa.String(length=8), nullable=True),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.Column('updated_us', sa.BigInteger(), nullable=False),
    sa.Column('next_check_us', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("start_state IN ('NEW', 'SENT', 'UNKNOWN', 'DONE')", name=op.f('ck_custody_recharges_start_state_known')),
    sa.CheckConstraint("status IN ('PENDDING', 'SUCCESS', 'FAIL')", name=op.f('ck_custody_recharges_status_known')),
    sa.CheckConstraint('amount_fen > 0 AND commission_fen >= 0 AND commission_fen < amount_fen', name=op.f('ck_custody_recharges_amounts_sane')),
    sa.CheckConstraint('auth_tender_used_fen >= 0 AND (auth_tender_fen IS NULL OR auth_tender_used_fen <= auth_tender_fen)', name=op.f('ck_custody_recharges_tender_within')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_recharges')),
    sa.UniqueConstraint('order_no', name=op.f('uq_custody_recharges_order_no')),
    sa.UniqueConstraint('platform_no', 'request_no', name='uq_custody_recharges_platform_request')
    )
    op.create_index('ix_custody_recharges_settle', 'custody_recharges', ['pay_company', 'pay_date'], unique=False)
    op.create_index('ix_custody_recharges_user', 'custody_recharges', ['platform_no', 'platform_user_no'], unique=False)
    op.create_index('ix_custody_recharges_work', 'custody_recharges', ['status', 'next_check_us'], unique=False)
    op.create_table('custody_withdrawals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('platform_no', sa.String(length=32), nullable=False),
    sa.Column('request_no', sa.String(length=50), nullable=False),
    sa.Column('service_name', sa.String(length=24), nullable=False),
    sa.Column('platform_user_no', sa.String(length=50), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_no', sa.String(length=50), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('commission_fen', sa.BigInteger(), nullable=False),
    sa.Column('float_fen', sa.BigInteger(), nullable=False),
    sa.Column('withdraw_type', sa.String(length=14), nullable=False),
    sa.Column('withdraw_form', sa.String(length=10), nullable=False),
    sa.Column('remit_type', sa.String(length=14), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('closed_reason', sa.String(length=12), nullable=True),
    sa.Column('bankcard_masked', sa.String(length=32), nullable=True),
    sa.Column('bankcode', sa.String(length=8), nullable=True),
    sa.Column('corporate', sa.Boolean(), nullable=False),
    sa.Column('freeze_key', sa.String(length=120), nullable=False),
    sa.Column('remit_due_us', sa.BigInteger(), nullable=True),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.Column('accepted_us', sa.BigInteger(), nullable=True),
    sa.Column('remit_us', sa.BigInteger(), nullable=True),
    sa.Column('completed_us', sa.BigInteger(), nullable=True),
    sa.Column('updated_us', sa.BigInteger(), nullable=False),
    sa.Column('next_check_us', sa.BigInteger(), nullable=True),
    sa.Column('fail_code', sa.String(length=8), nullable=True),
    sa.Column('fail_message', sa.String(length=100), nullable=True),
    sa.CheckConstraint("status IN ('CONFIRMING', 'ACCEPT', 'REMITING', 'SUCCESS', 'FAIL', 'ACCEPT_FAIL')", name=op.f('ck_custody_withdrawals_status_known')),
    sa.CheckConstraint("withdraw_form IN ('IMMEDIATE', 'CONFIRMED')", name=op.f('ck_custody_withdrawals_form_known')),
    sa.CheckConstraint('amount_fen > 0 AND commission_fen >= 0 AND commission_fen < amount_fen', name=op.f('ck_custody_withdrawals_amounts_sane')),
    sa.CheckConstraint('float_fen >= 0 AND float_fen <= amount_fen', name=op.f('ck_custody_withdrawals_float_sane')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_withdrawals')),
    sa.UniqueConstraint('order_no', name=op.f('uq_custody_withdrawals_order_no')),
    sa.UniqueConstraint('platform_no', 'request_no', name='uq_custody_withdrawals_platform_request')
    )
    op.create_index('ix_custody_withdrawals_work', 'custody_withdrawals', ['status', 'next_check_us'], unique=False)
    op.create_table('custody_withdraw_intercepts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('platform_no', sa.String(length=32), nullable=False),
    sa.Column('request_no', sa.String(length=50), nullable=False),
    sa.Column('withdraw_request_no', sa.String(length=50), nullable=False),
    sa.Column('platform_user_no', sa.String(length=50), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_withdraw_intercepts')),
    sa.UniqueConstraint('platform_no', 'request_no', name='uq_custody_withdraw_intercepts_platform_request')
    )
    op.create_table('custody_backrolls',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('platform_no', sa.String(length=32), nullable=False),
    sa.Column('request_no', sa.String(length=50), nullable=False),
    sa.Column('withdraw_request_no', sa.String(length=50), nullable=False),
    sa.Column('platform_user_no', sa.String(length=50), nullable=False),
    sa.Column('rollback_type', sa.String(length=10), nullable=False),
    sa.Column('rollback_fen', sa.BigInteger(), nullable=False),
    sa.Column('rollback_commission_fen', sa.BigInteger(), nullable=False),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("rollback_type IN ('INTERCEPT', 'REMITFAIL')", name=op.f('ck_custody_backrolls_type_known')),
    sa.CheckConstraint('rollback_fen > 0 AND rollback_commission_fen >= 0', name=op.f('ck_custody_backrolls_amounts_sane')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_backrolls')),
    sa.UniqueConstraint('platform_no', 'request_no', name='uq_custody_backrolls_platform_request'),
    sa.UniqueConstraint('platform_no', 'withdraw_request_no', name='uq_custody_backrolls_platform_withdraw')
    )
    op.create_table('custody_advances',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('platform_no', sa.String(length=32), nullable=False),
    sa.Column('platform_user_no', sa.String(length=50), nullable=False),
    sa.Column('withdrawal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('repaid_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('freeze_key', sa.String(length=120), nullable=True),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.Column('updated_us', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("source IN ('PLATFORM', 'BANK')", name=op.f('ck_custody_advances_source_known')),
    sa.CheckConstraint("status IN ('OUTSTANDING', 'REPAID', 'RETURNED')", name=op.f('ck_custody_advances_status_known')),
    sa.CheckConstraint('amount_fen > 0 AND repaid_fen >= 0 AND repaid_fen <= amount_fen', name=op.f('ck_custody_advances_amounts_sane')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_advances')),
    sa.UniqueConstraint('withdrawal_id', name=op.f('uq_custody_advances_withdrawal_id'))
    )
    op.create_index('ix_custody_advances_user', 'custody_advances', ['platform_no', 'platform_user_no', 'status'], unique=False)
    op.create_table('custody_settlement_files',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('company', sa.String(length=16), nullable=False),
    sa.Column('pay_date', sa.String(length=8), nullable=False),
    sa.Column('settle_date', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('row_count', sa.BigInteger(), nullable=False),
    sa.Column('matched', sa.BigInteger(), nullable=False),
    sa.Column('problems', sa.Text(), nullable=False),
    sa.Column('applied_us', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("status IN ('CLEAN', 'PROBLEMS')", name=op.f('ck_custody_settlement_files_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_settlement_files')),
    sa.UniqueConstraint('company', 'pay_date', name='uq_custody_settlement_files_company_day')
    )


def downgrade() -> None:
    op.drop_table("custody_settlement_files")
    op.drop_table("custody_advances")
    op.drop_table("custody_backrolls")
    op.drop_table("custody_withdraw_intercepts")
    op.drop_table("custody_withdrawals")
    op.drop_table("custody_recharges")
    op.drop_table("custody_money_settings")
