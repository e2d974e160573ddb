"""A transfer whose key another transaction is writing waits for that transaction's locks, then sees
its committed posting and answers with a replay: the key look-up runs after the locks are held, in a
snapshot of its own (no unique-key error, so no retry is needed to get the right answer)."""

from __future__ import annotations

import threading
import time

from cunguan.db import ledger_store as L
from cunguan.db.ledger_audit import audit
from cunguan.db.tx import run_in_transaction
from cunguan.ledger import Transfer


def test_a_waiting_transfer_replays_the_committed_one(engine):
    def setup(c):
        bank = L.open_account(c, "rw:bank", owner_type="BANK", owner_ref="b", allow_overdraw=True)
        user = L.open_account(c, "rw:user", owner_type="USER", owner_ref="u")
        return bank, user

    bank, user = run_in_transaction(engine, setup)
    op = Transfer(bank, user, 500, "RECHARGE", "r", key="rw:k1")
    second: dict[str, object] = {}
    started = threading.Event()

    def racer() -> None:
        started.set()
        try:
            with engine.begin() as conn:  # no retry: the first answer must already be the replay
                second["results"] = L.apply(conn, [op])
        except Exception as exc:  # noqa: BLE001
            second["error"] = repr(exc)

    with engine.begin() as conn:
        (first,) = L.apply(conn, [op])
        thread = threading.Thread(target=racer)
        thread.start()
        started.wait(10)
        time.sleep(0.3)  # let the racer reach the locks this transaction holds
        assert thread.is_alive()
    thread.join(30)
    assert not thread.is_alive() and "error" not in second, second
    (res,) = second["results"]
    assert first.ok and not first.replayed
    assert res.ok and res.replayed and res.posting_seq == first.posting_seq
    with engine.connect() as conn:
        assert L.get_balance(conn, user) == (500, 0)
    assert audit(engine) == []
