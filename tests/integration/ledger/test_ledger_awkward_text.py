"""Keys, refs and business types with separators, quotes, control characters, non-ASCII or empty
values go through the batched write and the key look-up intact (on PostgreSQL they travel as joined
text or, when that would be ambiguous, as binary arrays): replays are recognised, the chain verifies."""

from __future__ import annotations

import pytest

from cunguan.db import ledger_store as L
from cunguan.db.ledger_audit import audit
from cunguan.db.tx import run_in_transaction
from cunguan.ledger import Transfer

AWKWARD = ["a,b", "q'uo\"te", "back\\slash", "{brace}", "NULL", "N", "unit\x1fsep", "rec\x1esep", "\x1e",
           "tab\there", "中文键", "", " "]


@pytest.fixture
def accounts(engine):
    def setup(c):
        bank = L.open_account(c, "bank", owner_type="SYSTEM", owner_ref="bank", allow_overdraw=True)
        return bank, L.open_account(c, "u", owner_type="USER", owner_ref="u")

    return run_in_transaction(engine, setup)


def batch(bank: int, user: int, texts: list[str]) -> list[Transfer]:
    return [Transfer(bank, user, i + 1, f"BT{t}"[:40], t, key=f"K:{t}") for i, t in enumerate(texts)]


@pytest.mark.parametrize("texts", [AWKWARD, [t for t in AWKWARD if "\x1e" not in t and "\x1f" not in t], [""],
                                   ["only"]])
def test_awkward_text_round_trips_and_replays(engine, accounts, texts):
    bank, user = accounts
    ops = batch(bank, user, texts)
    first = run_in_transaction(engine, lambda c: L.apply(c, ops))
    assert all(r.ok and not r.replayed for r in first)
    again = run_in_transaction(engine, lambda c: L.apply(c, ops))
    assert [r.replayed for r in again] == [True] * len(ops)
    assert [r.posting_seq for r in again] == [r.posting_seq for r in first]
    with engine.connect() as c:
        stored = c.exec_driver_sql("SELECT idem_key, ref, biz_type FROM postings ORDER BY seq").fetchall()
    assert [tuple(r) for r in stored] == [(op.key, op.ref, op.biz_type) for op in ops]
    with engine.connect() as c:
        assert L.get_balance(c, user) == (sum(range(1, len(ops) + 1)), 0)
    assert audit(engine) == []


def test_mixed_keyed_and_unkeyed_postings(engine, accounts):
    bank, user = accounts
    ops = [Transfer(bank, user, 5, "T", "r", key=None), Transfer(bank, user, 6, "T", "r", key="k,1"),
           Transfer(bank, user, 7, "T", "r", key=None)]
    run_in_transaction(engine, lambda c: L.apply(c, ops))
    with engine.connect() as c:
        keys = [r[0] for r in c.exec_driver_sql("SELECT idem_key FROM postings ORDER BY seq")]
    assert keys == [None, "k,1", None]
    assert audit(engine) == []
