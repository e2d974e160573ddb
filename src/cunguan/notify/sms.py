"""SMS: an outbox written in the business transaction, and pluggable senders that deliver after commit.

`enqueue` only inserts a row (inside the caller's transaction), so a run's result message commits with
the run or not at all. `deliver_pending` hands pending rows to an `SmsSender`, one short transaction per
message, with a bounded number of attempts. Tests and the demo use `FileSmsSink` (one JSON line per
message) or `MemorySmsSink`; a real gateway adapter implements the same one-method protocol.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from cunguan.db.ledger_store import now_us
from cunguan.db.tables.sms import sms_outbox
from cunguan.db.tx import run_in_transaction

MAX_ATTEMPTS = 5
MAX_BODY_CHARS = 500


class SmsSender(Protocol):
    def send(self, mobile: str, body: str) -> None:
        """Deliver one message or raise; raising leaves the row pending for another attempt."""


class MemorySmsSink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def send(self, mobile: str, body: str) -> None:
        with self._lock:
            self.sent.append((mobile, body))


class FileSmsSink:
    """Appends one JSON line per message to a local file (the demo's 'phone')."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def send(self, mobile: str, body: str) -> None:
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"mobile": mobile, "body": body}, ensure_ascii=False) + "\n")


def enqueue(conn: Connection, *, mobile: str, kind: str, body: str, ref: str, dedupe_key: str | None = None) -> bool:
    """Record a message in the caller's transaction. With `dedupe_key`, a second message is dropped
    (returns False); the check is a select first so the caller's transaction stays usable."""
    assert mobile and body
    if dedupe_key is not None:
        seen = conn.execute(select(sms_outbox.c.id).where(sms_outbox.c.dedupe_key == dedupe_key)).first()
        if seen is not None:
            return False
    conn.execute(sms_outbox.insert().values(
        mobile=mobile, kind=kind, body=body[:MAX_BODY_CHARS], ref=ref[:64], dedupe_key=dedupe_key,
        status="PENDING", attempts=0, created_us=now_us()))
    return True


def deliver_pending(engine: Engine, sender: SmsSender, *, limit: int = 200) -> int:
    """Deliver up to `limit` pending messages; returns how many were sent."""
    with engine.connect() as conn:
        rows = conn.execute(select(sms_outbox.c.id, sms_outbox.c.mobile, sms_outbox.c.body, sms_outbox.c.attempts)
                            .where(sms_outbox.c.status == "PENDING").order_by(sms_outbox.c.id).limit(limit)).all()
    sent = 0
    for row_id, mobile, body, attempts in rows:
        claimed = run_in_transaction(engine, lambda c, i=row_id, a=attempts: c.execute(
            sms_outbox.update().where(sms_outbox.c.id == i, sms_outbox.c.status == "PENDING",
                                      sms_outbox.c.attempts == a).values(attempts=a + 1)).rowcount)
        if not claimed:
            continue  # another deliverer took it
        try:
            sender.send(mobile, body)
        except Exception as exc:  # noqa: BLE001 - any gateway failure leaves the row for a retry
            final = attempts + 1 >= MAX_ATTEMPTS
            run_in_transaction(engine, lambda c, i=row_id, e=str(exc)[:200], f=final: c.execute(
                sms_outbox.update().where(sms_outbox.c.id == i).values(
                    last_error=e, status="FAILED" if f else "PENDING")))
            continue
        run_in_transaction(engine, lambda c, i=row_id: c.execute(
            sms_outbox.update().where(sms_outbox.c.id == i).values(status="SENT", sent_us=now_us())))
        sent += 1
    return sent


def messages(conn: Connection, *, mobile: str | None = None) -> list[dict]:
    """The outbox, oldest first (for operators, tests and the demo)."""
    stmt = select(sms_outbox).order_by(sms_outbox.c.id)
    if mobile is not None:
        stmt = stmt.where(sms_outbox.c.mobile == mobile)
    return [dict(r) for r in conn.execute(stmt).mappings()]


__all__ = ["FileSmsSink", "MemorySmsSink", "SmsSender", "deliver_pending", "enqueue", "messages"]
