"""cross-bank collection: retail customers/accounts/sessions, IBPS simulator, sweep agreements, rules,
runs, transfers, SMS outbox

Revision ID: 0005_sweep
Revises: 0001_ledger
Create Date: 2026-11-23 12:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_sweep"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ibsim_accounts',
    sa.Column('bank_no', sa.String(length=12), nullable=False),
    sa.Column('account_no', sa.String(length=40), nullable=False),
    sa.Column('holder_name', sa.String(length=100), nullable=False),
    sa.Column('balance_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.CheckConstraint("status IN ('NORMAL', 'ABNORMAL')", name=op.f('ck_ibsim_accounts_status_known')),
    sa.CheckConstraint('balance_fen >= 0', name=op.f('ck_ibsim_accounts_balance_nonneg')),
    sa.PrimaryKeyConstraint('bank_no', 'account_no', name=op.f('pk_ibsim_accounts'))
    )
    op.create_table('ibsim_agreements',
    sa.Column('agreement_no', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('bank_no', sa.String(length=12), nullable=False),
    sa.Column('account_no', sa.String(length=40), nullable=False),
    sa.Column('payee_account_no', sa.String(length=40), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('per_txn_fen', sa.BigInteger(), nullable=True),
    sa.Column('daily_fen', sa.BigInteger(), nullable=True),
    sa.Column('monthly_fen', sa.BigInteger(), nullable=True),
    sa.Column('daily_count', sa.Integer(), nullable=True),
    sa.Column('monthly_count', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("kind IN ('QUERY', 'PAYMENT')", name=op.f('ck_ibsim_agreements_kind_known')),
    sa.CheckConstraint("status IN ('ACTIVE', 'CANCELLED')", name=op.f('ck_ibsim_agreements_status_known')),
    sa.PrimaryKeyConstraint('agreement_no', name=op.f('pk_ibsim_agreements'))
    )
    op.create_table('ibsim_banks',
    sa.Column('bank_no', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.CheckConstraint("status IN ('OPEN', 'CLOSED')", name=op.f('ck_ibsim_banks_status_known')),
    sa.PrimaryKeyConstraint('bank_no', name=op.f('pk_ibsim_banks'))
    )
    op.create_table('ibsim_debits',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('serial', sa.String(length=40), nullable=False),
    sa.Column('agreement_no', sa.String(length=32), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=True),
    sa.Column('biz_date', sa.Date(), nullable=False),
    sa.Column('received_count', sa.Integer(), nullable=False),
    sa.Column('pending_queries', sa.Integer(), nullable=False),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("status IN ('APPLIED', 'REJECTED', 'LOST')", name=op.f('ck_ibsim_debits_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ibsim_debits')),
    sa.UniqueConstraint('serial', name=op.f('uq_ibsim_debits_serial'))
    )
    op.create_table('retail_customers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('customer_no', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('login_name', sa.String(length=40), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('mobile', sa.String(length=20), nullable=False),
    sa.Column('last_manual_run_us', sa.BigInteger(), nullable=True),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retail_customers')),
    sa.UniqueConstraint('customer_no', name=op.f('uq_retail_customers_customer_no')),
    sa.UniqueConstraint('login_name', name=op.f('uq_retail_customers_login_name'))
    )
    op.create_table('sms_outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('mobile', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('dedupe_key', sa.String(length=120), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.Column('sent_us', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("status IN ('PENDING', 'SENT', 'FAILED')", name=op.f('ck_sms_outbox_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_sms_outbox_dedupe_key'))
    )
    op.create_table('retail_accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_no', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('online_banking', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('ledger_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("kind IN ('DEBIT_CARD', 'PASSBOOK', 'CURRENT')", name=op.f('ck_retail_accounts_kind_known')),
    sa.CheckConstraint("status IN ('NORMAL', 'CLOSED')", name=op.f('ck_retail_accounts_status_known')),
    sa.ForeignKeyConstraint(['customer_id'], ['retail_customers.id'], name=op.f('fk_retail_accounts_customer_id_retail_customers')),
    sa.ForeignKeyConstraint(['ledger_account_id'], ['accounts.id'], name=op.f('fk_retail_accounts_ledger_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retail_accounts')),
    sa.UniqueConstraint('account_no', name=op.f('uq_retail_accounts_account_no'))
    )
    op.create_table('retail_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('expires_us', sa.BigInteger(), nullable=False),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['retail_customers.id'], name=op.f('fk_retail_sessions_customer_id_retail_customers')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_retail_sessions'))
    )
    op.create_table('sweep_other_accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bank_no', sa.String(length=12), nullable=False),
    sa.Column('bank_name', sa.String(length=60), nullable=False),
    sa.Column('account_no', sa.String(length=40), nullable=False),
    sa.Column('holder_name', sa.String(length=100), nullable=False),
    sa.Column('payee_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('query_agreement_no', sa.String(length=32), nullable=False),
    sa.Column('payment_agreement_no', sa.String(length=32), nullable=True),
    sa.Column('names_payee', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('reminded_end_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("status IN ('ACTIVE', 'CANCELLED')", name=op.f('ck_sweep_other_accounts_status_known')),
    sa.ForeignKeyConstraint(['customer_id'], ['retail_customers.id'], name=op.f('fk_sweep_other_accounts_customer_id_retail_customers')),
    sa.ForeignKeyConstraint(['payee_account_id'], ['retail_accounts.id'], name=op.f('fk_sweep_other_accounts_payee_account_id_retail_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sweep_other_accounts'))
    )
    op.create_index('uq_sweep_other_accounts_customer_acct', 'sweep_other_accounts', ['customer_id', 'bank_no', 'account_no'], unique=True)
    op.create_table('sweep_rules',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('other_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('live_other_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('collecting_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('notify_mobile', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('schedule_from', sa.Date(), nullable=False),
    sa.Column('invalid_reason', sa.String(length=200), nullable=True),
    sa.Column('running_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.Column('updated_us', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("(mode = 'FULL' AND amount_fen IS NULL) OR (mode <> 'FULL' AND amount_fen >= 0)", name=op.f('ck_sweep_rules_amount_by_mode')),
    sa.CheckConstraint("mode IN ('FULL', 'RETAIN', 'FIXED')", name=op.f('ck_sweep_rules_mode_known')),
    sa.CheckConstraint("status IN ('ACTIVE', 'INVALID', 'DELETED')", name=op.f('ck_sweep_rules_status_known')),
    sa.CheckConstraint('cycle >= 0 AND cycle <= 31', name=op.f('ck_sweep_rules_cycle_range')),
    sa.ForeignKeyConstraint(['collecting_account_id'], ['retail_accounts.id'], name=op.f('fk_sweep_rules_collecting_account_id_retail_accounts')),
    sa.ForeignKeyConstraint(['customer_id'], ['retail_customers.id'], name=op.f('fk_sweep_rules_customer_id_retail_customers')),
    sa.ForeignKeyConstraint(['other_account_id'], ['sweep_other_accounts.id'], name=op.f('fk_sweep_rules_other_account_id_sweep_other_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sweep_rules')),
    sa.UniqueConstraint('live_other_account_id', name=op.f('uq_sweep_rules_live_other_account_id'))
    )
    op.create_table('sweep_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('rule_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('rule_version', sa.Integer(), nullable=False),
    sa.Column('balance_fen', sa.BigInteger(), nullable=True),
    sa.Column('wanted_fen', sa.BigInteger(), nullable=True),
    sa.Column('planned_fen', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('moved_fen', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('fee_fen', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('reject_code', sa.String(length=8), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('heartbeat_us', sa.BigInteger(), nullable=False),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.Column('finished_us', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("kind IN ('SCHEDULED', 'MANUAL')", name=op.f('ck_sweep_runs_kind_known')),
    sa.CheckConstraint("status IN ('RUNNING', 'SUCCESS', 'PARTIAL', 'FAILED', 'SKIPPED')", name=op.f('ck_sweep_runs_status_known')),
    sa.ForeignKeyConstraint(['rule_id'], ['sweep_rules.id'], name=op.f('fk_sweep_runs_rule_id_sweep_rules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sweep_runs'))
    )
    op.create_index('ix_sweep_runs_rule_date', 'sweep_runs', ['rule_id', 'run_date'], unique=False)
    op.create_index('ix_sweep_runs_status', 'sweep_runs', ['status'], unique=False)
    op.create_index('uq_sweep_runs_scheduled', 'sweep_runs', ['rule_id', 'run_date'], unique=True, sqlite_where=sa.text("kind = 'SCHEDULED'"), postgresql_where=sa.text("kind = 'SCHEDULED'"))
    op.create_table('sweep_transfers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=40), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('fee_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reject_code', sa.String(length=8), nullable=True),
    sa.Column('message', sa.String(length=200), nullable=True),
    sa.Column('queries', sa.Integer(), server_default='0', nullable=False),
    sa.Column('sent_us', sa.BigInteger(), nullable=True),
    sa.Column('resolved_us', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("status IN ('PLANNED', 'SENT', 'SUCCESS', 'REJECTED', 'CANCELLED')", name=op.f('ck_sweep_transfers_status_known')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_sweep_transfers_amount_positive')),
    sa.ForeignKeyConstraint(['run_id'], ['sweep_runs.id'], name=op.f('fk_sweep_transfers_run_id_sweep_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sweep_transfers')),
    sa.UniqueConstraint('serial', name=op.f('uq_sweep_transfers_serial'))
    )
    op.create_index('uq_sweep_transfers_run_seq', 'sweep_transfers', ['run_id', 'seq'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_sweep_transfers_run_seq', table_name='sweep_transfers')
    op.drop_table('sweep_transfers')
    op.drop_index('uq_sweep_runs_scheduled', table_name='sweep_runs', sqlite_where=sa.text("kind = 'SCHEDULED'"), postgresql_where=sa.text("kind = 'SCHEDULED'"))
    op.drop_index('ix_sweep_runs_status', table_name='sweep_runs')
    op.drop_index('ix_sweep_runs_rule_date', table_name='sweep_runs')
    op.drop_table('sweep_runs')
    op.drop_table('sweep_rules')
    op.drop_index('uq_sweep_other_accounts_customer_acct', table_name='sweep_other_accounts')
    op.drop_table('sweep_other_accounts')
    op.drop_table('retail_sessions')
    op.drop_table('retail_accounts')
    op.drop_table('sms_outbox')
    op.drop_table('retail_customers')
    op.drop_table('ibsim_debits')
    op.drop_table('ibsim_banks')
    op.drop_table('ibsim_agreements')
    op.drop_table('ibsim_accounts')
