"""Platform notification outbox (protocol §1.7 NOTIFY) and its delivery attempts.

- `notify_outbox`: one row per notification. It is written inside the business transaction that
  caused it, so it exists if and only if that state change committed. `resp_data` is the exact JSON
  text that is signed and sent on every attempt (serialised once, at enqueue). `next_attempt_us` is
  when a worker may next pick the row; while a worker holds a claim it is pushed to the end of the
  claim's lease, and `claim_token` names the holder, so a crashed worker's row comes back by itself.
- `notify_attempts`: one row per HTTP attempt (time, HTTP status or error class, a short excerpt of
  the answer, duration), kept for operators; never updated.

Times are integer UTC microseconds (`*_us`).
"""

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text

from cunguan.db.tables.base import Id64, metadata

notify_outbox = Table(
    "notify_outbox",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("service_name", String(64), nullable=False),
    Column("response_type", String(16), nullable=False),
    Column("key_serial", String(32), nullable=False),
    Column("notify_url", String(500), nullable=False),
    Column("resp_data", Text, nullable=False),
    Column("biz_ref", String(96), nullable=True),
    Column("status", String(12), nullable=False),
    Column("attempt_count", Integer, nullable=False, server_default="0"),
    Column("created_us", BigInteger, nullable=False),
    Column("next_attempt_us", BigInteger, nullable=False),
    Column("deadline_us", BigInteger, nullable=False),
    Column("claim_token", String(32), nullable=True),
    Column("delivered_us", BigInteger, nullable=True),
    Column("updated_us", BigInteger, nullable=False),
    Column("last_error", String(200), nullable=True),
    CheckConstraint("status IN ('PENDING', 'DELIVERED', 'FAILED')", name="status_known"),
    CheckConstraint("attempt_count >= 0", name="attempts_nonneg"),
    Index("ix_notify_outbox_due", "status", "next_attempt_us"),
    Index("ix_notify_outbox_platform", "platform_no", "status"),
)

notify_attempts = Table(
    "notify_attempts",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("outbox_id", Id64, ForeignKey("notify_outbox.id"), nullable=False),
    Column("attempt_no", Integer, nullable=False),
    Column("started_us", BigInteger, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("http_status", Integer, nullable=True),
    Column("error_class", String(64), nullable=True),
    Column("response_excerpt", String(200), nullable=True),
    Column("outcome", String(12), nullable=False),
    CheckConstraint("outcome IN ('DELIVERED', 'RETRY', 'FAILED')", name="outcome_known"),
    CheckConstraint("duration_ms >= 0", name="duration_nonneg"),
    Index("ix_notify_attempts_outbox", "outbox_id", "attempt_no"),
)
