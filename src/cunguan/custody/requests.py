"""The processed-request register: a requestNo is used once per platform (protocol §1.4, 100013).

A state-changing service claims its requestNo first (`claim`: an insert on the (platform, requestNo)
primary key), before any other write, then does its work and stores the outcome (`record`), all in
the caller's transaction. So:
- a refused request rolls back its claim too: the requestNo stays free for a corrected retry;
- two concurrent requests with one requestNo meet at the claim: on PostgreSQL the second insert
  waits for the first transaction and then fails (→ DuplicateRequest) or succeeds if the first rolled
  back; SQLite serialises writers. No other unique constraint is reached first.
- a service whose only effect was a counted wrong password `release`s its claim: the user retries
  on the same page with the same requestNo.
Outcomes hold no secrets (no passwords; masked numbers only).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from cunguan.clock import Clock
from cunguan.clock import now_us as clock_us  # noqa: F401  (re-exported)
from cunguan.custody.fields import req_text
from cunguan.custody.user_errors import DuplicateRequest
from cunguan.db import pg_arrays
from cunguan.db.prepared import Prepared, Write, run_sql, run_together
from cunguan.db.tables.custody_users import custody_requests

_PENDING = "{}"


def request_no(value: object, field: str = "requestNo") -> str:
    return req_text(value, field)


def _key(platform_no: str, request_no_: str):
    return (custody_requests.c.platform_no == platform_no) & (custody_requests.c.request_no == request_no_)


_BY_KEY = (custody_requests.c.platform_no == bindparam("k_platform_no")) & \
    (custody_requests.c.request_no == bindparam("k_request_no"))
_FIND = select(custody_requests).where(_BY_KEY)
_CLAIM_VALUES = {name: bindparam(name) for name in
                 ("platform_no", "request_no", "service_name", "platform_user_no", "outcome", "created_us")}
_CLAIM = Prepared({dialect: insert(custody_requests).values(_CLAIM_VALUES).on_conflict_do_nothing()
                   .returning(custody_requests.c.request_no)
                   for dialect, insert in (("sqlite", sqlite_insert), ("postgresql", pg_insert))})
_RECORD = Prepared(update(custody_requests).where(_BY_KEY).values(outcome=bindparam("outcome"),
                                                                  platform_user_no=bindparam("platform_user_no")))
"""Prepared once: the claim and the record run on every state-changing request (db/prepared.py)."""


def find(conn: Connection, platform_no: str, request_no_: str) -> dict | None:
    row = conn.execute(_FIND, {"k_platform_no": platform_no, "k_request_no": request_no_}).mappings().first()
    return dict(row) if row is not None else None


def claim(conn: Connection, clock: Clock, platform_no: str, request_no_: str, service_name: str,
          platform_user_no: str | None) -> None:
    """Take the requestNo for this request, or raise DuplicateRequest (with the original service).

    One statement in the common case: an insert that does nothing on a taken key (`ON CONFLICT DO
    NOTHING`; on PostgreSQL it waits for a concurrent claimer's transaction like a plain insert), and
    only when nothing was inserted a read of the original."""
    values = {"platform_no": platform_no, "request_no": request_no_, "service_name": service_name,
              "platform_user_no": platform_user_no, "outcome": _PENDING, "created_us": clock_us(clock)}
    try:
        inserted = _CLAIM.first(conn, values)
    except IntegrityError:
        raise DuplicateRequest(f"requestNo {request_no_!r} was already used") from None
    if inserted is not None:
        return
    existing = find(conn, platform_no, request_no_)
    if existing is None:  # pragma: no cover - a conflict whose row vanished (deleted by release())
        raise DuplicateRequest(f"requestNo {request_no_!r} was already used")
    raise DuplicateRequest(f"requestNo {request_no_!r} was already used ({existing['service_name']})",
                           original_service=existing["service_name"], original_outcome=existing["outcome"])


def record(conn: Connection, platform_no: str, request_no_: str, platform_user_no: str | None,
           outcome: Mapping[str, object]) -> None:
    """Store the outcome on the claimed row (same transaction as the business rows)."""
    run_together(conn, [record_write(platform_no, request_no_, platform_user_no, outcome)])


_OUTCOME_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)
"""One encoder for every outcome: `json.dumps` with options builds a new one a call (~2 µs of the ~4.5)."""


def outcome_text(outcome: Mapping[str, object]) -> str:
    """The stored form of an outcome: JSON, keys sorted, UTF-8 kept, anything else (Decimal) as text."""
    return _OUTCOME_ENCODER.encode(dict(outcome))


def record_write(platform_no: str, request_no_: str, platform_user_no: str | None,
                 outcome: Mapping[str, object]) -> Write:
    """`record` as a write to send with others (`db.prepared.run_together`); it must find its claim."""
    text = outcome_text(outcome)
    return Write(_RECORD, {"k_platform_no": platform_no, "k_request_no": request_no_, "outcome": text,
                           "platform_user_no": platform_user_no}, rows=1)


def release(conn: Connection, platform_no: str, request_no_: str) -> None:
    """Give back a claim whose request changed nothing but a wrong-password count."""
    conn.execute(delete(custody_requests).where(_key(platform_no, request_no_),
                                                custody_requests.c.outcome == _PENDING))


# ---------------------------------------------------------------- many at once (the batched executors)


IN_CHUNK = 900
"""Request numbers per multi-row statement (well under both engines' parameter limits)."""
_TAKEN_SQL = ("SELECT request_no, service_name, outcome FROM custody_requests "
              "WHERE platform_no = ? AND request_no IN ({marks})")
_PG_TAKEN_SQL = ("SELECT t.request_no, t.service_name, t.outcome FROM unnest({nos}) AS k(no) "
                 "JOIN custody_requests t ON t.platform_no = %s AND t.request_no = k.no")
_INSERT_SQL = ("INSERT INTO custody_requests (platform_no, request_no, service_name, platform_user_no, outcome, "
               "created_us) VALUES (?, ?, ?, ?, ?, ?)")
_PG_INSERT_SQL = ("INSERT INTO custody_requests (platform_no, request_no, service_name, platform_user_no, outcome, "
                  "created_us) SELECT %s, d.no, %s, d.user_no, d.outcome, %s FROM {arrays} AS d(no, user_no, outcome)")


def _pieces(values: list) -> list[list]:
    return [values[i:i + IN_CHUNK] for i in range(0, len(values), IN_CHUNK)]


def taken_all(conn: Connection, platform_no: str, request_nos: list[str]) -> dict[str, DuplicateRequest]:
    """The refusals of the requestNos already used, read in one statement (per IN_CHUNK on SQLite).

    The batched executors do not claim first as `claim` does: they read which requestNos are taken
    here and insert the rest with their outcomes at the end (`record_all`), one row write each
    instead of an insert and an update (the claim's pending outcome, then the real one). Nothing
    can take a requestNo in between on SQLite, whose transaction holds the single write lock from its
    start. On PostgreSQL a concurrent claimer of the same requestNo makes one of the two inserts fail
    on the primary key (SQLSTATE 23505), which `db.tx` retries: the retry reads the committed row here
    and refuses the request as a duplicate."""
    if not request_nos:
        return {}
    if conn.dialect.name == "postgresql":  # one array parameter: no per-row placeholders to parse
        nos, param = pg_arrays.texts(request_nos)
        rows = list(run_sql(conn, _PG_TAKEN_SQL.format(nos=nos), (param, platform_no)))
    else:
        rows = []
        for part in _pieces(request_nos):
            rows.extend(run_sql(conn, _TAKEN_SQL.format(marks=", ".join("?" * len(part))), (platform_no, *part)))
    return {no: DuplicateRequest(f"requestNo {no!r} was already used ({service})", original_service=service,
                                 original_outcome=outcome) for no, service, outcome in rows}


def record_all(conn: Connection, clock: Clock, platform_no: str, service_name: str,
               records: list[tuple[str, str | None, Mapping[str, object]]]) -> None:
    """The register rows of requests that `taken_all` found free, with their outcomes: (requestNo,
    platformUserNo, outcome) each, in one statement."""
    if not records:
        return
    now = clock_us(clock)
    texts = [outcome_text(outcome) for _no, _u, outcome in records]
    if conn.dialect.name == "postgresql":
        arrays, params = pg_arrays.unnest([("text", [no for no, _u, _o in records]),
                                           ("text", [u for _no, u, _o in records]), ("text", texts)])
        run_sql(conn, _PG_INSERT_SQL.format(arrays=arrays), (platform_no, service_name, now, *params))
    else:
        run_sql(conn, _INSERT_SQL, [(platform_no, no, service_name, u, t, now)
                                    for t, (no, u, _o) in zip(texts, records, strict=True)], many=True)
