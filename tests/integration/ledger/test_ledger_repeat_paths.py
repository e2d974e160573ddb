"""Repeats of stored posting keys, on both engines. On PostgreSQL `apply` first plans without looking the
keys up and falls back when a key turns out to be stored (the insert's unique violation, or a refusal
that may really be a replay): these are the paths that fallback must get right."""

from __future__ import annotations

import pytest

from cunguan.db import ledger_store as L
from cunguan.db.ledger_audit import audit
from cunguan.db.tx import run_in_transaction
from cunguan.ledger import DuplicateKey, InsufficientAvailable, Transfer


@pytest.fixture()
def accounts(engine):
    def setup(c):
        bank = L.open_account(c, "bank", owner_type="SYSTEM", owner_ref="b", allow_overdraw=True)
        a = L.open_account(c, "a", owner_type="USER", owner_ref="a")
        b = L.open_account(c, "b", owner_type="USER", owner_ref="b")
        L.apply(c, [Transfer(bank, a, 1_000, "FUND", "fund")])
        return a, b

    return run_in_transaction(engine, setup)


def _postings(engine) -> int:
    with engine.connect() as c:
        return int(c.exec_driver_sql("SELECT count(*) FROM postings").scalar_one())


def test_a_committed_batch_repeated_replays_and_writes_nothing(engine, accounts):
    a, b = accounts
    batch = [Transfer(a, b, 100, "T", "r1", key="k1"), Transfer(a, b, 50, "T", "r1", key="k2")]
    first = run_in_transaction(engine, lambda c: L.apply(c, batch))
    before = _postings(engine)
    again = run_in_transaction(engine, lambda c: L.apply(c, batch))
    assert [r.replayed for r in again] == [True, True]
    assert [r.posting_seq for r in again] == [r.posting_seq for r in first]
    assert _postings(engine) == before
    with engine.connect() as c:
        assert L.get_balance(c, a) == (850, 0)
    assert audit(engine) == []


def test_new_and_repeated_keys_mixed_in_one_batch(engine, accounts):
    a, b = accounts
    run_in_transaction(engine, lambda c: L.apply(c, [Transfer(a, b, 100, "T", "r", key="old")]))
    mixed = [Transfer(a, b, 100, "T", "r", key="old"), Transfer(a, b, 7, "T", "r", key="new")]
    results = run_in_transaction(engine, lambda c: L.apply(c, mixed))
    assert [(r.ok, r.replayed) for r in results] == [(True, True), (True, False)]
    with engine.connect() as c:
        assert L.get_balance(c, b) == (107, 0)
    assert audit(engine) == []


def test_a_repeat_replays_even_when_the_money_is_gone_since(engine, accounts):
    a, b = accounts
    run_in_transaction(engine, lambda c: L.apply(c, [Transfer(a, b, 900, "T", "r", key="big")]))
    run_in_transaction(engine, lambda c: L.apply(c, [Transfer(a, b, 100, "T", "r", key="rest")]))
    # `a` is empty now: planned without the stored keys, the repeat would look like a refusal
    again = run_in_transaction(engine, lambda c: L.apply(c, [Transfer(a, b, 900, "T", "r", key="big")],
                                                         atomic=False))
    assert again[0].ok and again[0].replayed
    with pytest.raises(InsufficientAvailable):
        run_in_transaction(engine, lambda c: L.apply(c, [Transfer(a, b, 1, "T", "r", key="fresh")]))
    assert audit(engine) == []


def test_a_stored_key_with_another_operation_is_a_duplicate(engine, accounts):
    a, b = accounts
    run_in_transaction(engine, lambda c: L.apply(c, [Transfer(a, b, 10, "T", "r", key="k")]))
    with pytest.raises(DuplicateKey):
        run_in_transaction(engine, lambda c: L.apply(c, [Transfer(a, b, 11, "T", "r", key="k"),
                                                         Transfer(a, b, 1, "T", "r", key="k-other")]))
    with engine.connect() as c:
        assert L.get_balance(c, b) == (10, 0)
    assert audit(engine) == []
