"""`db.group_commit.GroupCommit` on a real database: callers that queue while a batch runs are applied
by ONE transaction of the batch function and each gets its own outcome; a refusal reaches its caller
only; a lone caller takes the single path; a failed batch leaves nothing and every item then runs
alone; a lock conflict retries the whole batch; a run of items submitted together (`submit_all`)
meets as a whole."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from cunguan.db.group_commit import GroupCommit
from cunguan.db.tx import run_in_transaction

pytestmark = pytest.mark.db


class Refused(Exception):
    pass


class Scenario:
    """Items are ints; an item is applied by inserting a row (item, how); a negative item is refused."""

    def __init__(self, engine) -> None:
        self.engine = engine
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE gc_items (item INTEGER PRIMARY KEY, how TEXT NOT NULL)"))
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.batches: list[list[int]] = []
        self.batch_failures = 0

    def one(self, item: int) -> str:
        self.entered.set()
        self.gate.wait()
        if item < 0:
            raise Refused(str(item))
        run_in_transaction(self.engine, lambda conn: conn.execute(
            text("INSERT INTO gc_items (item, how) VALUES (:i, 'alone')"), {"i": item}))
        return f"alone {item}"

    def batch(self, conn, items: list[int]) -> list:
        self.batches.append(list(items))
        out: list = []
        for item in items:
            if item < 0:
                out.append(Refused(str(item)))
                continue
            conn.execute(text("INSERT INTO gc_items (item, how) VALUES (:i, 'batch')"), {"i": item})
            out.append(f"batch {item}")
        if self.batch_failures:
            self.batch_failures -= 1
            raise RuntimeError("the batch breaks after its writes")
        return out

    def rows(self) -> dict[int, str]:
        with self.engine.connect() as conn:
            return dict(conn.execute(text("SELECT item, how FROM gc_items")).all())


def _submit_behind_a_slow_first(group: GroupCommit, scenario: Scenario, first: int, others: list[int]):
    """`first` leads alone and is held inside the single path until every one of `others` has queued."""
    scenario.gate.clear()
    pool = ThreadPoolExecutor(1 + len(others))
    futures = [pool.submit(group.submit, first)]
    assert scenario.entered.wait(10)
    deadline = time.monotonic() + 10
    futures += [pool.submit(group.submit, item) for item in others]
    while group.queued() != len(others):
        assert time.monotonic() < deadline, group.queued()
        time.sleep(0.005)
    scenario.gate.set()
    pool.shutdown(wait=True)
    return futures


def test_callers_that_queue_meanwhile_are_one_batch(engine):
    s = Scenario(engine)
    group = GroupCommit(engine, s.one, s.batch)
    futures = _submit_behind_a_slow_first(group, s, 1, [2, 3, -4, 5])
    assert futures[0].result() == "alone 1"
    assert [f.result() for f in (futures[1], futures[2], futures[4])] == ["batch 2", "batch 3", "batch 5"]
    with pytest.raises(Refused, match="-4"):
        futures[3].result()
    assert s.batches == [[2, 3, -4, 5]] and group.batches == 1
    assert s.rows() == {1: "alone", 2: "batch", 3: "batch", 5: "batch"}
    assert group.submit(6) == "alone 6" and group.queued() == 0  # nobody waiting: the single path again


def test_a_failed_batch_leaves_nothing_and_each_item_runs_alone(engine):
    s = Scenario(engine)
    s.batch_failures = 1
    group = GroupCommit(engine, s.one, s.batch)
    futures = _submit_behind_a_slow_first(group, s, 1, [2, -3, 4])
    assert [futures[i].result() for i in (0, 1, 3)] == ["alone 1", "alone 2", "alone 4"]
    with pytest.raises(Refused):
        futures[2].result()
    assert s.batches == [[2, -3, 4]] and group.batches == 0
    assert s.rows() == {1: "alone", 2: "alone", 4: "alone"}  # the batch's own writes rolled back


def test_a_lock_conflict_retries_the_whole_batch(engine):
    s = Scenario(engine)
    conflicts = [OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))]
    plain = s.batch

    def conflicting(conn, items):
        out = plain(conn, items)
        if conflicts:
            raise conflicts.pop()
        return out

    group = GroupCommit(engine, s.one, conflicting)
    futures = _submit_behind_a_slow_first(group, s, 1, [2, 3])
    assert [f.result() for f in futures] == ["alone 1", "batch 2", "batch 3"]
    assert s.batches == [[2, 3], [2, 3]] and group.batches == 1
    assert s.rows() == {1: "alone", 2: "batch", 3: "batch"}


def test_the_lead_passes_to_a_caller_that_queued(engine):
    """Many callers at once, each gets its own outcome, whatever batches formed."""
    s = Scenario(engine)
    group = GroupCommit(engine, s.one, s.batch, max_items=3)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(group.submit, range(1, 61)))
    assert [r.split()[1] for r in results] == [str(i) for i in range(1, 61)]
    assert sorted(s.rows()) == list(range(1, 61))
    assert all(len(b) <= 3 for b in s.batches)


def test_a_run_submitted_together_is_one_batch_with_an_outcome_each(engine):
    s = Scenario(engine)
    group = GroupCommit(engine, s.one, s.batch)
    outcomes = group.submit_all([1, -2, 3])
    assert outcomes[0] == "batch 1" and outcomes[2] == "batch 3"
    assert isinstance(outcomes[1], Refused)  # a refusal is returned, not raised: the others are answered
    assert s.batches == [[1, -2, 3]] and group.batches == 1
    assert group.submit_all([4]) == ["alone 4"]  # a run of one takes the single path
    assert s.rows() == {1: "batch", 3: "batch", 4: "alone"} and group.queued() == 0


def test_a_run_joins_the_callers_queued_behind_a_running_batch(engine):
    s = Scenario(engine)
    group = GroupCommit(engine, s.one, s.batch)
    s.gate.clear()
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(group.submit, 1)
        assert s.entered.wait(10)
        lone = pool.submit(group.submit, 2)
        deadline = time.monotonic() + 10
        while group.queued() != 1:
            assert time.monotonic() < deadline, group.queued()
            time.sleep(0.005)
        run = pool.submit(group.submit_all, [3, 4])
        while group.queued() != 3:
            assert time.monotonic() < deadline, group.queued()
            time.sleep(0.005)
        s.gate.set()
        assert (first.result(), lone.result(), run.result()) == ("alone 1", "batch 2", ["batch 3", "batch 4"])
    assert s.batches == [[2, 3, 4]] and group.batches == 1


def test_a_run_longer_than_a_batch_is_led_on_by_its_own_caller(engine):
    s = Scenario(engine)
    group = GroupCommit(engine, s.one, s.batch, max_items=3)
    assert group.submit_all(list(range(1, 8))) == [*(f"batch {i}" for i in range(1, 7)), "alone 7"]
    assert s.batches == [[1, 2, 3], [4, 5, 6]] and group.queued() == 0
    with ThreadPoolExecutor(8) as pool:  # runs and single callers at once: each its own outcomes
        runs = [pool.submit(group.submit_all, list(range(10 * k, 10 * k + 5))) for k in range(1, 5)]
        singles = [pool.submit(group.submit, 100 + k) for k in range(8)]
        for k, run in enumerate(runs, start=1):
            assert [int(outcome.split()[1]) for outcome in run.result()] == list(range(10 * k, 10 * k + 5))
        assert [int(f.result().split()[1]) for f in singles] == list(range(100, 108))
    assert sorted(s.rows()) == [*range(1, 8), *(i for k in range(1, 5) for i in range(10 * k, 10 * k + 5)),
                                *range(100, 108)]
    assert all(len(b) <= 3 for b in s.batches) and group.queued() == 0
