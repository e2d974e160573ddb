"""Real concurrent load on the engine under test: exits racing for one plan order's unmatched money
(never more than it holds), releases from several projects racing for one plan freeze, and repayments
flowing back into a plan order while its owner exits and appends at the same time."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from cunguan.custody.errors import CustodyError

from .conftest import fen

THREADS = 12


def _race(fns) -> list[object]:
    barrier = threading.Barrier(len(fns))

    def one(fn):
        barrier.wait()
        try:
            return fn()
        except CustodyError as err:
            return err

    with ThreadPoolExecutor(len(fns)) as pool:
        return list(pool.map(one, fns))


def test_exits_race_for_one_order(plan_world):
    env = plan_world
    env.purchase("PUR-1", "I1", "PLAN-A", 100)
    results = _race([lambda i=i: env.unfreeze(f"UNF-{i}", "PUR-1", 30) for i in range(THREADS)])
    ok = [r for r in results if not isinstance(r, CustodyError)]
    assert len(ok) == 3 and {r.code for r in results if isinstance(r, CustodyError)} == {"100014"}
    assert env.balance("I1") == (fen(1000), fen(10)) and env.order("PUR-1")["unmatchAmount"] == fen(10) / 100
    env.audit_clean()


def test_releases_race_for_one_plan_freeze(plan_world):
    env = plan_world
    env.purchase("PUR-1", "I1", "PLAN-A", 1000)
    for i in range(THREADS):
        env.project(f"X{i}", "B1", 300)
    results = _race([lambda i=i: env.release(f"REL-{i}", f"X{i}", [("PUR-1", 300)]) for i in range(THREADS)])
    ok = [r for r in results if not isinstance(r, CustodyError)]
    assert len(ok) == 3 and {r.code for r in results if isinstance(r, CustodyError)} == {"100014"}
    assert env.balance("I1") == (fen(100), fen(100)) and len(env.matches("PUR-1")) == 3
    env.audit_clean()
    env.custody_consistent()


def test_repayments_back_while_owner_exits_and_appends(plan_world):
    env = plan_world
    env.purchase("PUR-1", "I1", "PLAN-A", 500)
    env.release("REL-1", "R1", [("PUR-1", 500)])
    env.modify("R1", "REPAYING")
    env.fund("B1", 500)
    env.repay_freeze("RF-1", "B1", "R1", 1000)
    env.append("APP-0", "PUR-1", 200)  # 200 unmatched to exit from
    fns = [lambda i=i: env.trade(f"REP-{i}", {"tradeType": "REPAYMENT", "projectNo": "R1", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "RF-1", "targetPlatformUserNo": "I1", "amount": "110",
         "income": "10"}]}) for i in range(4)]
    fns += [lambda i=i: env.unfreeze(f"UNF-{i}", "PUR-1", 40) for i in range(4)]
    fns += [lambda i=i: env.append(f"APP-{i + 1}", "PUR-1", 10) for i in range(4)]
    results = _race(fns)
    assert not [r for r in results if isinstance(r, CustodyError)], results
    # 200 + 4 × 110 back − 4 × 40 out + 4 × 10 in
    assert env.order("PUR-1")["unmatchAmount"] * 100 == fen(520)
    assert env.balance("I1") == (fen(500) + fen(440), fen(520))
    assert env.matches("PUR-1")["R1"] == (fen(500), fen(100))
    env.audit_clean()
    env.custody_consistent()
