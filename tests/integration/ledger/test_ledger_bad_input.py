"""Bad input through `ledger_store.apply` on a real database: each typed error comes back and nothing
was written (postings, freezes, idempotency rows, balances and the chain head all unchanged)."""

from __future__ import annotations

import pytest

from cunguan.db import ledger_store as L
from cunguan.db.ledger_audit import audit
from cunguan.db.tx import run_in_transaction
from cunguan.ledger import (
    BadAmount,
    CurrencyMismatch,
    DuplicateKey,
    FreezeAccountMismatch,
    Hold,
    InsufficientAvailable,
    InsufficientFrozen,
    LedgerError,
    Release,
    SameAccount,
    Transfer,
    UnknownAccount,
    UnknownFreeze,
)
from cunguan.money import MAX_FEN


@pytest.fixture
def book(engine):
    """bank (overdraw) -> A 10_100 with 3_000 held under 'fA', B 500, C 0, D 0, a USD account; plus one
    transfer key 'k1' and one release key 'rk1' already used."""

    def setup(c):
        ids = {
            "bank": L.open_account(c, "bank", owner_type="SYSTEM", owner_ref="bank", allow_overdraw=True),
            "A": L.open_account(c, "A", owner_type="USER", owner_ref="a"),
            "B": L.open_account(c, "B", owner_type="USER", owner_ref="b"),
            "C": L.open_account(c, "C", owner_type="USER", owner_ref="c"),
            "D": L.open_account(c, "D", owner_type="USER", owner_ref="d"),
            "usd": L.open_account(c, "usd", owner_type="USER", owner_ref="u", currency="USD"),
            "usdbank": L.open_account(c, "usdbank", owner_type="SYSTEM", owner_ref="u", currency="USD",
                                      allow_overdraw=True),
        }
        L.apply(c, [
            Transfer(ids["bank"], ids["A"], 10_100, "RECHARGE", "r", key="k1"),
            Transfer(ids["bank"], ids["B"], 500, "RECHARGE", "r"),
            Transfer(ids["usdbank"], ids["usd"], 900, "RECHARGE", "r"),
            Hold(ids["A"], 3_100, "fA", "bid"),
            Release("fA", 100, key="rk1"),
            Hold(ids["B"], 100, "fB", "bid"),
            Release("fB", None),
        ])
        return ids

    return run_in_transaction(engine, setup)


def state(engine):
    with engine.connect() as c:
        q = c.exec_driver_sql
        return {
            "postings": q("SELECT COUNT(*) FROM postings").scalar(),
            "freezes": q("SELECT id, key, consumed_fen, released_fen, status FROM freezes ORDER BY id").all(),
            "idem": q("SELECT COUNT(*) FROM idempotency").scalar(),
            "accounts": q("SELECT id, balance_fen, frozen_fen FROM accounts ORDER BY id").all(),
            "head": tuple(q("SELECT last_seq, last_hash FROM ledger_chain").one()),
        }


def cases(ids):
    A, B, C, bank, usd = ids["A"], ids["B"], ids["C"], ids["bank"], ids["usd"]
    return [
        (Transfer(A, B, 7_101, "T", "x", key="n1"), InsufficientAvailable),
        (Transfer(C, B, 1, "T", "x"), InsufficientAvailable),
        (Hold(A, 7_101, "n2", "x"), InsufficientAvailable),
        (Transfer(A, B, 3_001, "T", "x", freeze_key="fA"), InsufficientFrozen),
        (Release("fA", 3_001, key="n3"), InsufficientFrozen),
        (Release("fB", None, key="n3b"), InsufficientFrozen),
        (Transfer(A, 999_999, 1, "T", "x"), UnknownAccount),
        (Hold(999_999, 1, "n4", "x"), UnknownAccount),
        (Release("nope", 1, key="n5"), UnknownFreeze),
        (Transfer(A, B, 1, "T", "x", freeze_key="nope"), UnknownFreeze),
        (Transfer(bank, A, 10_101, "RECHARGE", "r", key="k1"), DuplicateKey),  # key reused, other amount
        (Transfer(bank, B, 10_100, "RECHARGE", "r", key="k1"), DuplicateKey),  # key reused, other account
        (Hold(A, 1, "fA", "x"), DuplicateKey),  # freeze key reused for another hold
        (Release("fA", 99, key="rk1"), DuplicateKey),  # release key reused for another release
        (Transfer(A, B, 0, "T", "x"), BadAmount),
        (Transfer(A, B, -5, "T", "x"), BadAmount),
        (Transfer(bank, C, MAX_FEN + 1, "T", "x"), BadAmount),
        (Hold(A, 0, "n6", "x"), BadAmount),
        (Release("fA", -1), BadAmount),
        (Transfer(A, A, 1, "T", "x"), SameAccount),
        (Transfer(A, usd, 1, "T", "x"), CurrencyMismatch),
        (Transfer(A, B, 1, "T", "x", currency="USD"), CurrencyMismatch),
        (Transfer(B, C, 1, "T", "x", freeze_key="fA"), FreezeAccountMismatch),
    ]


def test_each_typed_error_writes_nothing(engine, book):
    before = state(engine)
    for op, error in cases(book):
        # atomic: the error propagates out of the transaction (which rolls back)
        with pytest.raises(error) as info:
            run_in_transaction(engine, lambda c, op=op: L.apply(c, [Transfer(book["bank"], book["D"], 7, "T", "ok"), op]))
        assert info.value.index == 1, op
        assert state(engine) == before, op
        # item by item: the refusal is a result; committing the transaction writes nothing either
        (res,) = run_in_transaction(engine, lambda c, op=op: L.apply(c, [op], atomic=False))
        assert not res.ok and isinstance(res.error, error) and res.error.index == 0, op
        assert state(engine) == before, op
    assert audit(engine) == []


def test_item_by_item_writes_only_the_accepted(engine, book):
    before = state(engine)
    bad = [op for op, _ in cases(book)]
    good = Transfer(book["bank"], book["C"], 7, "T", "ok", key="good")
    results = run_in_transaction(engine, lambda c: L.apply(c, [*bad[:5], good, *bad[5:]], atomic=False))
    assert [r.ok for r in results] == [False] * 5 + [True] + [False] * (len(bad) - 5)
    after = state(engine)
    assert after["postings"] == before["postings"] + 1
    assert after["freezes"] == before["freezes"] and after["idem"] == before["idem"]
    with engine.connect() as c:
        assert L.get_balance(c, book["C"]) == (7, 0)
        assert L.get_balance(c, book["A"]) == (10_100, 3_000)
    assert audit(engine) == []


def test_overdraw_account_cannot_underflow_64_bits(engine, book):
    """An overdraw account is bounded by the column too: a typed error, not a database error or a float."""
    run_in_transaction(engine, lambda c: L.apply(c, [Transfer(book["bank"], book["C"], MAX_FEN - 10_600, "T", "x")]))
    before = state(engine)
    with engine.connect() as c:
        assert L.get_balance(c, book["bank"]) == (-MAX_FEN, 0)
    with pytest.raises(BadAmount):
        run_in_transaction(engine, lambda c: L.apply(c, [Transfer(book["bank"], book["B"], 2, "T", "x")]))
    assert state(engine) == before
    assert audit(engine) == []


def test_replays_return_the_original_outcome_and_write_nothing(engine, book):
    before = state(engine)
    A, bank = book["A"], book["bank"]
    ops = [Transfer(bank, A, 10_100, "RECHARGE", "r", key="k1"), Hold(A, 3_100, "fA", "bid"),
           Release("fA", 100, key="rk1")]
    for atomic in (True, False):
        results = run_in_transaction(engine, lambda c, atomic=atomic: L.apply(c, ops, atomic=atomic))
        assert [(r.ok, r.replayed) for r in results] == [(True, True)] * 3
        assert results[0].posting_seq == 1 and results[0].amount_fen == 10_100
        assert results[1].freeze_key == "fA" and results[1].freeze_id is not None
        assert results[2].amount_fen == 100 and results[2].freeze_key == "fA"
        assert results[2].freeze_id == results[1].freeze_id
        assert state(engine) == before


def test_typed_errors_are_ledger_errors_with_codes():
    for _, error in cases({k: 1 for k in ("A", "B", "C", "bank", "usd")}):
        assert issubclass(error, LedgerError) and error.code != LedgerError.code
