"""The SMS outbox: every message is a row committed with the business change that caused it; a
sender delivers pending rows after commit. `dedupe_key` makes reminders at-most-once."""

from sqlalchemy import BigInteger, CheckConstraint, Column, Integer, String, Table, Text

from cunguan.db.tables.base import Id64, metadata

sms_outbox = Table(
    "sms_outbox",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("mobile", String(20), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("body", Text, nullable=False),
    Column("ref", String(64), nullable=False),
    Column("dedupe_key", String(120), nullable=True, unique=True),
    Column("status", String(8), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(200), nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("sent_us", BigInteger, nullable=True),
    CheckConstraint("status IN ('PENDING', 'SENT', 'FAILED')", name="status_known"),
)
