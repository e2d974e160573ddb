"""Storage basics around `apply`: opening accounts is idempotent, balances as of a moment, posting rows
carry each side's balance after them, and a batch touching one account many times nets out."""

from __future__ import annotations

import pytest

from cunguan.db import ledger_store as L
from cunguan.db.ledger_audit import audit
from cunguan.db.tx import run_in_transaction
from cunguan.ledger import DuplicateKey, Hold, Release, Transfer, UnknownAccount


def test_open_account_is_idempotent_and_refuses_other_attributes(engine):
    first = run_in_transaction(engine, lambda c: L.open_account(c, "u1", owner_type="USER", owner_ref="u1"))
    again = run_in_transaction(engine, lambda c: L.open_account(c, "u1", owner_type="USER", owner_ref="u1"))
    assert first == again
    for kwargs in ({"owner_type": "USER", "owner_ref": "other"}, {"owner_type": "USER", "owner_ref": "u1",
                                                                   "allow_overdraw": True},
                   {"owner_type": "USER", "owner_ref": "u1", "currency": "USD"}):
        with pytest.raises(DuplicateKey):
            run_in_transaction(engine, lambda c, kw=kwargs: L.open_account(c, "u1", **kw))
    with engine.connect() as c:
        assert L.account_ids(c, ["u1", "nope"]) == {"u1": first}
        assert L.get_balance(c, first) == (0, 0)
        with pytest.raises(UnknownAccount):
            L.get_balance(c, 987_654)


def test_balance_at_and_balances_after(engine):
    def setup(c):
        return (L.open_account(c, "bank", owner_type="SYSTEM", owner_ref="b", allow_overdraw=True),
                L.open_account(c, "u", owner_type="USER", owner_ref="u"))

    bank, u = run_in_transaction(engine, setup)
    r1 = run_in_transaction(engine, lambda c: L.apply(c, [Transfer(bank, u, 500, "T", "a")]))
    r2 = run_in_transaction(engine, lambda c: L.apply(c, [Transfer(u, bank, 200, "T", "b")]))
    with engine.connect() as c:
        rows = c.exec_driver_sql(
            "SELECT seq, debit_balance_after, credit_balance_after, created_us FROM postings ORDER BY seq").all()
        assert [r[:3] for r in rows] == [(r1[0].posting_seq, -500, 500), (r2[0].posting_seq, 300, -300)]
        t1, t2 = rows[0][3], rows[1][3]
        assert t1 <= t2
        assert L.balance_at(c, u, t1 - 1) == 0
        assert L.balance_at(c, u, t1) == 500 or t1 == t2
        assert L.balance_at(c, u, t2) == 300
        assert L.balance_at(c, bank, t2) == -300


def test_a_batch_touching_one_account_many_times_nets_out(engine):
    def setup(c):
        return (L.open_account(c, "bank", owner_type="SYSTEM", owner_ref="b", allow_overdraw=True),
                L.open_account(c, "u", owner_type="USER", owner_ref="u"),
                L.open_account(c, "v", owner_type="USER", owner_ref="v"))

    bank, u, v = run_in_transaction(engine, setup)
    ops = []
    for i in range(50):
        ops += [Transfer(bank, u, 10, "T", f"in{i}"), Hold(u, 4, f"h{i}", "x"),
                Transfer(u, v, 3, "T", f"c{i}", freeze_key=f"h{i}"), Release(f"h{i}", None, key=f"r{i}")]
    results = run_in_transaction(engine, lambda c: L.apply(c, ops))
    assert all(r.ok for r in results)
    assert [r.posting_seq for r in results if r.posting_seq is not None] == list(range(1, 101))
    with engine.connect() as c:
        assert L.get_balance(c, u) == (50 * 7, 0)
        assert L.get_balance(c, v) == (50 * 3, 0)
        assert c.exec_driver_sql("SELECT COUNT(*) FROM freezes WHERE status = 'UNFREEZED'").scalar() == 50
    assert audit(engine) == []


def test_open_accounts_in_bulk_and_refuses_an_existing_code(engine):
    from sqlalchemy.exc import IntegrityError

    specs = [(f"bulk:{i}", "USER", f"r{i}") for i in range(3)]
    ids = run_in_transaction(engine, lambda c: L.open_accounts(c, specs))
    assert sorted(ids) == [code for code, _t, _r in specs] and len(set(ids.values())) == 3
    with engine.connect() as c:
        assert all(L.get_balance(c, i) == (0, 0) for i in ids.values())
        row = L.find_account(c, "bulk:1")
        assert (row["owner_type"], row["owner_ref"], bool(row["allow_overdraw"])) == ("USER", "r1", False)
    with pytest.raises(IntegrityError):
        run_in_transaction(engine, lambda c: L.open_accounts(c, [("bulk:new", "USER", "n"), ("bulk:2", "USER", "x")]))
    with engine.connect() as c:
        assert L.find_account(c, "bulk:new") is None  # the failed bulk wrote nothing


def test_consuming_a_freeze_writes_it_with_the_postings(engine, db_kind):
    """PostgreSQL: the changed freezes, the accounts, the postings and the chain head are one statement
    (a round trip less per trade that consumes a bid); SQLite keeps one statement per table. Either way
    the freeze ends consumed and the balances follow."""
    from sqlalchemy import event

    def setup(c):
        bank = L.open_account(c, "bank", owner_type="SYSTEM", owner_ref="b", allow_overdraw=True)
        u, v = (L.open_account(c, n, owner_type="USER", owner_ref=n) for n in ("u", "v"))
        L.apply(c, [Transfer(bank, u, 100, "T", "in"), Hold(u, 60, "bid", "x")])
        return u, v

    u, v = run_in_transaction(engine, setup)
    seen: list[str] = []
    listener = lambda _c, _cur, sql, *_a: seen.append(sql)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        run_in_transaction(engine, lambda c: L.apply(c, [Transfer(u, v, 60, "T", "use", freeze_key="bid")]))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    freeze_writes = [s for s in seen if "UPDATE freezes" in s]
    assert len(freeze_writes) == 1
    together = "INSERT INTO postings" in freeze_writes[0] and "UPDATE accounts" in freeze_writes[0]
    assert together is (db_kind == "postgresql")
    with engine.connect() as c:
        assert L.get_balance(c, u) == (40, 0) and L.get_balance(c, v) == (60, 0)
        assert c.exec_driver_sql("SELECT consumed_fen, status FROM freezes WHERE key = 'bid'").one() == (60, "UNFREEZED")
    assert audit(engine) == []


def _statements(engine, work) -> list[str]:
    from sqlalchemy import event

    seen: list[str] = []
    listener = lambda _c, _cur, sql, *_a: seen.append(sql)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        run_in_transaction(engine, work)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return seen


def test_a_hold_and_a_consumption_read_their_freezes_only_under_the_locks(engine, db_kind):
    """PostgreSQL: where each op names its freeze's account, the freezes are read once, after the
    account locks (no read before to find the accounts), and a batch of holds writes the freezes and
    the accounts in one statement. The balances, the freeze and the audit are the same on both engines."""
    def setup(c):
        bank = L.open_account(c, "bank", owner_type="SYSTEM", owner_ref="b", allow_overdraw=True)
        u, v = (L.open_account(c, n, owner_type="USER", owner_ref=n) for n in ("u", "v"))
        L.apply(c, [Transfer(bank, u, 100, "T", "in")])
        return u, v

    u, v = run_in_transaction(engine, setup)
    hold = _statements(engine, lambda c: L.apply(c, [Hold(u, 60, "bid", "x")]))
    use = _statements(engine, lambda c: L.apply(c, [Transfer(u, v, 60, "T", "use", freeze_key="bid")]))
    freeze_reads = [s for s in hold + use if s.startswith("SELECT") and "FROM freezes" in s]
    if db_kind == "postgresql":
        assert len(freeze_reads) == 2  # one each, in the locking round trip
        writes = [s for s in hold if not s.startswith("SELECT")]
        assert len(writes) == 1 and "INSERT INTO freezes" in writes[0] and "UPDATE accounts" in writes[0]
    else:
        assert len(freeze_reads) == 2
    with engine.connect() as c:
        assert L.get_balance(c, u) == (40, 0) and L.get_balance(c, v) == (60, 0)
    assert audit(engine) == []


def test_a_freeze_on_another_account_is_still_seen_and_refused(engine):
    """A consumption naming a freeze held on ANOTHER account (a caller's mistake): the freeze was not
    read first, so it is found on an account not locked — that account is locked too, the freeze read
    again, and the planner refuses the mismatch; a hold of an existing key on another account likewise."""
    from cunguan.ledger.errors import LedgerError

    def setup(c):
        bank = L.open_account(c, "bank", owner_type="SYSTEM", owner_ref="b", allow_overdraw=True)
        u, v, w = (L.open_account(c, n, owner_type="USER", owner_ref=n) for n in ("u", "v", "w"))
        L.apply(c, [Transfer(bank, u, 100, "T", "in"), Transfer(bank, w, 100, "T", "in2"), Hold(u, 60, "bid", "x")])
        return u, v, w

    u, v, w = run_in_transaction(engine, setup)
    with pytest.raises(LedgerError):
        run_in_transaction(engine, lambda c: L.apply(c, [Transfer(w, v, 60, "T", "use", freeze_key="bid")]))
    with pytest.raises(LedgerError):
        run_in_transaction(engine, lambda c: L.apply(c, [Hold(w, 60, "bid", "y")]))
    with engine.connect() as c:
        assert L.get_balance(c, u) == (100, 60) and L.get_balance(c, w) == (100, 0) and L.get_balance(c, v) == (0, 0)
    assert audit(engine) == []
