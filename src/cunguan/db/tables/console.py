"""Operator console: bank operators, their login sessions, and an audit trail of what they did.

- `console_operators`: one row per bank operator, with an argon2 password hash (never the password)
  and one role (operator: read-only; reviewer: user reviews and notification re-sends; admin: also
  platforms and operators). `failed_logins` and `locked_until_us` throttle password guessing.
- `console_sessions`: only the SHA-256 of the session token is stored, so a database leak does not
  leak live sessions; `csrf_token` is the per-session token every console form carries.
- `console_actions`: one row per state-changing console action (who, what, on which object), written
  in the same transaction as the change itself.

Times are integer UTC microseconds (`*_us`).
"""

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table

from cunguan.db.tables.base import Id64, metadata

console_operators = Table(
    "console_operators",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("username", String(40), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(12), nullable=False),
    Column("status", String(12), nullable=False),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until_us", BigInteger, nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    CheckConstraint("role IN ('operator', 'reviewer', 'admin')", name="role_known"),
    CheckConstraint("status IN ('ACTIVE', 'DISABLED')", name="status_known"),
    CheckConstraint("failed_logins >= 0", name="failed_nonneg"),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("operator_id", Id64, ForeignKey("console_operators.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Index("ix_console_sessions_operator", "operator_id"),
)

console_actions = Table(
    "console_actions",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("operator_id", Id64, ForeignKey("console_operators.id"), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(120), nullable=False),
    Column("detail", String(200), nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Index("ix_console_actions_operator", "operator_id", "id"),
)
