"""Real concurrent load on the engine under test: 16 threads bid for the last part of a project (never
oversubscribed), one requestNo replayed by 16 threads (applied once), concurrent releases of one
project's bids (each bid released once), and one requestNo in 16 concurrent batches of the batched
executor (applied once)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from cunguan.custody import trade_batch
from cunguan.custody.errors import CustodyError
from cunguan.db.tables.custody_users import custody_requests
from cunguan.db.tx import run_in_transaction

from .conftest import P1, fen

THREADS = 16


def _race(fn, n: int = THREADS) -> list[object]:
    barrier = threading.Barrier(n)

    def one(i: int):
        barrier.wait()
        try:
            return fn(i)
        except CustodyError as err:
            return err

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_sixteen_bidders_for_the_last_part(env):
    env.user("B", role="BORROWERS")
    env.user("BIG", fund=1000)
    env.establish("HOT", "B", 1000)
    env.bid("BIG-1", "BIG", "HOT", 900)  # 100.00 left
    for i in range(THREADS):
        env.user(f"I{i}", fund=100)
    results = _race(lambda i: env.bid(f"HB-{i}", f"I{i}", "HOT", 30))  # at most 3 fit
    ok = [r for r in results if not isinstance(r, CustodyError)]
    refused = [r for r in results if isinstance(r, CustodyError)]
    assert len(ok) == 3 and len(refused) == THREADS - 3
    assert {r.code for r in refused} == {"100008"}
    p = env.project("HOT")
    assert p["tender_frozen_fen"] == fen(990) <= p["project_amount_fen"]
    frozen = sum(env.balance(f"I{i}")[1] for i in range(THREADS))
    assert frozen == fen(90)
    env.audit_clean()


def _repayment_of_110(env) -> dict:
    """A repayment of 110.00 to I1 from the borrower's freeze BR on R1: the trade the replays race for."""
    env.fund("B", 1000)
    env.freeze_order("BR", "B", "R1", 1000, "REPAYMENT")
    return {"tradeType": "REPAYMENT", "projectNo": "R1", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "BR", "targetPlatformUserNo": "I1", "amount": "110",
         "income": "10"}]}


def _repaid_once(env) -> None:
    assert env.balance("I1") == (fen(400) + fen(110), 0)
    assert env.holdings("R1")["I1"] == (fen(500), 0)


def test_same_request_no_replayed_concurrently(raised):
    env = raised
    trade = _repayment_of_110(env)
    results = _race(lambda i: env.trade("SAME-1", trade))
    ok = [r for r in results if not isinstance(r, CustodyError)]
    assert len(ok) == 1
    assert {r.code for r in results if isinstance(r, CustodyError)} == {"100013"}
    _repaid_once(env)
    env.audit_clean()


def test_concurrent_releases_release_each_bid_once(env):
    env.user("B", role="BORROWERS")
    env.establish("REL", "B", 1600)
    for i in range(THREADS):
        env.user(f"I{i}", fund=100)
        env.bid(f"RB-{i}", f"I{i}", "REL", 100)
    # every thread tries to release bids i and i+1: each bid can be consumed once only
    def release(i: int):
        return env.trade(f"RT-{i}", {"tradeType": "TENDER", "projectNo": "REL", "details": [
            {"bizType": "TENDER", "freezeRequestNo": f"RB-{i}", "amount": "100"},
            {"bizType": "TENDER", "freezeRequestNo": f"RB-{(i + 1) % THREADS}", "amount": "100"}]})
    results = _race(release)
    ok = [r for r in results if not isinstance(r, CustodyError)]
    assert ok and all(r.code == "100014" for r in results if isinstance(r, CustodyError))
    p = env.project("REL")
    assert p["loan_fen"] == fen(200) * len(ok) and p["loan_fen"] + p["tender_frozen_fen"] == fen(1600)
    assert env.balance("B") == (p["loan_fen"], 0)
    assert sum(v[0] for v in env.holdings("REL").values()) == p["loan_fen"]
    env.audit_clean()


def test_same_request_no_replayed_concurrently_through_the_batched_executor(raised):
    """The batched executor reads the register and writes the requestNo's row only at its end (no claim
    first): one of 16 concurrent batches applies it, every other one answers 100013."""
    env = raised
    trade = _repayment_of_110(env)

    def batch(_i: int):
        (outcome,) = run_in_transaction(env.engine, lambda c: trade_batch.execute_trades(
            c, env.clock, P1, [("SAME-B", dict(trade))]))
        return outcome

    results = _race(batch)
    ok = [r for r in results if not isinstance(r, BaseException)]
    assert len(ok) == 1 and ok[0].request_no == "SAME-B"
    assert [r.code for r in results if isinstance(r, BaseException)] == ["100013"] * (THREADS - 1)
    _repaid_once(env)
    with env.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(custody_requests)
                            .where(custody_requests.c.request_no == "SAME-B")).scalar_one() == 1
    env.audit_clean()
