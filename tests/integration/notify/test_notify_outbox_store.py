"""The outbox commits with the caller's transaction or not at all; operators list and re-queue rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cunguan.db.tables.notify import notify_outbox
from cunguan.db.tx import run_in_transaction
from cunguan.notify import outbox
from cunguan.notify.payload import PayloadError

from .conftest import PLATFORM, START

URL = "http://127.0.0.1:9/notify"
START_US = int(START.timestamp()) * 1_000_000


def _enqueue(conn, clock, *, platform_no=PLATFORM, biz_ref="R1", **extra):
    args = dict(platform_no=platform_no, service_name="RECHARGE", notify_url=URL, key_serial=1,
                resp_data={"requestNo": biz_ref, "amount": Decimal("100.50"), "status": "SUCCESS"},
                biz_ref=biz_ref, clock=clock)
    args.update(extra)
    return outbox.enqueue(conn, **args)


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(notify_outbox)).scalar_one()


def test_enqueue_commits_with_the_transaction_and_stores_the_exact_text(engine, clock):
    nid = run_in_transaction(engine, lambda c: _enqueue(c, clock))
    with engine.connect() as conn:
        row = outbox.get(conn, nid)
    assert row.status == outbox.PENDING and row.attempt_count == 0
    assert row.resp_data == '{"requestNo":"R1","amount":100.50,"status":"SUCCESS"}'
    assert row.key_serial == "1" and row.response_type == "NOTIFY" and row.biz_ref == "R1"
    assert row.created_us == row.next_attempt_us == START_US
    assert row.deadline_us == START_US + 24 * 3600 * 1_000_000


class Boom(Exception):
    pass


def test_enqueue_rolls_back_with_its_transaction(engine, clock):
    def work(conn):
        _enqueue(conn, clock)
        raise Boom()

    with pytest.raises(Boom):
        run_in_transaction(engine, work)
    assert _count(engine) == 0


@pytest.mark.parametrize(("extra", "error"), [
    ({"resp_data": {"amount": 1.5}}, PayloadError),
    ({"notify_url": "ftp://example.com/x"}, outbox.NotifyError),
    ({"notify_url": "/relative"}, outbox.NotifyError),
    ({"platform_no": ""}, outbox.NotifyError),
    ({"response_type": "PUSH"}, outbox.NotifyError),
    ({"biz_ref": "x" * 97}, outbox.NotifyError),
])
def test_bad_notifications_are_refused_and_write_nothing(engine, clock, extra, error):
    with pytest.raises(error):
        run_in_transaction(engine, lambda c: _enqueue(c, clock, **extra))
    assert _count(engine) == 0


def test_list_filters_by_platform_and_status_and_resend_requeues(engine, clock):
    ids = run_in_transaction(engine, lambda c: [
        _enqueue(c, clock, biz_ref="A"), _enqueue(c, clock, platform_no="6000000002", biz_ref="B"),
        _enqueue(c, clock, biz_ref="C")])
    with engine.begin() as conn:  # make C dead and A delivered, as the worker would
        conn.execute(notify_outbox.update().where(notify_outbox.c.id == ids[2]).values(status="FAILED"))
        conn.execute(notify_outbox.update().where(notify_outbox.c.id == ids[0]).values(status="DELIVERED"))
    with engine.connect() as conn:
        undelivered = outbox.list_notifications(conn)
        assert [n.biz_ref for n in undelivered] == ["B", "C"]
        assert [n.biz_ref for n in outbox.list_notifications(conn, platform_no=PLATFORM)] == ["C"]
        assert [n.biz_ref for n in outbox.list_notifications(conn, statuses=("DELIVERED",))] == ["A"]
        assert outbox.count_by_status(conn) == {"PENDING": 1, "DELIVERED": 1, "FAILED": 1}
        with pytest.raises(outbox.NotifyError):
            outbox.list_notifications(conn, statuses=("LOST",))

    clock.advance(dt.timedelta(days=3))
    row = run_in_transaction(engine, lambda c: outbox.resend(c, ids[2], clock))
    now_us = START_US + 3 * 86_400 * 1_000_000
    assert row.status == outbox.PENDING and row.next_attempt_us == now_us
    assert row.deadline_us == now_us + 86_400 * 1_000_000
    with pytest.raises(outbox.NotResendable):
        run_in_transaction(engine, lambda c: outbox.resend(c, ids[0], clock))
    with pytest.raises(outbox.NotificationNotFound):
        run_in_transaction(engine, lambda c: outbox.resend(c, 999_999, clock))
