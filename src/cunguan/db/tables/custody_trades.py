"""The custody trade core: projects (标的), pre-transaction freeze orders, general freezes, their
releases, shares (债权份额), debenture sales (债权出让) and settled trades with their details.

Money and shares are integer fen. The database itself enforces what must never happen (custody.md):
- a project never raises more than its amount: `loan_fen + tender_frozen_fen <= project_amount_fen`;
- principal repaid or compensated never exceeds what was lent;
- a share is never negative and never has more locked on sale than it holds;
- a sale never sells (or reserves for buyers) more than it offered.
The frozen money itself lives in the ledger (`freezes`, keys `{platform}:pre:{requestNo}` and
`{platform}:gf:{freezeNo}`); these rows carry the business meaning and the status.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from cunguan.db.tables.base import Id64, metadata

custody_projects = Table(
    "custody_projects",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("project_no", String(50), nullable=False),
    Column("borrower_user_no", String(50), nullable=False),
    Column("project_name", String(300), nullable=False),
    Column("project_description", String(300), nullable=True),
    Column("project_type", String(16), nullable=False),
    Column("project_period", Integer, nullable=True),
    Column("annual_interest_rate", String(24), nullable=False),  # as sent (recorded only), e.g. "0.15"
    Column("repayment_way", String(32), nullable=False),
    Column("project_properties", String(8), nullable=False),  # NEW, or STOCK for exchange assets
    Column("exchange_asset", Boolean, nullable=False),
    Column("extend_json", Text, nullable=True),
    Column("status", String(12), nullable=False),
    Column("ever_repaying", Boolean, nullable=False),
    Column("project_amount_fen", BigInteger, nullable=False),
    Column("loan_fen", BigInteger, nullable=False),  # released to the borrower (放款)
    Column("tender_frozen_fen", BigInteger, nullable=False),  # bids frozen, not yet released nor cancelled
    Column("repaid_principal_fen", BigInteger, nullable=False),  # principal repaid to holders by REPAYMENT
    Column("income_fen", BigInteger, nullable=False),  # interest repaid to holders
    Column("compensated_fen", BigInteger, nullable=False),  # principal paid to holders by direct COMPENSATORY
    Column("compensation_repaid_fen", BigInteger, nullable=False),  # COMPENSATORY_REPAYMENT to compensators
    Column("request_no", String(50), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "project_no", name="uq_custody_projects_platform_project"),
    CheckConstraint("project_amount_fen > 0", name="amount_positive"),
    CheckConstraint("loan_fen >= 0 AND tender_frozen_fen >= 0 AND repaid_principal_fen >= 0 AND income_fen >= 0 "
                    "AND compensated_fen >= 0 AND compensation_repaid_fen >= 0", name="accumulators_non_negative"),
    CheckConstraint("loan_fen + tender_frozen_fen <= project_amount_fen", name="never_oversubscribed"),
    CheckConstraint("repaid_principal_fen + compensated_fen <= loan_fen", name="principal_within_loan"),
    CheckConstraint("compensation_repaid_fen <= compensated_fen", name="compensation_repaid_within"),
    CheckConstraint("status IN ('COLLECTING', 'REPAYING', 'FINISH', 'MISCARRY')", name="status_known"),
    CheckConstraint("project_type IN ('STANDARDPOWDER', 'ENTRUST_PAY')", name="type_known"),
)

custody_pre_transactions = Table(
    "custody_pre_transactions",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("request_no", String(50), nullable=False),
    Column("service_name", String(32), nullable=False),
    Column("platform_user_no", String(50), nullable=False),
    Column("biz_type", String(20), nullable=False),
    Column("project_no", String(50), nullable=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("consumed_fen", BigInteger, nullable=False),  # mirrors the ledger freeze (for status and queries)
    Column("released_fen", BigInteger, nullable=False),
    Column("pre_marketing_fen", BigInteger, nullable=False),
    Column("marketing_spent", Boolean, nullable=False),
    Column("share_fen", BigInteger, nullable=False),  # CREDIT_ASSIGNMENT: share reserved on the sale
    Column("share_bought_fen", BigInteger, nullable=False),
    Column("creditsale_request_no", String(50), nullable=True),
    Column("original_recharge_no", String(50), nullable=True),
    Column("remark", String(50), nullable=True),
    Column("status", String(10), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "request_no", name="uq_custody_pre_transactions_platform_request"),
    CheckConstraint("amount_fen > 0 AND consumed_fen >= 0 AND released_fen >= 0 "
                    "AND consumed_fen + released_fen <= amount_fen", name="amounts_sane"),
    CheckConstraint("pre_marketing_fen >= 0 AND share_fen >= 0 AND share_bought_fen >= 0 "
                    "AND share_bought_fen <= share_fen", name="extras_sane"),
    CheckConstraint("status IN ('INIT', 'FREEZED', 'UNFREEZED', 'FAIL', 'ERROR')", name="status_known"),
)
Index("ix_custody_pre_transactions_project", custody_pre_transactions.c.platform_no,
      custody_pre_transactions.c.project_no)

custody_general_freezes = Table(
    "custody_general_freezes",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("freeze_no", String(50), nullable=False),  # requestNo or generalFreezeRequestNo
    Column("general", Boolean, nullable=False),  # True when given as generalFreezeRequestNo (通用冻结)
    Column("platform_user_no", String(50), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("unfrozen_fen", BigInteger, nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "freeze_no", name="uq_custody_general_freezes_platform_freeze"),
    CheckConstraint("amount_fen > 0 AND unfrozen_fen >= 0 AND unfrozen_fen <= amount_fen", name="amounts_sane"),
    CheckConstraint("status IN ('FREEZED', 'UNFREEZED')", name="status_known"),
)

custody_freeze_releases = Table(
    "custody_freeze_releases",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("request_no", String(50), nullable=False),
    Column("kind", String(24), nullable=False),  # UNFREEZE | CANCEL_PRETRANSACTION
    Column("original_no", String(50), nullable=False),
    Column("platform_user_no", String(50), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "request_no", name="uq_custody_freeze_releases_platform_request"),
    CheckConstraint("amount_fen > 0", name="amount_positive"),
    CheckConstraint("kind IN ('UNFREEZE', 'CANCEL_PRETRANSACTION')", name="kind_known"),
)

custody_shares = Table(
    "custody_shares",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("project_no", String(50), nullable=False),
    Column("holder_user_no", String(50), nullable=False),
    Column("principal_fen", BigInteger, nullable=False),
    Column("locked_fen", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "project_no", "holder_user_no", name="uq_custody_shares_holding"),
    CheckConstraint("principal_fen >= 0 AND locked_fen >= 0 AND locked_fen <= principal_fen", name="share_sane"),
)

custody_debenture_sales = Table(
    "custody_debenture_sales",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("request_no", String(50), nullable=False),
    Column("seller_user_no", String(50), nullable=False),
    Column("project_no", String(50), nullable=False),
    Column("sale_share_fen", BigInteger, nullable=False),
    Column("sold_fen", BigInteger, nullable=False),
    Column("reserved_fen", BigInteger, nullable=False),  # held by buyers' CREDIT_ASSIGNMENT freezes
    Column("cancelled_fen", BigInteger, nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "request_no", name="uq_custody_debenture_sales_platform_request"),
    CheckConstraint("sale_share_fen > 0 AND sold_fen >= 0 AND reserved_fen >= 0 AND cancelled_fen >= 0 "
                    "AND sold_fen + reserved_fen + cancelled_fen <= sale_share_fen", name="never_oversold"),
    CheckConstraint("status IN ('ONSALE', 'COMPLETED')", name="status_known"),
)

custody_trades = Table(
    "custody_trades",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("request_no", String(50), nullable=False),
    Column("trade_type", String(32), nullable=False),
    Column("project_no", String(50), nullable=True),
    Column("sale_request_no", String(50), nullable=True),
    Column("batch_no", String(50), nullable=True),
    Column("status", String(12), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("detail_count", Integer, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "request_no", name="uq_custody_trades_platform_request"),
    CheckConstraint("amount_fen > 0 AND detail_count > 0", name="sane"),
)
Index("ix_custody_trades_platform_created", custody_trades.c.platform_no, custody_trades.c.created_us)

custody_trade_details = Table(
    "custody_trade_details",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("trade_id", Id64, nullable=False),
    Column("platform_no", String(32), nullable=False),
    Column("request_no", String(50), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("biz_type", String(32), nullable=False),
    Column("freeze_request_no", String(50), nullable=True),
    Column("source_user_no", String(50), nullable=False),
    Column("target_user_no", String(50), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("income_fen", BigInteger, nullable=False),
    Column("share_fen", BigInteger, nullable=True),
    Column("project_no", String(50), nullable=True),
    Column("custom_define", String(50), nullable=True),
    Column("remark", String(50), nullable=True),
    Column("created_us", BigInteger, nullable=False),
    UniqueConstraint("trade_id", "seq", name="uq_custody_trade_details_trade_seq"),
    CheckConstraint("amount_fen > 0 AND income_fen >= 0 AND income_fen <= amount_fen", name="amounts_sane"),
)
Index("ix_custody_trade_details_platform_created", custody_trade_details.c.platform_no,
      custody_trade_details.c.created_us)

TABLES = (custody_projects, custody_pre_transactions, custody_general_freezes, custody_freeze_releases,
          custody_shares, custody_debenture_sales, custody_trades, custody_trade_details)
