"""Delivery against a real HTTP receiver on 127.0.0.1 that verifies every signature: failures are
retried on the backoff schedule with every attempt recorded, a row dies after its 24 hours, an
operator's resend delivers it, and a crashed worker's claim comes back after its lease."""

from __future__ import annotations

import datetime as dt
import itertools
import socket
import time
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from cunguan.clock import Clock
from cunguan.db.tables.notify import notify_outbox
from cunguan.db.tx import run_in_transaction
from cunguan.notify import backoff, outbox
from cunguan.notify.delivery import (
    CLAIM_ROWS,
    LEASE_US,
    TOTAL_TIMEOUT_S,
    HttpSender,
    SendResult,
    claim_due,
    claim_one,
    finish,
    run_once,
)
from cunguan.notify.worker import start_background

from .conftest import PLATFORM, READ_TIMEOUT_S, START

START_US = int(START.timestamp()) * 1_000_000
RESP = {"requestNo": "RQ-1", "code": "0", "status": "SUCCESS", "amount": Decimal("5000.10"),
        "errorMessage": "", "platformUserNo": "U1"}
RESP_TEXT = ('{"requestNo":"RQ-1","code":"0","status":"SUCCESS","amount":5000.10,'
             '"errorMessage":"","platformUserNo":"U1"}')
NO_JITTER = lambda: 0.0  # noqa: E731


def _enqueue(engine, clock, url, biz_ref="RQ-1"):
    return run_in_transaction(engine, lambda c: outbox.enqueue(
        c, platform_no=PLATFORM, service_name="RECHARGE", notify_url=url, resp_data=RESP, key_serial="1",
        biz_ref=biz_ref, clock=clock))


def _row(engine, nid):
    with engine.connect() as conn:
        return outbox.get(conn, nid), outbox.attempts_for(conn, nid)


def _move_to_next_attempt(engine, clock, nid):
    row, _ = _row(engine, nid)
    clock.set(dt.datetime.fromtimestamp(row.next_attempt_us / 1_000_000, dt.UTC))


def test_failures_are_retried_on_schedule_until_success(engine, clock, receiver, sender):
    receiver.script.extend([("reply", 500, "oops"), ("reply", 200, "INIT"), ("sleep", READ_TIMEOUT_S * 3)])
    nid = _enqueue(engine, clock, receiver.url)

    expected = ["RETRY", "RETRY", "RETRY", "DELIVERED"]
    for i, want in enumerate(expected):
        stats = run_once(engine, sender, clock, 10, rand=NO_JITTER)
        assert stats.attempted == 1
        row, attempts = _row(engine, nid)
        assert attempts[-1].outcome == want and len(attempts) == i + 1
        if want == "RETRY":
            # Not due again before its backoff: a pass at the same instant does nothing.
            assert run_once(engine, sender, clock, 10).attempted == 0
            assert row.status == "PENDING" and row.next_attempt_us > attempts[-1].started_us
            _move_to_next_attempt(engine, clock, nid)

    row, attempts = _row(engine, nid)
    assert row.status == "DELIVERED" and row.attempt_count == 4 and row.last_error is None
    assert [(a.http_status, a.error_class) for a in attempts] == [
        (500, None), (200, None), (None, "ReadTimeout"), (200, None)]
    assert [a.response_excerpt for a in attempts] == ["oops", "INIT", None, "SUCCESS"]
    # Backoff without jitter: 15 s, 30 s, 60 s after each failure.
    gaps = [(b.started_us - a.started_us) // 1_000_000 for a, b in itertools.pairwise(attempts)]
    assert gaps == [15, 30, 60]
    assert attempts[2].duration_ms >= READ_TIMEOUT_S * 1000 * 0.9
    assert row.delivered_us == attempts[-1].started_us

    assert len(receiver.hits) == 4 and all(h.sign_ok for h in receiver.hits)
    for hit in receiver.hits:
        assert hit.content_type.startswith("application/x-www-form-urlencoded")
        assert hit.form == {"platformNo": PLATFORM, "serviceName": "RECHARGE", "responseType": "NOTIFY",
                            "keySerial": "1", "respData": RESP_TEXT, "sign": hit.form["sign"]}
    # Nothing left to do.
    clock.advance(dt.timedelta(days=2))
    assert run_once(engine, sender, clock, 10).attempted == 0


def test_a_row_dies_after_24_hours_and_resend_delivers_it(engine, clock, receiver, sender):
    receiver.default = ("reply", 503, "maintenance")
    nid = _enqueue(engine, clock, receiver.url)
    passes = 0
    while True:
        passes += 1
        assert passes < 60, "a day of retries must end"
        stats = run_once(engine, sender, clock, 10)
        assert stats.attempted == 1
        row, _ = _row(engine, nid)
        if row.status == "FAILED":
            assert stats.failed == 1
            break
        assert stats.retrying == 1
        _move_to_next_attempt(engine, clock, nid)

    row, attempts = _row(engine, nid)
    assert row.last_error == "HTTP 503: maintenance"
    assert len(attempts) == len(receiver.hits) == row.attempt_count == passes
    assert [a.outcome for a in attempts] == ["RETRY"] * (passes - 1) + ["FAILED"]
    assert attempts[-1].started_us == row.deadline_us == START_US + backoff.DELIVERY_WINDOW_US
    for n, (a, b) in enumerate(itertools.pairwise(attempts), start=1):
        gap = b.started_us - a.started_us
        nominal = backoff.nominal_delay_us(n)
        assert gap <= nominal and (gap >= nominal * 0.8 or b.started_us == row.deadline_us)
    # Dead rows are not picked any more.
    clock.advance(dt.timedelta(hours=5))
    assert run_once(engine, sender, clock, 10).attempted == 0
    with engine.connect() as conn:
        assert [n.id for n in outbox.list_notifications(conn, statuses=("FAILED",))] == [nid]

    receiver.default = ("reply", 200, "SUCCESS")
    run_in_transaction(engine, lambda c: outbox.resend(c, nid, clock))
    stats = run_once(engine, sender, clock, 10)
    assert (stats.delivered, stats.failed, stats.retrying) == (1, 0, 0)
    row, attempts = _row(engine, nid)
    assert row.status == "DELIVERED" and attempts[-1].outcome == "DELIVERED"
    assert len(receiver.hits) == passes + 1 and all(h.sign_ok for h in receiver.hits)


def test_refused_connection_is_recorded_as_an_error_class(engine, clock, sender):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nid = _enqueue(engine, clock, f"http://127.0.0.1:{port}/notify")
    assert run_once(engine, sender, clock, 10).retrying == 1
    row, attempts = _row(engine, nid)
    assert attempts[0].error_class == "ConnectError" and attempts[0].http_status is None
    assert row.last_error == "ConnectError" and row.status == "PENDING"


def test_a_signer_failure_is_a_failed_attempt_not_a_dead_worker(engine, clock, receiver):
    def broken(_data: bytes) -> str:
        raise RuntimeError("HSM unavailable")

    nid = _enqueue(engine, clock, receiver.url)
    s = HttpSender(broken)
    try:
        assert run_once(engine, s, clock, 10).retrying == 1
    finally:
        s.close()
    _, attempts = _row(engine, nid)
    assert attempts[0].error_class == "RuntimeError" and receiver.hits == []


def test_a_crashed_workers_claim_returns_after_the_lease_and_its_late_answer_is_ignored(engine, clock):
    nid = _enqueue(engine, clock, "http://127.0.0.1:9/notify")
    first = claim_one(engine, clock)
    assert first is not None and first.id == nid
    assert claim_one(engine, clock) is None  # held
    clock.advance(dt.timedelta(microseconds=LEASE_US - 1))
    assert claim_one(engine, clock) is None
    clock.advance(dt.timedelta(microseconds=1))
    second = claim_one(engine, clock)
    assert second is not None and second.id == nid and second.token != first.token

    # The first worker comes back late with a failure: recorded, but the row stays with the second.
    assert finish(engine, first, SendResult(delivered=False, http_status=500), 5, clock) == "RETRY"
    with engine.connect() as conn:
        token, next_us = conn.execute(select(notify_outbox.c.claim_token, notify_outbox.c.next_attempt_us)
                                      .where(notify_outbox.c.id == nid)).one()
    assert token == second.token and next_us > outbox.clock_us(clock)
    # The second succeeds: delivered.
    assert finish(engine, second, SendResult(delivered=True, http_status=200, excerpt="SUCCESS"), 3, clock) \
        == "DELIVERED"
    row, attempts = _row(engine, nid)
    assert row.status == "DELIVERED" and [a.attempt_no for a in attempts] == [1, 2]


def test_background_workers_deliver_and_stop(engine, receiver, signer):
    clock = Clock()
    nids = [_enqueue(engine, clock, receiver.url, biz_ref=f"BG-{i}") for i in range(3)]
    stop = start_background(engine, signer, clock, threads=2, poll_interval_s=0.02)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if outbox.count_by_status(conn)["DELIVERED"] == len(nids):
                    break
            time.sleep(0.02)
    finally:
        stop()
    with engine.connect() as conn:
        assert outbox.count_by_status(conn) == {"PENDING": 0, "DELIVERED": 3, "FAILED": 0}
    assert len(receiver.hits) == 3


@pytest.mark.parametrize(("answer", "status", "error_class", "excerpt"), [
    (("reply", 302, "SUCCESS"), 302, None, "SUCCESS"),
    (("reply", 200, "success"), 200, None, "success"),
    (("reply", 200, '{"code":"0","status":"SUCCESS"}'), 200, None, '{"code":"0","status":"SUCCESS"}'),
    (("reply", 200, "SUCCESS" * 1000), 200, None, ("SUCCESS" * 1000)[:200]),
    (("dribble", 0.05), None, "AttemptTooSlow", None),
])
def test_anything_but_a_plain_success_is_retried(engine, clock, receiver, signer, answer, status, error_class,
                                                  excerpt):
    receiver.script.append(answer)
    nid = _enqueue(engine, clock, receiver.url)
    quick = HttpSender(signer, connect_timeout_s=0.5, read_timeout_s=0.5, total_timeout_s=0.5)
    try:
        started = time.monotonic()
        assert run_once(engine, quick, clock, 10).retrying == 1
        assert time.monotonic() - started < 2.0  # the dribbling platform cannot hold the worker
    finally:
        quick.close()
    row, attempts = _row(engine, nid)
    assert row.status == "PENDING"
    assert (attempts[0].http_status, attempts[0].error_class, attempts[0].response_excerpt) == (
        status, error_class, excerpt)


def test_a_claim_takes_the_most_overdue_rows_together_under_one_lease(engine, clock):
    nids = [_enqueue(engine, clock, "http://127.0.0.1:9/notify", biz_ref=f"RQ-{i}") for i in range(5)]
    first = claim_due(engine, clock, limit=3)
    assert [c.id for c in first] == nids[:3] and len({c.token for c in first}) == 1
    rest = claim_due(engine, clock, limit=3)
    assert [c.id for c in rest] == nids[3:] and rest[0].token != first[0].token
    assert claim_due(engine, clock, limit=3) == []
    # The lease covers sending all three one after the other: one lease plus an attempt per further row.
    lease_us = LEASE_US + 2 * int(TOTAL_TIMEOUT_S * 1_000_000)
    clock.advance(dt.timedelta(microseconds=lease_us - 1))
    assert [c.id for c in claim_due(engine, clock, limit=5)] == nids[3:]  # the two-row claim ran out first
    clock.advance(dt.timedelta(microseconds=1))
    assert [c.id for c in claim_due(engine, clock, limit=5)] == nids[:3]


def test_a_pass_writes_a_claim_and_a_finish_per_claim_not_per_row(engine, clock, receiver, sender):
    """Each write transaction may wait for an ASYNC chunk on SQLite (see `claim_due`): 20 rows, 2 claims."""
    nids = [_enqueue(engine, clock, receiver.url, biz_ref=f"RQ-{i}") for i in range(CLAIM_ROWS + 4)]
    begun = []

    def on_begin(conn):
        begun.append(conn)

    event.listen(engine, "begin", on_begin)
    try:
        stats = run_once(engine, sender, clock, 100)
    finally:
        event.remove(engine, "begin", on_begin)
    assert (stats.delivered, stats.attempted) == (len(nids), len(nids))
    assert len(receiver.hits) == len(nids) and all(h.sign_ok for h in receiver.hits)
    writes = len(begun) - 3  # the read-only looks for due rows (`_anything_due`): before each claim and the last
    assert writes == 4, len(begun)
    for nid in nids:
        row, attempts = _row(engine, nid)
        assert row.status == "DELIVERED" and [a.outcome for a in attempts] == ["DELIVERED"]
