"""Wealth-management plans (理财计划 / 批量投标计划, scenario 12; protocol §2.5, §5.8).

- `custody_plans`: one row per ESTABLISH_INTELLIGENT_PROJECT; `intel_project_no` unique per platform;
  the annual rate recorded as sent.
- `custody_plan_orders`: one row per PURCHASE_INTELLIGENT_PROJECT (`request_no` = intelRequestNo). The
  frozen money itself is a freeze order in `custody_pre_transactions` (same requestNo, service
  PURCHASE_INTELLIGENT_PROJECT, bizType TENDER, no project) and a ledger freeze; this row keeps where the
  money came from: purchase, appends (INTELLIGENT_APPEND), reinvested repayments / sale proceeds, matched
  to projects (TENDER releases) and unfrozen (exits).
- `custody_plan_matches`: the plan order's money placed in a project: `matched_fen` released into it in
  total, `share_fen` the principal share still held through the plan (≤ the holder's share row).
- `custody_plan_sales`: the sales (DEBENTURE_SALE rows) made by INTELLIGENT_PROJECT_DEBENTURE_SALE, each
  tied to the plan order whose match it sells.
- `custody_plan_movements`: every change of a plan order's frozen money, with the request that made it.
Times are UTC microseconds; money is fen.
"""

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, String, Table, UniqueConstraint

from cunguan.db.tables.base import Id64, metadata

custody_plans = Table(
    "custody_plans",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("intel_project_no", String(50), nullable=False),
    Column("intel_project_name", String(300), nullable=False),
    Column("intel_project_description", String(300), nullable=True),
    Column("annual_interest_rate", String(24), nullable=False),  # as sent (recorded only), e.g. "0.08"
    Column("request_no", String(50), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "intel_project_no", name="uq_custody_plans_platform_intel"),
)

custody_plan_orders = Table(
    "custody_plan_orders",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("request_no", String(50), nullable=False),  # intelRequestNo = the purchase requestNo
    Column("intel_project_no", String(50), nullable=False),
    Column("platform_user_no", String(50), nullable=False),
    Column("purchase_fen", BigInteger, nullable=False),
    Column("appended_fen", BigInteger, nullable=False),
    Column("reinvested_fen", BigInteger, nullable=False),  # repayments and sale proceeds flowed back
    Column("matched_fen", BigInteger, nullable=False),  # released into projects (TENDER)
    Column("unfrozen_fen", BigInteger, nullable=False),  # INTELLIGENT_PROJECT_UNFREEZE
    Column("remark", String(50), nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "request_no", name="uq_custody_plan_orders_platform_request"),
    CheckConstraint("purchase_fen > 0 AND appended_fen >= 0 AND reinvested_fen >= 0 AND matched_fen >= 0 "
                    "AND unfrozen_fen >= 0 AND matched_fen + unfrozen_fen <= purchase_fen + appended_fen "
                    "+ reinvested_fen", name="amounts_sane"),
)
Index("ix_custody_plan_orders_user", custody_plan_orders.c.platform_no, custody_plan_orders.c.platform_user_no)

custody_plan_matches = Table(
    "custody_plan_matches",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("order_request_no", String(50), nullable=False),
    Column("project_no", String(50), nullable=False),
    Column("holder_user_no", String(50), nullable=False),
    Column("matched_fen", BigInteger, nullable=False),
    Column("share_fen", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "order_request_no", "project_no", name="uq_custody_plan_matches_order_project"),
    CheckConstraint("matched_fen > 0 AND share_fen >= 0 AND share_fen <= matched_fen", name="amounts_sane"),
)
Index("ix_custody_plan_matches_project", custody_plan_matches.c.platform_no, custody_plan_matches.c.project_no,
      custody_plan_matches.c.holder_user_no)

custody_plan_sales = Table(
    "custody_plan_sales",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("sale_request_no", String(50), nullable=False),
    Column("batch_request_no", String(50), nullable=False),
    Column("order_request_no", String(50), nullable=False),
    Column("project_no", String(50), nullable=False),
    Column("seller_user_no", String(50), nullable=False),
    Column("sale_share_fen", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "sale_request_no", name="uq_custody_plan_sales_platform_sale"),
    CheckConstraint("sale_share_fen > 0", name="share_positive"),
)
Index("ix_custody_plan_sales_order", custody_plan_sales.c.platform_no, custody_plan_sales.c.order_request_no)

custody_plan_movements = Table(
    "custody_plan_movements",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("order_request_no", String(50), nullable=False),
    Column("request_no", String(50), nullable=False),  # the request (purchase, trade, unfreeze) that moved it
    Column("kind", String(16), nullable=False),
    Column("project_no", String(50), nullable=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    CheckConstraint("amount_fen > 0", name="amount_positive"),
    CheckConstraint("kind IN ('PURCHASE', 'APPEND', 'MATCH', 'REPAYMENT', 'SALE', 'UNFREEZE')", name="kind_known"),
)
Index("ix_custody_plan_movements_order", custody_plan_movements.c.platform_no,
      custody_plan_movements.c.order_request_no)

TABLES = (custody_plans, custody_plan_orders, custody_plan_matches, custody_plan_sales, custody_plan_movements)
