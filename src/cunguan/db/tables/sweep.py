"""Cross-bank fund collection: other-bank accounts with their agreements, rules, runs and transfers.

Constraints the database enforces:
- one live rule per collected account (`live_other_account_id` is the account id while the rule is
  PENDING/ACTIVE and NULL once DELETED/INVALID; unique);
- one scheduled run per rule and date (partial unique index on (rule_id, run_date) WHERE
  kind = 'SCHEDULED'), so the scheduler can never run a rule twice for one date;
- one run in progress per rule (`running_run_id` is claimed with a conditional update);
- one transfer per IBPS serial.
Dates are Beijing dates; times are UTC microseconds.
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
    text,
)

from cunguan.db.tables.base import Id64, metadata

sweep_other_accounts = Table(
    "sweep_other_accounts",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("customer_id", Id64, ForeignKey("retail_customers.id"), nullable=False),
    Column("bank_no", String(12), nullable=False),
    Column("bank_name", String(60), nullable=False),
    Column("account_no", String(40), nullable=False),
    Column("holder_name", String(100), nullable=False),
    Column("payee_account_id", Id64, ForeignKey("retail_accounts.id"), nullable=False),
    Column("query_agreement_no", String(32), nullable=False),
    Column("payment_agreement_no", String(32), nullable=True),
    Column("names_payee", Integer, nullable=False),
    Column("start_date", Date, nullable=True),
    Column("end_date", Date, nullable=True),
    Column("reminded_end_date", Date, nullable=True),
    Column("status", String(10), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    CheckConstraint("status IN ('ACTIVE', 'CANCELLED')", name="status_known"),
    Index("uq_sweep_other_accounts_customer_acct", "customer_id", "bank_no", "account_no", unique=True),
)

sweep_rules = Table(
    "sweep_rules",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("customer_id", Id64, ForeignKey("retail_customers.id"), nullable=False),
    Column("other_account_id", Id64, ForeignKey("sweep_other_accounts.id"), nullable=False),
    Column("live_other_account_id", Id64, nullable=True, unique=True),
    Column("collecting_account_id", Id64, ForeignKey("retail_accounts.id"), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("amount_fen", BigInteger, nullable=True),  # R for RETAIN, F for FIXED
    Column("cycle", Integer, nullable=False),  # 1–31, 0 = MONTH_END
    Column("notify_mobile", String(20), nullable=False),
    Column("status", String(10), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("created_on", Date, nullable=False),
    Column("schedule_from", Date, nullable=False),  # first date the current cycle may run (catch-up floor)
    Column("invalid_reason", String(200), nullable=True),
    Column("running_run_id", Id64, nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    CheckConstraint("mode IN ('FULL', 'RETAIN', 'FIXED')", name="mode_known"),
    CheckConstraint("status IN ('ACTIVE', 'INVALID', 'DELETED')", name="status_known"),
    CheckConstraint("cycle >= 0 AND cycle <= 31", name="cycle_range"),
    CheckConstraint("(mode = 'FULL' AND amount_fen IS NULL) OR (mode <> 'FULL' AND amount_fen >= 0)",
                    name="amount_by_mode"),
)

sweep_runs = Table(
    "sweep_runs",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("rule_id", Id64, ForeignKey("sweep_rules.id"), nullable=False),
    Column("customer_id", Id64, nullable=False),
    Column("run_date", Date, nullable=False),
    Column("kind", String(10), nullable=False),
    Column("status", String(10), nullable=False),
    # the rule as it was when the run started (a modification mid-run does not change it)
    Column("mode", String(8), nullable=False),
    Column("amount_fen", BigInteger, nullable=True),
    Column("rule_version", Integer, nullable=False),
    Column("balance_fen", BigInteger, nullable=True),
    Column("wanted_fen", BigInteger, nullable=True),
    Column("planned_fen", BigInteger, nullable=False, server_default="0"),
    Column("moved_fen", BigInteger, nullable=False, server_default="0"),
    Column("fee_fen", BigInteger, nullable=False, server_default="0"),
    Column("reject_code", String(8), nullable=True),
    Column("reason", String(200), nullable=True),
    Column("heartbeat_us", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("finished_us", BigInteger, nullable=True),
    CheckConstraint("kind IN ('SCHEDULED', 'MANUAL')", name="kind_known"),
    CheckConstraint("status IN ('RUNNING', 'SUCCESS', 'PARTIAL', 'FAILED', 'SKIPPED')", name="status_known"),
    Index("uq_sweep_runs_scheduled", "rule_id", "run_date", unique=True,
          sqlite_where=text("kind = 'SCHEDULED'"), postgresql_where=text("kind = 'SCHEDULED'")),
    Index("ix_sweep_runs_rule_date", "rule_id", "run_date"),
    Index("ix_sweep_runs_status", "status"),
)

sweep_transfers = Table(
    "sweep_transfers",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("run_id", Id64, ForeignKey("sweep_runs.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("serial", String(40), nullable=False, unique=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("fee_fen", BigInteger, nullable=False),
    Column("status", String(10), nullable=False),
    Column("reject_code", String(8), nullable=True),
    Column("message", String(200), nullable=True),
    Column("queries", Integer, nullable=False, server_default="0"),
    Column("sent_us", BigInteger, nullable=True),
    Column("resolved_us", BigInteger, nullable=True),
    CheckConstraint("amount_fen > 0", name="amount_positive"),
    CheckConstraint("status IN ('PLANNED', 'SENT', 'SUCCESS', 'REJECTED', 'CANCELLED')", name="status_known"),
    Index("uq_sweep_transfers_run_seq", "run_id", "seq", unique=True),
)
