"""Migration of an existing platform (存量迁移, custody.md): import runs, the migration state of each
imported user, the per-row issues (flagged / rejected, with the reason), migrated balances (each one a
RECHARGE record with rechargeWay BANK) and the staged projects and holders' shares.

A run is keyed by (platform, kind, SHA-256 of the file): the same file imported again finds its run
and is not applied twice. `checkpoint_line` is committed with each chunk, so a run interrupted by a
crash resumes after the last committed chunk. Money is integer fen; times UTC microseconds.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from cunguan.db.tables.base import Id64, metadata

migration_runs = Table(
    "migration_runs",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("kind", String(12), nullable=False),  # USERS / BALANCES / PROJECTS / SHARES
    Column("file_digest", String(64), nullable=False),
    Column("file_name", String(200), nullable=False),
    Column("status", String(12), nullable=False),  # RUNNING / DONE
    Column("checkpoint_line", Integer, nullable=False, server_default="0"),
    Column("accepted", Integer, nullable=False, server_default="0"),
    Column("flagged", Integer, nullable=False, server_default="0"),
    Column("rejected", Integer, nullable=False, server_default="0"),
    Column("transfer_fen", BigInteger, nullable=True),
    Column("total_fen", BigInteger, nullable=False, server_default="0"),
    Column("started_us", BigInteger, nullable=False),
    Column("finished_us", BigInteger, nullable=True),
    UniqueConstraint("platform_no", "kind", "file_digest", name="uq_migration_runs_file"),
    CheckConstraint("kind IN ('USERS', 'BALANCES', 'PROJECTS', 'SHARES')", name="kind_known"),
    CheckConstraint("status IN ('RUNNING', 'DONE')", name="status_known"),
    CheckConstraint("checkpoint_line >= 0 AND accepted >= 0 AND flagged >= 0 AND rejected >= 0",
                    name="counts_nonneg"),
    CheckConstraint("transfer_fen IS NULL OR transfer_fen > 0", name="transfer_positive"),
)

migration_users = Table(
    "migration_users",
    metadata,
    Column("user_id", Id64, ForeignKey("custody_users.id"), primary_key=True, autoincrement=False),
    Column("platform_no", String(32), nullable=False),
    Column("platform_user_no", String(50), nullable=False),
    Column("run_id", Id64, ForeignKey("migration_runs.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    # The ID number (or an enterprise's credit code) once per platform, whatever the document type.
    Column("id_key", String(60), nullable=False),
    Column("card_valid", Boolean, nullable=False),
    Column("quick_pay", Boolean, nullable=False),
    Column("review_required", Boolean, nullable=False),
    # IMPORTED: not activated; ACTIVATED; ABNORMAL: activated with an invalid card, blocked until the
    # card is changed; AUDIT: activated, waiting for the bank's manual review.
    Column("state", String(10), nullable=False),
    Column("blocked", Boolean, nullable=False),
    Column("activation_request_no", String(50), nullable=True),
    Column("card_changed", Boolean, nullable=False, server_default="0"),
    Column("updated_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "platform_user_no", name="uq_migration_users_user"),
    UniqueConstraint("platform_no", "id_key", name="uq_migration_users_id_key"),
    CheckConstraint("state IN ('IMPORTED', 'ACTIVATED', 'ABNORMAL', 'AUDIT')", name="state_known"),
)

migration_issues = Table(
    "migration_issues",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("run_id", Id64, ForeignKey("migration_runs.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("platform_user_no", String(50), nullable=True),
    Column("outcome", String(8), nullable=False),  # FLAGGED / REJECTED
    Column("reason_code", String(32), nullable=False),
    Column("reason", String(300), nullable=False),
    CheckConstraint("outcome IN ('FLAGGED', 'REJECTED')", name="outcome_known"),
    Index("ix_migration_issues_run", "run_id", "line_no"),
)

migration_balances = Table(
    "migration_balances",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("request_no", String(50), nullable=False),
    Column("run_id", Id64, ForeignKey("migration_runs.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("platform_user_no", String(50), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "request_no", name="uq_migration_balances_request"),
    UniqueConstraint("platform_no", "platform_user_no", name="uq_migration_balances_user"),
    CheckConstraint("amount_fen > 0", name="amount_positive"),
)

migration_projects = Table(
    "migration_projects",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("run_id", Id64, ForeignKey("migration_runs.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("project_no", String(50), nullable=False),
    Column("borrower_user_no", String(50), nullable=False),
    Column("project_name", String(100), nullable=True),
    Column("project_amount_fen", BigInteger, nullable=False),
    Column("annual_rate", String(16), nullable=True),  # decimal text as given (e.g. "0.085")
    Column("repayment_way", String(32), nullable=True),
    Column("project_period", Integer, nullable=True),
    UniqueConstraint("platform_no", "project_no", name="uq_migration_projects_project"),
    CheckConstraint("project_amount_fen > 0", name="amount_positive"),
)

migration_shares = Table(
    "migration_shares",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("run_id", Id64, ForeignKey("migration_runs.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("project_no", String(50), nullable=False),
    Column("holder_user_no", String(50), nullable=False),
    Column("share_fen", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "project_no", "holder_user_no", name="uq_migration_shares_holder"),
    CheckConstraint("share_fen > 0", name="share_positive"),
    Index("ix_migration_shares_run", "run_id", "id"),
)

__all__ = ["migration_runs", "migration_users", "migration_issues", "migration_balances", "migration_projects",
           "migration_shares"]
