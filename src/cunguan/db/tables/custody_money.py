"""Money in and out of custody: recharges, withdrawals, advances (垫资), backrolls (资金回退充值),
intercepts, applied settlement files, and each platform's money settings.

Each row is the business record that the ledger postings of the same transaction reference (posting
`ref` = "recharge:{id}" / "withdraw:{id}"). Check files (§3.24 RECHARGE, WITHDRAW, COMMISSION,
BACKROLL_RECHARGE) are built from these rows. No full card number is stored here (masked only): the
payout reads the user's bound card at remittance time.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from cunguan.db.tables.base import Id64, metadata

custody_money_settings = Table(
    "custody_money_settings",
    metadata,
    Column("platform_no", String(32), primary_key=True),
    Column("advance_mode", String(8), nullable=False),  # NONE / PLATFORM (SYS_GENERATE_007) / BANK
    Column("bank_advance_limit_fen", BigInteger, nullable=False),
    Column("audit_mode", Boolean, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    CheckConstraint("advance_mode IN ('NONE', 'PLATFORM', 'BANK')", name="advance_mode_known"),
    CheckConstraint("bank_advance_limit_fen >= 0", name="limit_sane"),
)

custody_recharges = Table(
    "custody_recharges",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("request_no", String(50), nullable=False),
    Column("service_name", String(24), nullable=False),  # RECHARGE / DIRECT_RECHARGE
    Column("platform_user_no", String(50), nullable=False),
    Column("user_id", Id64, nullable=False),
    Column("order_no", String(50), nullable=False, unique=True),  # ours, sent to the payment company
    Column("amount_fen", BigInteger, nullable=False),
    Column("commission_fen", BigInteger, nullable=False),
    Column("pay_company", String(16), nullable=False),
    Column("recharge_way", String(8), nullable=False),  # WEB / SWIFT / PROXY (wire)
    Column("pay_way", String(8), nullable=False),  # WEB / SWIFT (what the company carries)
    Column("bankcode", String(8), nullable=True),
    Column("pay_type", String(4), nullable=True),
    Column("card_masked", String(32), nullable=True),
    Column("pay_mobile_masked", String(16), nullable=True),
    Column("callback_mode", String(20), nullable=True),
    Column("auth_trade_type", String(12), nullable=True),
    Column("auth_tender_fen", BigInteger, nullable=True),
    Column("auth_tender_used_fen", BigInteger, nullable=False),
    Column("project_no", String(50), nullable=True),
    Column("status", String(8), nullable=False),  # PENDDING / SUCCESS / FAIL
    Column("start_state", String(8), nullable=False),  # NEW / SENT / UNKNOWN / DONE
    Column("company_order_no", String(40), nullable=True),
    Column("channel_error_code", String(8), nullable=True),
    Column("channel_error_message", String(100), nullable=True),
    Column("pay_fee_fen", BigInteger, nullable=True),
    Column("paid_us", BigInteger, nullable=True),
    Column("pay_date", String(8), nullable=True),  # Beijing yyyyMMdd of the company's success
    Column("settled_date", String(8), nullable=True),  # the settlement file's settle date, once applied
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Column("next_check_us", BigInteger, nullable=False),  # when the worker next starts / queries it
    UniqueConstraint("platform_no", "request_no", name="uq_custody_recharges_platform_request"),
    CheckConstraint("amount_fen > 0 AND commission_fen >= 0 AND commission_fen < amount_fen",
                    name="amounts_sane"),
    CheckConstraint("auth_tender_used_fen >= 0 AND (auth_tender_fen IS NULL OR auth_tender_used_fen <= auth_tender_fen)",
                    name="tender_within"),
    CheckConstraint("status IN ('PENDDING', 'SUCCESS', 'FAIL')", name="status_known"),
    CheckConstraint("start_state IN ('NEW', 'SENT', 'UNKNOWN', 'DONE')", name="start_state_known"),
)
Index("ix_custody_recharges_work", custody_recharges.c.status, custody_recharges.c.next_check_us)
Index("ix_custody_recharges_settle", custody_recharges.c.pay_company, custody_recharges.c.pay_date)
Index("ix_custody_recharges_user", custody_recharges.c.platform_no, custody_recharges.c.platform_user_no)

custody_withdrawals = Table(
    "custody_withdrawals",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("request_no", String(50), nullable=False),
    Column("service_name", String(24), nullable=False),  # WITHDRAW / AUTO_WITHDRAW
    Column("platform_user_no", String(50), nullable=False),
    Column("user_id", Id64, nullable=False),
    Column("order_no", String(50), nullable=False, unique=True),  # ours, sent to the payout channel
    Column("amount_fen", BigInteger, nullable=False),
    Column("commission_fen", BigInteger, nullable=False),
    Column("float_fen", BigInteger, nullable=False),  # 垫资金额
    Column("withdraw_type", String(14), nullable=False),  # NORMAL / URGENT / NORMAL_URGENT
    Column("withdraw_form", String(10), nullable=False),  # IMMEDIATE / CONFIRMED
    Column("remit_type", String(14), nullable=False),
    Column("status", String(12), nullable=False),
    Column("closed_reason", String(12), nullable=True),  # CANCELLED / INTERCEPTED / REMITFAIL
    Column("bankcard_masked", String(32), nullable=True),
    Column("bankcode", String(8), nullable=True),
    Column("corporate", Boolean, nullable=False),
    Column("freeze_key", String(120), nullable=False),
    Column("remit_due_us", BigInteger, nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("accepted_us", BigInteger, nullable=True),
    Column("remit_us", BigInteger, nullable=True),
    Column("completed_us", BigInteger, nullable=True),
    Column("updated_us", BigInteger, nullable=False),
    Column("next_check_us", BigInteger, nullable=True),
    Column("fail_code", String(8), nullable=True),
    Column("fail_message", String(100), nullable=True),
    UniqueConstraint("platform_no", "request_no", name="uq_custody_withdrawals_platform_request"),
    CheckConstraint("amount_fen > 0 AND commission_fen >= 0 AND commission_fen < amount_fen",
                    name="amounts_sane"),
    CheckConstraint("float_fen >= 0 AND float_fen <= amount_fen", name="float_sane"),
    CheckConstraint("status IN ('CONFIRMING', 'ACCEPT', 'REMITING', 'SUCCESS', 'FAIL', 'ACCEPT_FAIL')",
                    name="status_known"),
    CheckConstraint("withdraw_form IN ('IMMEDIATE', 'CONFIRMED')", name="form_known"),
)
Index("ix_custody_withdrawals_work", custody_withdrawals.c.status, custody_withdrawals.c.next_check_us)

custody_withdraw_intercepts = Table(
    "custody_withdraw_intercepts",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("request_no", String(50), nullable=False),
    Column("withdraw_request_no", String(50), nullable=False),
    Column("platform_user_no", String(50), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("status", String(8), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "request_no", name="uq_custody_withdraw_intercepts_platform_request"),
)

custody_backrolls = Table(
    "custody_backrolls",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("request_no", String(50), nullable=False),  # 回退充值流水号 (ours)
    Column("withdraw_request_no", String(50), nullable=False),
    Column("platform_user_no", String(50), nullable=False),
    Column("rollback_type", String(10), nullable=False),  # INTERCEPT / REMITFAIL
    Column("rollback_fen", BigInteger, nullable=False),  # what comes back to the user (commission included)
    Column("rollback_commission_fen", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "request_no", name="uq_custody_backrolls_platform_request"),
    UniqueConstraint("platform_no", "withdraw_request_no", name="uq_custody_backrolls_platform_withdraw"),
    CheckConstraint("rollback_type IN ('INTERCEPT', 'REMITFAIL')", name="type_known"),
    CheckConstraint("rollback_fen > 0 AND rollback_commission_fen >= 0", name="amounts_sane"),
)

custody_advances = Table(
    "custody_advances",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("platform_user_no", String(50), nullable=False),
    Column("withdrawal_id", Id64, nullable=False, unique=True),
    Column("source", String(8), nullable=False),  # PLATFORM / BANK
    Column("amount_fen", BigInteger, nullable=False),
    Column("repaid_fen", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),  # OUTSTANDING / REPAID / RETURNED
    Column("freeze_key", String(120), nullable=True),  # the hold on SYS_GENERATE_007 (PLATFORM)
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    CheckConstraint("source IN ('PLATFORM', 'BANK')", name="source_known"),
    CheckConstraint("status IN ('OUTSTANDING', 'REPAID', 'RETURNED')", name="status_known"),
    CheckConstraint("amount_fen > 0 AND repaid_fen >= 0 AND repaid_fen <= amount_fen", name="amounts_sane"),
)
Index("ix_custody_advances_user", custody_advances.c.platform_no, custody_advances.c.platform_user_no,
      custody_advances.c.status)

custody_settlement_files = Table(
    "custody_settlement_files",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("company", String(16), nullable=False),
    Column("pay_date", String(8), nullable=False),
    Column("settle_date", String(8), nullable=False),
    Column("status", String(16), nullable=False),  # CLEAN / PROBLEMS
    Column("row_count", BigInteger, nullable=False),
    Column("matched", BigInteger, nullable=False),
    Column("problems", Text, nullable=False),  # JSON: missing_ours, missing_theirs, amount_mismatch
    Column("applied_us", BigInteger, nullable=False),
    UniqueConstraint("company", "pay_date", name="uq_custody_settlement_files_company_day"),
    CheckConstraint("status IN ('CLEAN', 'PROBLEMS')", name="status_known"),
)
