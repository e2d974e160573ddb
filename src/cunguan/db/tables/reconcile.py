"""Check-file confirmations and the daily reconciliation (issue 5 §4, §5).

- `custody_checkfile_confirms`: one row per (platform, Beijing file date) the platform declared
  reconciled with CONFIRM_CHECKFILE; the unique key is what makes a repeat answer 100008.
- `reconcile_runs`: one row per run of the daily reconciliation of one platform and one Beijing
  business date (`run_no` 1, 2, … per platform and date: a rerun never overwrites an earlier one).
- `reconcile_differences`: every difference a run found, one row each, OPEN until an approved
  adjustment resolves it.
- `reconcile_adjustments`: an operator's proposed ledger double entry that resolves one difference;
  posted only when a second, different operator approves it (four eyes). The database refuses an
  approval by the proposer.
Amounts are integer fen (`*_fen`), times UTC microseconds (`*_us`), dates Beijing `YYYYMMDD` text.
"""

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Integer, String, Table, UniqueConstraint

from cunguan.db.tables.base import Id64, metadata

custody_checkfile_confirms = Table(
    "custody_checkfile_confirms",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("file_date", String(8), nullable=False),
    Column("request_no", String(50), nullable=False),
    Column("file_types", String(120), nullable=False),  # comma-separated, as confirmed
    Column("confirmed_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "file_date", name="uq_custody_checkfile_confirms_platform_date"),
)

reconcile_runs = Table(
    "reconcile_runs",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("biz_date", String(8), nullable=False),
    Column("run_no", Integer, nullable=False),
    Column("status", String(12), nullable=False),  # CLEAN / DIFFERENCES
    Column("custody_fen", BigInteger, nullable=False),  # the custody cash account at day end
    Column("virtual_fen", BigInteger, nullable=False),  # Σ the platform's virtual accounts at day end
    Column("recharges_matched", Integer, nullable=False),
    Column("withdrawals_matched", Integer, nullable=False),
    Column("settlement_checked", Integer, nullable=False),  # 1 when settlement files were due and compared
    Column("payout_checked", Integer, nullable=False),  # 1 when a payout statement was compared
    Column("advances_outstanding_fen", BigInteger, nullable=False),
    Column("difference_count", Integer, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "biz_date", "run_no", name="uq_reconcile_runs_platform_date_run"),
    CheckConstraint("status IN ('CLEAN', 'DIFFERENCES')", name="status_known"),
    CheckConstraint("run_no >= 1 AND difference_count >= 0 AND advances_outstanding_fen >= 0", name="counts_sane"),
)
Index("ix_reconcile_runs_platform_date", reconcile_runs.c.platform_no, reconcile_runs.c.biz_date)

reconcile_differences = Table(
    "reconcile_differences",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("run_id", Id64, nullable=False),
    Column("platform_no", String(32), nullable=False),
    Column("biz_date", String(8), nullable=False),
    Column("check_name", String(12), nullable=False),  # LEDGER / SETTLEMENT / PAYOUT / ADVANCE
    Column("kind", String(20), nullable=False),
    Column("source", String(16), nullable=False),  # payment company, PAYOUT, LEDGER, ADVANCE
    Column("ref", String(64), nullable=False),  # order number, account, advance id
    Column("ours_fen", BigInteger, nullable=True),
    Column("theirs_fen", BigInteger, nullable=True),
    Column("detail", String(200), nullable=False),
    Column("status", String(10), nullable=False),  # OPEN / RESOLVED
    Column("adjustment_id", Id64, nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("resolved_us", BigInteger, nullable=True),
    CheckConstraint("check_name IN ('LEDGER', 'SETTLEMENT', 'PAYOUT', 'ADVANCE')", name="check_known"),
    CheckConstraint("kind IN ('LEDGER_IMBALANCE', 'MISSING_OURS', 'MISSING_THEIRS', 'AMOUNT_MISMATCH', "
                    "'ADVANCE_OVERDUE')", name="kind_known"),
    CheckConstraint("status IN ('OPEN', 'RESOLVED')", name="status_known"),
    CheckConstraint("(status = 'RESOLVED') = (adjustment_id IS NOT NULL)", name="resolved_has_adjustment"),
)
Index("ix_reconcile_differences_run", reconcile_differences.c.run_id)
Index("ix_reconcile_differences_platform_date", reconcile_differences.c.platform_no,
      reconcile_differences.c.biz_date, reconcile_differences.c.status)

reconcile_adjustments = Table(
    "reconcile_adjustments",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("difference_id", Id64, nullable=False),
    Column("platform_no", String(32), nullable=False),
    Column("debit_account", String(50), nullable=False),  # CUSTODY_CASH, SYS_GENERATE_00x or a platformUserNo
    Column("credit_account", String(50), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("status", String(10), nullable=False),  # PROPOSED / APPROVED / REJECTED
    Column("proposed_by", Id64, nullable=False),
    Column("proposed_us", BigInteger, nullable=False),
    Column("decided_by", Id64, nullable=True),
    Column("decided_us", BigInteger, nullable=True),
    Column("posting_seq", BigInteger, nullable=True),
    CheckConstraint("amount_fen > 0", name="amount_positive"),
    CheckConstraint("debit_account <> credit_account", name="distinct_sides"),
    CheckConstraint("status IN ('PROPOSED', 'APPROVED', 'REJECTED')", name="status_known"),
    CheckConstraint("decided_by IS NULL OR decided_by <> proposed_by", name="four_eyes"),
    CheckConstraint("(status = 'APPROVED') = (posting_seq IS NOT NULL)", name="approved_is_posted"),
    CheckConstraint("(status = 'PROPOSED') = (decided_by IS NULL)", name="decided_has_decider"),
)
Index("ix_reconcile_adjustments_difference", reconcile_adjustments.c.difference_id)
