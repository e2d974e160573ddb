"""Delivering outbox rows to platforms: claim due rows (`CLAIM_ROWS` at a time), POST each one's signed
NOTIFY form, record the attempts, then mark each row DELIVERED, schedule a retry, or mark it FAILED
after its deadline.

Claims are leases, not held transactions: the claim transaction (PostgreSQL: `SELECT ... FOR UPDATE
SKIP LOCKED`; SQLite: the write lock every write transaction takes at BEGIN IMMEDIATE) stamps the row
with a random claim token and pushes `next_attempt_us` to the end of the lease, then commits. No
database lock is held during the HTTP call, so a slow platform never blocks other writers, and two
workers (threads or processes) never hold the same row at once. A worker that dies mid-attempt leaves
a row that becomes due again when the lease runs out, so delivery is at least once; platforms
de-duplicate by requestNo (protocol §1.7 step 5).

Success rule (protocol §1.7 step 5, see `payload.is_acknowledged`): HTTP 200 and body `SUCCESS`.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import re
import secrets
import time
from collections.abc import Callable
from typing import Protocol

import httpx
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from cunguan.client import form as form_codec
from cunguan.clock import Clock
from cunguan.db.reads import reading
from cunguan.db.tables.notify import notify_attempts, notify_outbox
from cunguan.db.tx import run_in_transaction
from cunguan.notify.backoff import next_attempt_us
from cunguan.notify.outbox import DELIVERED, FAILED, PENDING, clock_us
from cunguan.notify.payload import Signer, is_acknowledged, notify_form

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 5.0
TOTAL_TIMEOUT_S = 15.0
"""Wall-clock bound on one attempt, body included (a platform dribbling bytes cannot hold a worker)."""
MAX_BODY_BYTES = 4096
"""An acknowledgement is 7 bytes; read no more than this of whatever the platform answers."""
EXCERPT_CHARS = 200
LEASE_US = 120 * 1_000_000
"""How long a claim lasts; well above TOTAL_TIMEOUT_S so a live worker always finishes first."""
DEFAULT_BATCH = 100
CLAIM_ROWS = 16
"""Rows a claim takes at most (`claim_due`)."""
MAX_CLAIM_ROWS = 64

assert LEASE_US > TOTAL_TIMEOUT_S * 2 * 1_000_000


@dataclasses.dataclass(frozen=True)
class Claimed:
    """A row this worker holds until `finish` (or until the lease runs out)."""

    id: int
    token: str
    started_us: int
    platform_no: str
    service_name: str
    response_type: str
    key_serial: str
    notify_url: str
    resp_data: str


@dataclasses.dataclass(frozen=True)
class SendResult:
    """What one HTTP attempt produced: a status and excerpt, or an error class (timeout, refused...)."""

    delivered: bool
    http_status: int | None = None
    error_class: str | None = None
    excerpt: str = ""


class Sender(Protocol):
    def send(self, claimed: Claimed) -> SendResult: ...


def excerpt_of(body: bytes) -> str:
    """A short, single-line, printable excerpt of a platform's answer for operators."""
    text = body[:EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()
    return text[:EXCERPT_CHARS]


class AttemptTooSlow(Exception):
    """The platform kept the connection busy past TOTAL_TIMEOUT_S."""


FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


class HttpSender:
    """POSTs the NOTIFY form (application/x-www-form-urlencoded, UTF-8) with bounded timeouts.

    Signs at send time with the bank key (`signer`), over the stored respData bytes. Redirects are not
    followed: a 3xx is not an acknowledgement.
    """

    def __init__(self, signer: Signer, *, connect_timeout_s: float = CONNECT_TIMEOUT_S,
                 read_timeout_s: float = READ_TIMEOUT_S, total_timeout_s: float = TOTAL_TIMEOUT_S,
                 client: httpx.Client | None = None) -> None:
        assert 0 < connect_timeout_s <= total_timeout_s and 0 < read_timeout_s <= total_timeout_s
        assert total_timeout_s * 1_000_000 * 2 < LEASE_US
        self._signer = signer
        self._total_timeout_s = total_timeout_s
        timeout = httpx.Timeout(connect=connect_timeout_s, read=read_timeout_s, write=read_timeout_s,
                                pool=connect_timeout_s)
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False,
                                              headers={"User-Agent": "cunguan-notify/1"})

    def send(self, claimed: Claimed) -> SendResult:
        started = time.monotonic()
        sign = self._signer(claimed.resp_data.encode("utf-8"))
        form = notify_form(platform_no=claimed.platform_no, service_name=claimed.service_name,
                           response_type=claimed.response_type, key_serial=claimed.key_serial,
                           resp_data=claimed.resp_data, sign=sign)
        try:
            with self._client.stream("POST", claimed.notify_url, content=form_codec.encode(form.items()),
                                     headers=FORM_HEADERS) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= MAX_BODY_BYTES:
                        break
                    if time.monotonic() - started > self._total_timeout_s:
                        raise AttemptTooSlow()
                status = response.status_code
        except (httpx.HTTPError, AttemptTooSlow) as exc:
            return SendResult(delivered=False, error_class=type(exc).__name__)
        return SendResult(delivered=is_acknowledged(status, bytes(body)), http_status=status,
                          excerpt=excerpt_of(bytes(body)))

    def close(self) -> None:
        self._client.close()


@dataclasses.dataclass
class RunStats:
    """What one `run_once` pass did: rows delivered, rows rescheduled, rows that died (FAILED)."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed


_CLAIM_COLUMNS = (notify_outbox.c.id, notify_outbox.c.platform_no, notify_outbox.c.service_name,
                  notify_outbox.c.response_type, notify_outbox.c.key_serial, notify_outbox.c.notify_url,
                  notify_outbox.c.resp_data)


def _anything_due(engine: Engine, now_us: int) -> bool:
    """A read-only look first, so an idle poll never takes SQLite's write lock."""
    with reading(engine) as conn:
        found = conn.execute(
            select(notify_outbox.c.id)
            .where(notify_outbox.c.status == PENDING, notify_outbox.c.next_attempt_us <= now_us).limit(1)
        ).first()
    return found is not None


def claim_due(engine: Engine, clock: Clock, *, limit: int = CLAIM_ROWS, lease_us: int = LEASE_US) -> list[Claimed]:
    """Claim up to `limit` due PENDING rows, most overdue first, in one transaction (empty when nothing
    is due). They share one token and one lease, which covers sending them one after the other since
    their outcomes are written together (`finish_all`) after the last one: `lease_us` (more than two
    attempts' `TOTAL_TIMEOUT_S`) plus `TOTAL_TIMEOUT_S` for each row after the first. A worker that
    dies holding them leaves them all to be sent again once the lease runs out.

    Why several a claim: on SQLite every claim and every finish is a write transaction, and while the
    ASYNC runner drains a backlog each waits for one of its chunks (up to ~0.6 s, `async_runner.
    UNCONTENDED_CHUNK_S`; delivery is a background writer that does not shorten them). One row per
    claim delivered ~0.6 NOTIFYs a second there while batches finished at ~5 a second: measured,
    `cunguan bench async --details 500000` ended with 380 NOTIFYs queued, and the 3,000,000-detail run
    spent its last 34 s delivering them."""
    assert 1 <= limit <= MAX_CLAIM_ROWS, limit
    if not _anything_due(engine, clock_us(clock)):
        return []

    def work(conn: Connection) -> list[Claimed]:
        now = clock_us(clock)
        rows = conn.execute(
            select(*_CLAIM_COLUMNS)
            .where(notify_outbox.c.status == PENDING, notify_outbox.c.next_attempt_us <= now)
            .order_by(notify_outbox.c.next_attempt_us, notify_outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return []
        token = secrets.token_hex(16)
        lease_end = now + lease_us + (len(rows) - 1) * int(TOTAL_TIMEOUT_S * 1_000_000)
        conn.execute(update(notify_outbox).where(notify_outbox.c.id.in_([row.id for row in rows]))
                     .values(claim_token=token, next_attempt_us=lease_end, updated_us=now))
        return [Claimed(token=token, started_us=now, **row._mapping) for row in rows]

    return run_in_transaction(engine, work)


def claim_one(engine: Engine, clock: Clock, *, lease_us: int = LEASE_US) -> Claimed | None:
    """Claim the most overdue PENDING row, or None when nothing is due."""
    claimed = claim_due(engine, clock, limit=1, lease_us=lease_us)
    return claimed[0] if claimed else None


def _last_error(result: SendResult) -> str:
    if result.error_class is not None:
        return result.error_class[:200]
    return f"HTTP {result.http_status}: {result.excerpt}"[:200]


def finish(engine: Engine, claimed: Claimed, result: SendResult, duration_ms: int, clock: Clock,
           *, rand: Callable[[], float] = random.random) -> str:
    """Record the attempt and move the row on; returns the attempt's outcome (DELIVERED, RETRY or
    FAILED).

    A success always marks the row delivered (the platform has it, whoever's claim it was). A failure
    reschedules only if this worker still holds the claim: if an operator re-queued the row or the
    lease ran out and another worker took it, that worker decides the row's fate.
    """
    return finish_all(engine, [Sent(claimed, result, duration_ms)], clock, rand=rand)[0]


@dataclasses.dataclass(frozen=True)
class Sent:
    """One attempt made: the row, what the platform answered, how long it took."""

    claimed: Claimed
    result: SendResult
    duration_ms: int


def finish_all(engine: Engine, sent: list[Sent], clock: Clock, *,
               rand: Callable[[], float] = random.random) -> list[str]:
    """`finish` for each attempt, in one transaction (see `claim_due`); the outcomes in order."""
    assert all(s.duration_ms >= 0 for s in sent)

    def work(conn: Connection) -> list[str]:
        now = clock_us(clock)
        return [_finish_row(conn, s, now, rand) for s in sent]

    return run_in_transaction(engine, work)


def _finish_row(conn: Connection, sent: Sent, now: int, rand: Callable[[], float]) -> str:
    claimed, result = sent.claimed, sent.result
    row = conn.execute(
        select(notify_outbox.c.status, notify_outbox.c.claim_token, notify_outbox.c.attempt_count,
               notify_outbox.c.deadline_us)
        .where(notify_outbox.c.id == claimed.id).with_for_update()
    ).one()
    attempt_no = row.attempt_count + 1
    values: dict[str, object] = {"attempt_count": attempt_no, "updated_us": now}
    if result.delivered:
        outcome = DELIVERED
        if row.status != DELIVERED:
            values.update(status=DELIVERED, delivered_us=now, claim_token=None, last_error=None)
    elif row.status == PENDING and row.claim_token == claimed.token:
        retry_at = next_attempt_us(now_us=now, failures=attempt_no, deadline_us=row.deadline_us, rand=rand)
        outcome = FAILED if retry_at is None else "RETRY"
        values.update(claim_token=None, last_error=_last_error(result))
        if retry_at is None:
            values.update(status=FAILED)
        else:
            values.update(next_attempt_us=retry_at)
    else:
        outcome = "RETRY"  # not ours any more; leave the row to its current holder
    conn.execute(update(notify_outbox).where(notify_outbox.c.id == claimed.id).values(**values))
    conn.execute(insert(notify_attempts).values(
        outbox_id=claimed.id, attempt_no=attempt_no, started_us=claimed.started_us,
        duration_ms=sent.duration_ms, http_status=result.http_status,
        error_class=None if result.error_class is None else result.error_class[:64],
        response_excerpt=result.excerpt[:200] or None, outcome=outcome))
    return outcome


def attempt(engine: Engine, sender: Sender, claimed: Claimed, clock: Clock,
            *, rand: Callable[[], float] = random.random) -> str:
    """One attempt for a claimed row (see `attempt_all`)."""
    return attempt_all(engine, sender, [claimed], clock, rand=rand)[0]


def attempt_all(engine: Engine, sender: Sender, claimed: list[Claimed], clock: Clock,
                *, rand: Callable[[], float] = random.random) -> list[str]:
    """One attempt for each claimed row, one after the other, then their outcomes in one transaction.
    Any error from the sender (signer failure, a bug) counts as a failed attempt with its class
    recorded; it never escapes to stop the worker."""
    sent = []
    for row in claimed:
        started = time.monotonic()
        try:
            result = sender.send(row)
        except Exception as exc:  # noqa: BLE001 - recorded on the attempt, row retried
            log.warning("notification %s: sender raised %s", row.id, type(exc).__name__)
            result = SendResult(delivered=False, error_class=type(exc).__name__)
        sent.append(Sent(row, result, int((time.monotonic() - started) * 1000)))
    outcomes = finish_all(engine, sent, clock, rand=rand)
    for s, outcome in zip(sent, outcomes, strict=True):
        if outcome != DELIVERED:
            log.info("notification %s to platform %s: %s (%s)", s.claimed.id, s.claimed.platform_no, outcome,
                     _last_error(s.result))
    return outcomes


def run_once(engine: Engine, sender: Sender, clock: Clock, limit: int = DEFAULT_BATCH,
             *, rand: Callable[[], float] = random.random) -> RunStats:
    """Deliver up to `limit` due rows, `CLAIM_ROWS` a claim; stop early when nothing is due."""
    assert limit >= 1, limit
    stats = RunStats()
    while stats.attempted < limit:
        claimed = claim_due(engine, clock, limit=min(CLAIM_ROWS, limit - stats.attempted))
        if not claimed:
            break
        for outcome in attempt_all(engine, sender, claimed, clock, rand=rand):
            if outcome == DELIVERED:
                stats.delivered += 1
            elif outcome == FAILED:
                stats.failed += 1
            else:
                stats.retrying += 1
    return stats
