"""The notification outbox: written inside the business transaction, read by the delivery worker and
by operators.

`enqueue` takes the caller's connection and never commits: the outbox row commits with the state
change that caused it, or not at all (DESIGN "Every state change is one transaction"). Delivery
happens after commit, from the outbox (`notify.delivery`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from urllib.parse import urlsplit

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.clock import now_us as clock_us  # noqa: F401  (re-exported)
from cunguan.db.prepared import Prepared
from cunguan.db.tables.notify import notify_attempts, notify_outbox
from cunguan.notify.backoff import DELIVERY_WINDOW_US
from cunguan.notify.payload import dumps_resp_data

PENDING = "PENDING"
DELIVERED = "DELIVERED"
FAILED = "FAILED"
STATUSES = (PENDING, DELIVERED, FAILED)
RESPONSE_TYPES = ("NOTIFY", "CALLBACK")
MAX_LIST = 1000


class NotifyError(ValueError):
    """A notification request that cannot be queued (bad URL, over-long field, bad respData)."""


class NotificationNotFound(LookupError):
    """No outbox row with that id."""


class NotResendable(ValueError):
    """The row was already delivered; re-sending is for PENDING and FAILED rows."""


def _text(value: object, field: str, max_len: int, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise NotifyError(f"{field} must be a string")
    if (not value and not allow_empty) or len(value) > max_len:
        raise NotifyError(f"{field} must be 1..{max_len} characters")
    return value


def _check_url(url: object) -> str:
    url = _text(url, "notify_url", 500)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotifyError("notify_url must be an absolute http(s) URL")
    return url


def enqueue(conn: Connection, *, platform_no: str, service_name: str, notify_url: str,
            resp_data: Mapping[str, object], key_serial: str | int, clock: Clock | None = None,
            response_type: str = "NOTIFY", biz_ref: str | None = None) -> int:
    """Queue one notification in the caller's transaction; return its id. Due at once.

    `resp_data` is serialised here, once (amounts as Decimal, never float; see notify.payload).
    `clock` defaults to the wall clock; pass the operation's injected clock so tests and the
    simulator see consistent times.
    """
    if response_type not in RESPONSE_TYPES:
        raise NotifyError(f"response_type must be one of {', '.join(RESPONSE_TYPES)}")
    now = clock_us(clock or Clock())
    values = dict(
        platform_no=_text(platform_no, "platform_no", 32),
        service_name=_text(service_name, "service_name", 64),
        response_type=response_type,
        key_serial=_text(str(key_serial), "key_serial", 32),
        notify_url=_check_url(notify_url),
        resp_data=dumps_resp_data(resp_data),
        biz_ref=None if biz_ref is None else _text(biz_ref, "biz_ref", 96),
        status=PENDING, attempt_count=0, created_us=now, next_attempt_us=now,
        deadline_us=now + DELIVERY_WINDOW_US, claim_token=None, updated_us=now,
    )
    (row_id,) = _INSERT.first(conn, values)
    return int(row_id)


_INSERT = Prepared(insert(notify_outbox).values({name: bindparam(name) for name in (
    "platform_no", "service_name", "response_type", "key_serial", "notify_url", "resp_data", "biz_ref", "status",
    "attempt_count", "created_us", "next_attempt_us", "deadline_us", "claim_token", "updated_us")})
    .returning(notify_outbox.c.id))
"""The outbox row, compiled once: a Core insert built per call costs its construction, its cache key
and an execution context every time (`db.prepared`'s docstring), and every state change that
notifies pays it inside its transaction (the ASYNC runner, once a batch)."""


@dataclasses.dataclass(frozen=True)
class Notification:
    """An outbox row as operators see it (respData included; print it only where that is allowed)."""

    id: int
    platform_no: str
    service_name: str
    response_type: str
    key_serial: str
    notify_url: str
    resp_data: str
    biz_ref: str | None
    status: str
    attempt_count: int
    created_us: int
    next_attempt_us: int
    deadline_us: int
    delivered_us: int | None
    last_error: str | None


@dataclasses.dataclass(frozen=True)
class Attempt:
    attempt_no: int
    started_us: int
    duration_ms: int
    http_status: int | None
    error_class: str | None
    response_excerpt: str | None
    outcome: str


_COLUMNS = [getattr(notify_outbox.c, f.name) for f in dataclasses.fields(Notification)]


def get(conn: Connection, notification_id: int) -> Notification:
    row = conn.execute(select(*_COLUMNS).where(notify_outbox.c.id == notification_id)).one_or_none()
    if row is None:
        raise NotificationNotFound(f"no notification {notification_id}")
    return Notification(**row._mapping)


def list_notifications(conn: Connection, *, platform_no: str | None = None,
                       statuses: tuple[str, ...] = (PENDING, FAILED), limit: int = 100) -> list[Notification]:
    """Rows in the given statuses (default: not yet delivered), oldest first, at most `limit`."""
    assert 1 <= limit <= MAX_LIST, limit
    for status in statuses:
        if status not in STATUSES:
            raise NotifyError(f"status must be one of {', '.join(STATUSES)}")
    query = select(*_COLUMNS).where(notify_outbox.c.status.in_(statuses))
    if platform_no is not None:
        query = query.where(notify_outbox.c.platform_no == platform_no)
    rows = conn.execute(query.order_by(notify_outbox.c.id).limit(limit)).all()
    return [Notification(**row._mapping) for row in rows]


def count_by_status(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(notify_outbox.c.status, func.count()).group_by(notify_outbox.c.status)).all()
    counts = {status: 0 for status in STATUSES}
    counts.update({status: int(n) for status, n in rows})
    return counts


def attempts_for(conn: Connection, notification_id: int) -> list[Attempt]:
    rows = conn.execute(
        select(notify_attempts.c.attempt_no, notify_attempts.c.started_us, notify_attempts.c.duration_ms,
               notify_attempts.c.http_status, notify_attempts.c.error_class,
               notify_attempts.c.response_excerpt, notify_attempts.c.outcome)
        .where(notify_attempts.c.outbox_id == notification_id)
        .order_by(notify_attempts.c.attempt_no, notify_attempts.c.id)
    ).all()
    return [Attempt(**row._mapping) for row in rows]


def resend(conn: Connection, notification_id: int, clock: Clock) -> Notification:
    """Operator action: make a PENDING or FAILED row due now, with a fresh 24-hour delivery window
    (a FAILED row's old window is spent; without a new one it would die after one more try).

    Any worker's claim is dropped, so the row is picked on the next worker pass. If a worker is in
    the middle of an attempt for it, the platform may see the notification twice; platforms
    de-duplicate by requestNo (§1.7 step 5), and a success still marks the row delivered.
    """
    current = get(conn, notification_id)
    if current.status == DELIVERED:
        raise NotResendable(f"notification {notification_id} was already delivered")
    now = clock_us(clock)
    result = conn.execute(
        update(notify_outbox).where(notify_outbox.c.id == notification_id)
        .where(notify_outbox.c.status.in_((PENDING, FAILED)))
        .values(status=PENDING, next_attempt_us=now, deadline_us=now + DELIVERY_WINDOW_US,
                claim_token=None, updated_us=now)
    )
    if result.rowcount != 1:  # delivered between the read and the update
        raise NotResendable(f"notification {notification_id} was already delivered")
    return get(conn, notification_id)
