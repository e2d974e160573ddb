"""kill -9 in the middle of an import, then import again: everything is applied exactly once.

The worker (migration_crash_worker.py) is a real process on the same database; it stops inside the
transaction of a chosen chunk (rows written, not committed) and the test SIGKILLs it there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from migration_support import P1, audit_clean, balance, counts, custody_balance, generate
from sqlalchemy import func, select

from cunguan.db.tables.migration import migration_balances, migration_runs, migration_users
from cunguan.migration import importer

WORKER = Path(__file__).with_name("migration_crash_worker.py")
USERS = 300
CHUNK = 40


def _kill_inside(db_url: str, directory: Path, file_name: str, nth: int, transfer: int | None) -> int:
    proc = subprocess.Popen([sys.executable, str(WORKER), db_url, str(directory), P1,
                             "-" if transfer is None else str(transfer), str(CHUNK), file_name, str(nth)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("BLOCKED"), (line, proc.stderr.read() if proc.poll() is not None else "")
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return int(line.split()[1])


def _run(engine, kind):
    with engine.connect() as conn:
        return conn.execute(select(migration_runs).where(migration_runs.c.kind == kind)).mappings().one()


def test_users_killed_mid_chunk_then_rerun_imports_each_user_once(engine, db_url, clock, platform, tmp_path):
    total = generate(tmp_path, USERS)
    (tmp_path / "balances.csv").unlink()
    stopped_at = _kill_inside(db_url, tmp_path, "users.csv", 3, None)
    run = _run(engine, "USERS")
    assert run["status"] == "RUNNING" and run["checkpoint_line"] == 1 + 2 * CHUNK < stopped_at
    assert counts(engine)["custody_users"] == 2 * CHUNK == run["accepted"]  # the third chunk never committed
    result = importer.import_directory(engine, clock, tmp_path, P1)
    users = result.outcome("users.csv")
    assert users.status == "IMPORTED" and "resumed after line 81" in users.message
    assert users.accepted == USERS and users.rejected == 0
    assert counts(engine)["custody_users"] == USERS == counts(engine)["migration_users"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count(func.distinct(migration_users.c.id_key)))).scalar_one() == USERS
    assert total > 0
    audit_clean(engine)


def test_balances_killed_mid_chunk_then_rerun_credit_each_balance_once(engine, db_url, clock, platform, tmp_path):
    total = generate(tmp_path, USERS)
    balances_file = tmp_path / "balances.csv"
    hidden = tmp_path / "later.csv"
    balances_file.rename(hidden)
    importer.import_directory(engine, clock, tmp_path, P1)  # the users first
    hidden.rename(balances_file)
    _kill_inside(db_url, tmp_path, "balances.csv", 4, total)
    run = _run(engine, "BALANCES")
    assert run["status"] == "RUNNING" and run["checkpoint_line"] == 1 + 3 * CHUNK
    with engine.connect() as conn:
        credited = conn.execute(select(func.count(), func.sum(migration_balances.c.amount_fen))).one()
    assert credited[0] == 3 * CHUNK and custody_balance(engine) == -int(credited[1])
    audit_clean(engine)
    again = importer.import_directory(engine, clock, tmp_path, P1, transfer_fen=total)
    bal = again.outcome("balances.csv")
    assert bal.status == "IMPORTED" and bal.total_fen == total and bal.accepted == USERS
    assert counts(engine)["migration_balances"] == USERS and custody_balance(engine) == -total
    assert balance(engine, "M00000000") == 100 and balance(engine, f"M{USERS - 1:08d}") > 0
    third = importer.import_directory(engine, clock, tmp_path, P1, transfer_fen=total)
    assert [f.status for f in third.files] == ["ALREADY_IMPORTED", "ALREADY_IMPORTED"]
    assert custody_balance(engine) == -total
    audit_clean(engine)
