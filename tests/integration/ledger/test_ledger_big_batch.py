"""A batch of a few hundred operations (array parameters of hundreds of joined values on PostgreSQL)
writes what small batches do: every posting, each account updated once with the sum, the refused item
leaves no trace, replays are recognised, a clean audit."""

from __future__ import annotations

from cunguan.db import ledger_store as L
from cunguan.db.ledger_audit import audit
from cunguan.db.tx import run_in_transaction
from cunguan.ledger import Transfer


def test_big_batch_item_by_item(engine):
    n = 300

    def setup(c):
        bank = L.open_account(c, "bank", owner_type="SYSTEM", owner_ref="bank", allow_overdraw=True)
        users = [L.open_account(c, f"u{i}", owner_type="USER", owner_ref=f"u{i}") for i in range(50)]
        return bank, users

    bank, users = run_in_transaction(engine, setup)
    ops = [Transfer(bank, users[i % 50], 100 + i, "T", "big", key=f"big:{i}") for i in range(n)]
    ops += [Transfer(users[0], users[1], 10**12, "T", "big", key="too-much")]  # refused, leaves no trace

    results = run_in_transaction(engine, lambda c: L.apply(c, ops, atomic=False))
    assert [r.ok for r in results] == [True] * n + [False]
    with engine.connect() as c:
        for k, user in enumerate(users):
            assert L.get_balance(c, user)[0] == sum(100 + i for i in range(n) if i % 50 == k)
    again = run_in_transaction(engine, lambda c: L.apply(c, ops[:n]))
    assert all(r.replayed for r in again)
    assert audit(engine) == []
