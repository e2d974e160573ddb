"""Crash safety and concurrent runners: every detail applied exactly once, one NOTIFY per batch,
the ledger audit clean."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import async_batches_support as support
from sqlalchemy import func, select

from cunguan.clock import Clock
from cunguan.custody import async_runner, requests
from cunguan.custody.async_batches import accept
from cunguan.db.ledger_audit import audit
from cunguan.db.tables.custody_async import custody_async_batches, custody_async_details
from cunguan.db.tables.notify import notify_outbox

P = support.PLATFORM_NO
WORKER = Path(__file__).resolve().parent / "async_batches_worker.py"
USERS = [f"U{i}" for i in range(12)]


def _seed(engine, batches: int, per_batch: int) -> list[str]:
    """Funded users paying each other round the circle (so runners contend for the same accounts)."""
    support.make_users(engine, {u: support.fen("100000") for u in USERS})
    refs = []
    for b in range(batches):
        items = []
        for i in range(per_batch):
            n = b * per_batch + i
            payer, payee = USERS[n % len(USERS)], USERS[(n * 7 + 1) % len(USERS)]
            if payer == payee:
                payee = USERS[(n + 1) % len(USERS)]
            items.append(support.trade(f"R-{b}-{i}", payer, payee, f"{1 + n % 9}.{n % 100:02d}"))
            refs.append(f"R-{b}-{i}")
        accept(engine, Clock(), P, "1", {"batchNo": f"B-{b}", "bizDetails": items})
    return refs


def _status_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {s: int(n) for s, n in conn.execute(
            select(custody_async_details.c.status, func.count()).group_by(custody_async_details.c.status))}


def _assert_all_applied_once(engine, refs: list[str], batches: int) -> None:
    assert _status_counts(engine) == {"SUCCESS": len(refs)}
    assert set(support.postings_for(engine, refs).values()) == {1}
    with engine.connect() as conn:
        assert all(requests.find(conn, P, r) is not None for r in refs[:: max(1, len(refs) // 50)])
        rows = conn.execute(select(custody_async_batches.c.status, custody_async_batches.c.done_count,
                                   custody_async_batches.c.detail_count)).all()
        notes = conn.execute(select(notify_outbox.c.resp_data)).scalars().all()
    assert all(r.status == "DONE" and r.done_count == r.detail_count for r in rows) and len(rows) == batches
    assert sorted(json.loads(n)["batchNo"] for n in notes) == sorted(f"B-{b}" for b in range(batches))
    assert sum(len(json.loads(n)["details"]) for n in notes) == len(refs)
    assert sum(support.balance(engine, u) for u in USERS) == len(USERS) * support.fen("100000")
    assert audit(engine) == []


def _spawn(db_url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), db_url, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_crash_mid_batch_then_restart_finishes_exactly_once(engine, db_url, platform):
    refs = _seed(engine, batches=2, per_batch=150)
    proc = _spawn(db_url, "crash", 40, 4)  # chunks of 40; hang inside the 4th
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line.strip())
            if line.strip() == "STALL":
                break
        assert lines[-1] == "STALL", (lines, proc.stderr.read())
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    assert lines[:3] == ["CHUNK 1 40", "CHUNK 2 40", "CHUNK 3 40"]
    # the killed chunk left nothing: only the 3 committed chunks count
    assert _status_counts(engine) == {"SUCCESS": 120, "PENDING": 180}
    applied = support.postings_for(engine, refs)
    assert sum(applied.values()) == 120 and set(applied.values()) == {0, 1}
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(notify_outbox)).scalar_one() == 0
    assert audit(engine) == []

    restart = _spawn(db_url, "idle", 40)
    out, err = restart.communicate(timeout=120)
    assert restart.returncode == 0, err
    assert out.strip() == "DONE 180"
    _assert_all_applied_once(engine, refs, batches=2)


def test_concurrent_runner_threads_never_double_apply(engine, platform):
    refs = _seed(engine, batches=6, per_batch=100)
    errors: list[BaseException] = []
    totals: list[int] = []

    def runner() -> None:
        try:
            totals.append(async_runner.run_until_idle(engine, Clock(), executor=support.transfer_executor,
                                                      chunk_size=25).details)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=runner) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sum(totals) == len(refs)
    _assert_all_applied_once(engine, refs, batches=6)


def test_concurrent_runner_processes_never_double_apply(engine, db_url, platform):
    refs = _seed(engine, batches=4, per_batch=100)
    procs = [_spawn(db_url, "idle", 20) for _ in range(3)]
    done = 0
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        done += int(out.split()[-1])
    assert done == len(refs)
    _assert_all_applied_once(engine, refs, batches=4)
