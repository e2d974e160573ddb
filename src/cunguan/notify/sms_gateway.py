"""The simulated SMS gateway of the bank-hosted pages: verification codes "sent" to a phone are
written to `gateway_sms_messages`, in the transaction that issues the code, so tests and the demo can
read the phone (`messages`, `latest_code`).

Why not the sweep room's `notify.sms` outbox: that one queues result messages for later delivery
with retries; a verification code is only useful at once and only for one page, so it is recorded
with the page session that owns it. A production adapter would replace `record` with a call to the
operator's SMS API (after commit) and keep the same lookup for operators.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.engine import Connection

from cunguan.db.tables.page_sessions import gateway_sms_messages

MAX_BODY_CHARS = 500
CODE_RE = re.compile(r"验证码[:：]?\s*([0-9]{6})")


def code_message(code: str, purpose: str) -> str:
    """The text the user receives: the code, what it is for, and a warning not to share it."""
    assert re.fullmatch(r"[0-9]{6}", code)
    return f"【存管银行】验证码：{code}，用于{purpose[:40]}，5 分钟内有效。请勿向任何人泄露。"


def record(conn: Connection, *, session_id: int, mobile: str, body: str, now_us: int) -> int:
    """Deliver (simulated) one message in the caller's transaction; return its id."""
    assert mobile and body
    return int(conn.execute(gateway_sms_messages.insert().values(
        session_id=session_id, mobile=mobile, body=body[:MAX_BODY_CHARS], created_us=now_us)).inserted_primary_key[0])


def messages(conn: Connection, *, mobile: str | None = None, limit: int = 100) -> list[dict]:
    """Messages on the simulated phone(s), newest first."""
    stmt = select(gateway_sms_messages).order_by(gateway_sms_messages.c.id.desc()).limit(limit)
    if mobile is not None:
        stmt = stmt.where(gateway_sms_messages.c.mobile == mobile)
    return [dict(row) for row in conn.execute(stmt).mappings()]


def latest_code(conn: Connection, mobile: str) -> str | None:
    """The code in the newest message to `mobile` (what a user reads off the phone)."""
    for message in messages(conn, mobile=mobile, limit=1):
        found = CODE_RE.search(message["body"])
        if found:
            return found.group(1)
    return None
