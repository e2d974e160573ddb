"""The ledger under real concurrent load, on the engine under test: 8 workers as threads sharing one
engine, and 8 as spawned processes each with its own engine, hammer a few accounts (one of them hot)
with random transfers, holds, releases, consuming transfers, batches and replays of keys shared by
all workers. Afterwards: no lost update (every balance and frozen amount equals what the results the
workers got back imply), nothing negative, each shared key moved money once, no lock error, deadlock
or serialization failure reached a worker (only success or typed ledger errors), audit clean."""

from __future__ import annotations

import importlib
import multiprocessing
import sys
import threading
from collections import Counter
from pathlib import Path

from cunguan.db.ledger_audit import audit

sys.path.insert(0, str(Path(__file__).parent))
W = importlib.import_module("ledger_load_worker")

WORKERS = 8
BATCHES = 30
USERS = 3
FUNDING_FEN = 20_000


def check(engine, ids: dict[str, int], records: list[tuple]) -> None:
    unexpected = [r for r in records if r[0] == "unexpected"]
    assert unexpected == [], unexpected[:5]
    balance = {a: 0 for a in ids.values()}
    frozen = {a: 0 for a in ids.values()}
    for name, acc in ids.items():
        if name != "bank":
            balance[acc] += FUNDING_FEN
            balance[ids["bank"]] -= FUNDING_FEN
    freeze_account: dict[str, int] = {}
    for rec in records:  # holds first: a release or consumption may be recorded by another worker
        for t in rec[2]:
            if t[0] == "H":
                freeze_account[t[3]] = t[1]
    moved = Counter()
    codes = Counter()
    applied = 0
    for rec in records:
        if rec[0] == "refused":
            codes[rec[3]] += 1
            continue
        _, _atomic, ops, results = rec
        for t, (ok, code, amount, replayed) in zip(ops, results, strict=True):
            if not ok:
                codes[code] += 1
                continue
            if replayed:
                codes["replayed"] += 1
                continue
            applied += 1
            if t[0] == "T":
                _, debit, credit, amt, fkey, key = t
                assert amount == amt
                balance[debit] -= amt
                balance[credit] += amt
                if fkey is not None:
                    frozen[debit] -= amt
                if key is not None and key.startswith("shared"):
                    moved[key] += 1
            elif t[0] == "H":
                frozen[t[1]] += t[2]
                if t[3].startswith("shared"):
                    moved[t[3]] += 1
            else:
                frozen[freeze_account[t[1]]] -= amount
    assert applied > WORKERS * BATCHES // 2, codes  # the load did real work
    assert all(n == 1 for n in moved.values()), moved  # a key moves money once, whoever sends it
    with engine.connect() as c:
        rows = {int(i): (int(b), int(f)) for i, b, f in c.exec_driver_sql("SELECT id, balance_fen, frozen_fen FROM accounts")}
        shared = dict(c.exec_driver_sql(
            "SELECT idem_key, COUNT(*) FROM postings WHERE substr(idem_key, 1, 6) = 'shared' GROUP BY idem_key").all())
    assert rows == {a: (balance[a], frozen[a]) for a in ids.values()}, (rows, balance, frozen)
    assert sum(b for b, _ in rows.values()) == 0
    for name, acc in ids.items():
        b, f = rows[acc]
        assert f >= 0 and (name == "bank" or 0 <= f <= b)
    assert all(n == 1 for n in shared.values()) and set(shared) == {k for k in moved if k.startswith("shared-t")}
    assert audit(engine) == []


def test_threads_hammering_a_hot_account(engine):
    ids = W.setup_accounts(engine, USERS, FUNDING_FEN)
    barrier = threading.Barrier(WORKERS)
    out: dict[int, list] = {}

    def run(wid: int) -> None:
        try:
            out[wid] = W.run_worker(engine, wid, ids, BATCHES, seed=1000 + wid, start=lambda: barrier.wait(timeout=60))
        except Exception as exc:  # noqa: BLE001
            out[wid] = [("unexpected", repr(exc))]

    threads = [threading.Thread(target=run, args=(wid,)) for wid in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not any(t.is_alive() for t in threads)
    assert sorted(out) == list(range(WORKERS))
    check(engine, ids, [r for wid in sorted(out) for r in out[wid]])


def test_processes_hammering_a_hot_account(engine, db_url):
    ids = W.setup_accounts(engine, USERS, FUNDING_FEN)
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [ctx.Process(target=W.process_main, args=(db_url, wid, ids, BATCHES, 2000 + wid, barrier, queue))
             for wid in range(WORKERS)]
    for p in procs:
        p.start()
    try:
        out = dict(queue.get(timeout=240) for _ in procs)
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0] * WORKERS
    check(engine, ids, [r for wid in sorted(out) for r in out[wid]])
