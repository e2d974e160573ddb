"""Bank-hosted gateway pages: one row per page opened by a verified `{base}/gateway` request, and the
simulated SMS gateway's delivery log.

A page session is reached through a one-time token (only its SHA-256 is stored), carries the
verified reqData, its deadline (`expired`, capped) and CSRF secret (hash), and the SMS code the user
must type (hash). It ends DONE (the operation committed, CALLBACK rendered, NOTIFY queued) or CLOSED
(the user went back to the platform); either way the token is spent.
"""

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text

from cunguan.db.tables.base import Id64, metadata

gateway_page_sessions = Table(
    "gateway_page_sessions",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("csrf_hash", String(64), nullable=False),
    Column("platform_no", String(32), nullable=False),
    Column("service_name", String(64), nullable=False),
    Column("key_serial", String(32), nullable=False),
    Column("user_device", String(10), nullable=True),
    Column("request_no", String(50), nullable=False),
    Column("platform_user_no", String(50), nullable=False),
    Column("redirect_url", String(500), nullable=False),
    Column("req_data", Text, nullable=False),
    Column("status", String(8), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Column("finished_us", BigInteger, nullable=True),
    Column("sms_mobile", String(20), nullable=True),
    Column("sms_code_hash", String(64), nullable=True),
    Column("sms_sent_us", BigInteger, nullable=True),
    Column("sms_count", Integer, nullable=False, server_default="0"),
    Column("sms_failures", Integer, nullable=False, server_default="0"),
    CheckConstraint("status IN ('OPEN', 'DONE', 'CLOSED')", name="status_known"),
    CheckConstraint("sms_count >= 0 AND sms_failures >= 0", name="counts_nonneg"),
)

gateway_sms_messages = Table(
    "gateway_sms_messages",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("session_id", Id64, ForeignKey("gateway_page_sessions.id"), nullable=False),
    Column("mobile", String(20), nullable=False),
    Column("body", String(500), nullable=False),
    Column("created_us", BigInteger, nullable=False),
)
Index("ix_gateway_sms_messages_mobile", gateway_sms_messages.c.mobile, gateway_sms_messages.c.id)
