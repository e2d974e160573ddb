"""The scheduler loop that `cunguan serve` runs in a thread: it runs a due rule once and sends the SMS."""

import time

from cunguan.notify.sms import MemorySmsSink
from cunguan.sweep.background import start_background
from cunguan.sweep.rules import create_rule

from .conftest import set_day


def test_sweep_background_loop_runs_due_rule_once_and_sends_sms(ctx, cust, other, clock):
    create_rule(ctx, cust.customer.id, other_account_id=other.id, collecting_account_id=cust.card.id,
                mode="FULL", amount_fen=None, cycle=5)
    set_day(clock, 2026, 12, 5)
    sink = MemorySmsSink()
    stop = start_background(ctx, sink, interval_s=1)
    try:
        deadline = time.monotonic() + 20
        while not sink.sent and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)  # at least one more tick: it must not run the rule again
    finally:
        stop()
    assert len(sink.sent) == 1, sink.sent
    mobile, body = sink.sent[0]
    assert mobile == cust.customer.mobile
    with ctx.engine.connect() as conn:
        runs = conn.exec_driver_sql("SELECT count(*) FROM sweep_runs").scalar()
    assert runs == 1
