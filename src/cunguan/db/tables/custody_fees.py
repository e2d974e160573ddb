"""The bank's custody fee (scenario 15): the fee plan per platform, one charge row per (platform,
period), and the movements of the platform own account (deposits in, fee collections out).

- `custody_fee_plans`: the terms in force for a platform: an annual rate on the average daily custody
  balance (`annual_rate_ppm`, parts per million: 1 bp = 100 ppm) or a flat fee per period
  (`flat_fee_fen`), the period length, and `start_date`, the first Beijing day the plan covers.
- `custody_fee_charges`: what was charged for one period, with the numbers that produced it (the sum of
  the daily balances, the days, the terms) so the platform can check the arithmetic. UNIQUE
  (platform_no, period_start) is what makes charging idempotent: a period is charged once, whoever
  runs the job and however often. `paid_fen` < `fee_fen` is an arrear (status OWED) collected later.
- `custody_fee_movements`: every posting on the own account made here, with its ledger seq: DEPOSIT
  (UNIQUE per platform and reference, so a repeated deposit never credits twice), FEE (at charge
  time) and ARREARS (a later collection of an OWED charge).
Dates are Beijing business dates; times are UTC microseconds.
"""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from cunguan.db.tables.base import Id64, metadata

custody_fee_plans = Table(
    "custody_fee_plans",
    metadata,
    Column("platform_no", String(32), ForeignKey("custody_platforms.platform_no"), primary_key=True),
    Column("method", String(8), nullable=False),
    Column("annual_rate_ppm", BigInteger, nullable=False, server_default="0"),
    Column("flat_fee_fen", BigInteger, nullable=False, server_default="0"),
    Column("period", String(12), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    CheckConstraint("method IN ('RATE', 'FLAT')", name="method_known"),
    CheckConstraint("period IN ('MONTHLY', 'QUARTERLY', 'HALF_YEARLY', 'YEARLY')", name="period_known"),
    CheckConstraint("annual_rate_ppm >= 0 AND annual_rate_ppm <= 1000000", name="rate_range"),
    CheckConstraint("flat_fee_fen >= 0", name="flat_nonneg"),
)

custody_fee_charges = Table(
    "custody_fee_charges",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), ForeignKey("custody_platforms.platform_no"), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("days", Integer, nullable=False),
    Column("period_days", Integer, nullable=False),
    Column("year_days", Integer, nullable=False),
    Column("method", String(8), nullable=False),
    Column("annual_rate_ppm", BigInteger, nullable=False),
    Column("flat_fee_fen", BigInteger, nullable=False),
    Column("balance_sum_fen", BigInteger, nullable=False),
    Column("fee_fen", BigInteger, nullable=False),
    Column("paid_fen", BigInteger, nullable=False),
    Column("status", String(8), nullable=False),
    Column("charged_us", BigInteger, nullable=False),
    Column("settled_us", BigInteger, nullable=True),
    UniqueConstraint("platform_no", "period_start", name="uq_custody_fee_charges_platform_period"),
    CheckConstraint("period_end >= period_start", name="period_ordered"),
    CheckConstraint("days > 0 AND days <= period_days AND year_days IN (365, 366)", name="days_sane"),
    CheckConstraint("balance_sum_fen >= 0 AND fee_fen >= 0", name="amounts_nonneg"),
    CheckConstraint("paid_fen >= 0 AND paid_fen <= fee_fen", name="paid_within_fee"),
    CheckConstraint("(status = 'PAID' AND paid_fen = fee_fen) OR (status = 'OWED' AND paid_fen < fee_fen)",
                    name="status_matches"),
    Index("ix_custody_fee_charges_owed", "platform_no", "status"),
)

custody_fee_movements = Table(
    "custody_fee_movements",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), ForeignKey("custody_platforms.platform_no"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("ref", String(64), nullable=False),
    Column("charge_id", Id64, ForeignKey("custody_fee_charges.id"), nullable=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("posting_seq", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "kind", "ref", name="uq_custody_fee_movements_ref"),
    CheckConstraint("kind IN ('DEPOSIT', 'FEE', 'ARREARS')", name="kind_known"),
    CheckConstraint("amount_fen > 0", name="amount_positive"),
    CheckConstraint("(kind = 'DEPOSIT') = (charge_id IS NULL)", name="charge_for_fees"),
    Index("ix_custody_fee_movements_platform", "platform_no", "id"),
)
