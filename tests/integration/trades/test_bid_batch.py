"""The batched freeze-order executor (`custody.bid_batch`) against the reference: the same
USER_AUTO_PRE_TRANSACTION requests run one by one through `pre_transactions.user_auto_pre_transaction`
(each in a savepoint) and through `bid_batch.user_auto_pre_transactions` in one go, from the same
committed state, give the same answer per request (code and message) and the same database, row for
row. The requests cover in-batch dependencies (a project's room and a grant's cap used up by an
earlier request, a balance spent by an earlier hold — a ledger refusal, which makes the batch judge
again), the single path in the middle (CREDIT_ASSIGNMENT, a repeated requestNo) and every kind of
refusal. Also: the statement count does not grow with the number of requests."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event

from cunguan.custody import bid_batch, debentures, pre_transactions
from cunguan.db.tx import run_in_transaction

from .conftest import P1
from .test_trades_batch import rolled_back


def _bid(no, user, project, amount, biz_type="TENDER", **extra):
    return {"requestNo": no, "platformUserNo": user, "bizType": biz_type, "amount": amount, "projectNo": project,
            **extra}


REQS = [
    _bid("Q01", "J1", "C2", "100"),
    _bid("Q02", "J1", "C2", "150"),  # J1's cap is 200: 100 used by Q01
    _bid("Q03", "J1", "C2", "100"),  # exactly the cap
    _bid("Q04", "J2", "C2", "500"),
    _bid("Q05", "J3", "C2", "1000"),  # all J3 has
    _bid("Q06", "J2", "C2", "400"),  # the project's room is 2000: 300 left after Q01-Q05
    _bid("Q07", "J4", "C2", "90"),  # J4 has 100: fits
    _bid("Q08", "J4", "C2", "20"),  # 10 left: the ledger refuses; the batch judges again
    _bid("Q09", "NOBODY", "C2", "1"),
    _bid("Q10", "SYS_GENERATE_002", "C2", "1"),
    _bid("Q11", "J5", "C2", "1"),  # not active
    _bid("Q12", "J6", "C2", "1"),  # no grant
    _bid("Q13", "J7", "C2", "1"),  # an expired grant
    _bid("Q14", "B3", "C2", "1"),  # the borrower of C2
    _bid("Q15", "J2", "NOPE", "1"),
    _bid("Q16", "J2", "R1", "1"),  # R1 is REPAYING: no TENDER
    _bid("Q17", "J2", "C2", "abc"),
    _bid("BID-1", "J2", "C2", "1"),  # a used requestNo
    _bid("Q19", "J2", "C2", "1"),
    _bid("Q19", "J2", "C2", "1"),  # repeated in the batch: alone, a duplicate
    _bid("Q21", "J8", "R1", "0.50", biz_type="CREDIT_ASSIGNMENT", share="0.50", creditsaleRequestNo="SALE-2"),
    _bid("Q22", "B", "R1", "10", biz_type="REPAYMENT"),
    _bid("Q23", "J2", "R1", "10", biz_type="REPAYMENT"),  # not R1's borrower
    _bid("Q24", "J8", "C2", "0.01"),
]
EXPECTED = [("Q01", "0"), ("Q02", "100011"), ("Q03", "0"), ("Q04", "0"), ("Q05", "0"), ("Q06", "100008"),
            ("Q07", "0"), ("Q08", "100014"), ("Q09", "100009"), ("Q10", "100008"), ("Q11", "100010"),
            ("Q12", "100011"), ("Q13", "100011"), ("Q14", "100008"), ("Q15", "100007"), ("Q16", "100015"),
            ("Q17", "100002"), ("BID-1", "100013"), ("Q19", "0"), ("Q19", "100013"), ("Q21", "0"), ("Q22", "0"),
            ("Q23", "100011"), ("Q24", "0")]


@pytest.fixture
def scene(raised):
    env = raised
    env.user("B3", role="BORROWERS")
    env.establish("C2", "B3", 2000)
    for no, funds in (("J1", 1000), ("J2", 1000), ("J3", 1000), ("J4", 100), ("J6", 100), ("J7", 100), ("J8", 100)):
        env.user(no, fund=funds)
    env.user("J5", active=False)
    env.grant("J1", "TENDER", cap="200")
    for no in ("J2", "J3", "J4", "J8"):
        env.grant(no, "TENDER")
    env.grant("J7", "TENDER", fail_date=dt.date(2026, 1, 1))
    env.grant("J8", "CREDIT_ASSIGNMENT")
    env.grant("B", "REPAYMENT")
    env.grant("J2", "REPAYMENT")
    env.fund("B", 100)
    env.run(debentures.debenture_sale, {"requestNo": "SALE-2", "platformUserNo": "I1", "projectNo": "R1",
                                        "saleShare": "100"})
    return env


def _outcome(result) -> tuple:
    if isinstance(result, dict):
        return ("0", tuple(sorted(result.items())))
    return (getattr(result, "code", type(result).__name__), getattr(result, "message", str(result)))


def _reference(conn, env, reqs):
    out = []
    for req in reqs:
        try:
            with conn.begin_nested():
                out.append(pre_transactions.user_auto_pre_transaction(conn, env.clock, P1, req))
        except Exception as exc:  # noqa: BLE001
            out.append(exc)
    return out


def _batched(conn, env, reqs):
    return bid_batch.user_auto_pre_transactions(conn, env.clock, P1, reqs)


def _run(env, runner, reqs):
    return rolled_back(env, runner, reqs, _outcome)


def test_batch_equals_one_by_one(scene):
    ref_outcomes, ref_state = _run(scene, _reference, REQS)
    assert [(r["requestNo"], o[0]) for r, o in zip(REQS, ref_outcomes, strict=True)] == EXPECTED
    got_outcomes, got_state = _run(scene, _batched, REQS)
    assert got_outcomes == ref_outcomes
    for name in ref_state:
        assert got_state[name] == ref_state[name], name


def test_every_split_agrees(scene):
    ref_outcomes, ref_state = _run(scene, _reference, REQS)
    for size in (1, 2, 5):
        def chunked(conn, env, reqs, size=size):
            return [o for start in range(0, len(reqs), size) for o in _batched(conn, env, reqs[start:start + size])]
        outcomes, state = _run(scene, chunked, REQS)
        assert outcomes == ref_outcomes, size
        assert state == ref_state, size


def test_committed_batch_is_audit_clean_and_statements_do_not_grow(scene):
    seen: list[str] = []
    listener = lambda _c, _cur, sql, *_a: seen.append(sql)  # noqa: E731

    def count(reqs) -> int:
        seen.clear()
        event.listen(scene.engine, "before_cursor_execute", listener)
        try:
            out = run_in_transaction(scene.engine, lambda c: _batched(c, scene, reqs))
        finally:
            event.remove(scene.engine, "before_cursor_execute", listener)
        assert all(isinstance(o, dict) for o in out), out
        return len(seen)

    small = count([_bid(f"S{i}", "J2", "C2", "1") for i in range(2)])
    large = count([_bid(f"L{i}", ("J2", "J3")[i % 2], "C2", "1") for i in range(20)])
    assert large == small and small <= 16, (small, large)
    scene.audit_clean()
