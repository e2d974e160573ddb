"""Crash safety: a writer process streams atomic batches and acknowledges each one on stdout right
after its commit returned; it is killed with SIGKILL mid-stream (several times, at random moments).
On a fresh engine afterwards every acknowledged batch is there in full, no batch is there in part,
and the audit is clean."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from cunguan.db import ledger_store as L
from cunguan.db.engine import create_engine
from cunguan.db.ledger_audit import audit
from cunguan.db.tx import run_in_transaction

WRITER = Path(__file__).with_name("ledger_load_worker.py")
BATCH_SIZE = 40
ROUNDS = 3
ACKS_BEFORE_KILL = (5, 25)
LIMIT = 10_000


def start_writer(url: str, bank: int, users: list[int], first: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, str(WRITER), url, str(bank), ",".join(map(str, users)), str(BATCH_SIZE), str(first), str(LIMIT)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def wait_for_killed_sessions(engine, timeout_s: float = 20.0) -> None:
    """PostgreSQL finishes (commits or rolls back) a killed client's transaction when it notices the
    closed socket; read only after that, so one snapshot cannot straddle it."""
    deadline = time.monotonic() + timeout_s
    with engine.connect() as c:
        while c.execute(text("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                             "AND pid <> pg_backend_pid()")).scalar():
            assert time.monotonic() < deadline, "a killed writer's session is still open"
            time.sleep(0.05)
            c.rollback()


def test_kill_9_mid_stream_loses_no_acknowledged_batch_and_leaves_no_partial_one(engine, db_url):
    def setup(c):
        bank = L.open_account(c, "bank", owner_type="SYSTEM", owner_ref="bank", allow_overdraw=True)
        return bank, [L.open_account(c, f"u{i}", owner_type="USER", owner_ref=f"u{i}") for i in range(3)]

    bank, users = run_in_transaction(engine, setup)
    engine.dispose()
    rng = random.Random()
    acked: set[int] = set()
    first = 0
    for _ in range(ROUNDS):
        proc = start_writer(db_url, bank, users, first)
        try:
            target = rng.randint(*ACKS_BEFORE_KILL)
            for n, line in enumerate(proc.stdout, start=1):
                acked.add(int(line.strip()[1:]))
                if n >= target:
                    break
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(rng.random() * 0.02)  # land somewhere inside the next batch's transaction or commit
            proc.send_signal(signal.SIGKILL)
            rest, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == -signal.SIGKILL
        acked.update(int(line[1:]) for line in rest.split())  # printed before it died: acknowledged too
        first = max(acked) + 100  # the next writer starts on fresh batch ids

    fresh = create_engine(db_url)
    try:
        if fresh.dialect.name == "postgresql":
            wait_for_killed_sessions(fresh)
        with fresh.connect() as c:
            counts = {int(ref[1:]): n for ref, n in c.execute(
                text("SELECT ref, COUNT(*) FROM postings GROUP BY ref"))}
            keyed = c.execute(text("SELECT COUNT(*) FROM postings WHERE idem_key IS NOT NULL")).scalar()
        partial = {b: n for b, n in counts.items() if n != BATCH_SIZE}
        assert partial == {}, partial
        assert acked <= set(counts), sorted(acked - set(counts))
        # a killed writer may have committed one batch it had no time to acknowledge, never more
        assert len(set(counts) - acked) <= ROUNDS
        assert keyed == BATCH_SIZE * len(counts)
        assert len(acked) >= ROUNDS * ACKS_BEFORE_KILL[0]
        assert audit(fresh) == []
    finally:
        fresh.dispose()
