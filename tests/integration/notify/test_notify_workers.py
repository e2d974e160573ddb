"""Two workers (threads, each with its own HTTP client) drain one outbox concurrently: every row is
delivered exactly once, counted at the receiver."""

from __future__ import annotations

import collections
import threading

from cunguan.db.tx import run_in_transaction
from cunguan.notify import outbox
from cunguan.notify.delivery import HttpSender, run_once

from .conftest import PLATFORM

ROWS = 40


def test_two_workers_never_deliver_the_same_row_twice(engine, clock, receiver, signer):
    receiver.delay_s = 0.003  # keep each attempt in flight long enough for the workers to overlap
    run_in_transaction(engine, lambda c: [outbox.enqueue(
        c, platform_no=PLATFORM, service_name="ASYNC_TRANSACTION", notify_url=receiver.url,
        resp_data={"batchNo": f"B{i}", "status": "SUCCESS"}, key_serial="1", biz_ref=f"B{i}", clock=clock)
        for i in range(ROWS)])

    barrier = threading.Barrier(2)
    delivered = [0, 0]
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        sender = HttpSender(signer)
        try:
            barrier.wait(5)
            while True:
                stats = run_once(engine, sender, clock, 5)
                delivered[n] += stats.delivered
                assert stats.retrying == stats.failed == 0
                if stats.attempted == 0:
                    return
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            sender.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors

    per_row = collections.Counter(h.form["respData"] for h in receiver.hits)
    assert len(per_row) == ROWS and set(per_row.values()) == {1}
    assert all(h.sign_ok for h in receiver.hits)
    assert sum(delivered) == ROWS and min(delivered) > 0, delivered
    with engine.connect() as conn:
        assert outbox.count_by_status(conn) == {"PENDING": 0, "DELIVERED": ROWS, "FAILED": 0}
        assert all(len(outbox.attempts_for(conn, n.id)) == 1
                   for n in outbox.list_notifications(conn, statuses=("DELIVERED",), limit=ROWS))
