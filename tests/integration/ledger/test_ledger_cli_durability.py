"""`cunguan audit` on a real database (exit 0 when clean, 1 with the violation printed after a row is
tampered with directly in SQL) and the durability settings every connection runs with."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cunguan.cli import app
from cunguan.db import ledger_store as L
from cunguan.db.ledger_audit import audit
from cunguan.db.tx import run_in_transaction
from cunguan.ledger import Hold, Transfer


@pytest.fixture
def ledger(engine):
    def setup(c):
        bank = L.open_account(c, "bank", owner_type="SYSTEM", owner_ref="bank", allow_overdraw=True)
        a = L.open_account(c, "a", owner_type="USER", owner_ref="a")
        b = L.open_account(c, "b", owner_type="USER", owner_ref="b")
        L.apply(c, [Transfer(bank, a, 10_000, "RECHARGE", "r1", key="k1"), Hold(a, 2_000, "f1", "bid"),
                    Transfer(a, b, 500, "TENDER", "t1", freeze_key="f1"), Transfer(bank, b, 300, "RECHARGE", "r2")])
        return {"bank": bank, "a": a, "b": b}

    return run_in_transaction(engine, setup)


def run_audit(db_url: str):
    result = CliRunner().invoke(app, ["audit", "--db", db_url])
    return result.exit_code, result.output


def tamper(engine, sql: str) -> None:
    with engine.connect() as c:
        c.exec_driver_sql(sql)
        c.commit()


def test_audit_clean_exits_zero(engine, db_url, ledger):
    code, out = run_audit(db_url)
    assert code == 0, out
    assert "audit clean" in out


def test_audit_on_an_empty_ledger_exits_zero(engine, db_url):
    code, out = run_audit(db_url)
    assert code == 0, out


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE postings SET amount_fen = amount_fen + 1 WHERE seq = 2", "AUDIT FAILED"),
        ("UPDATE accounts SET balance_fen = balance_fen + 1 WHERE code = 'b'", "balance"),
        ("UPDATE accounts SET balance_fen = balance_fen - 1 WHERE code = 'b'", "totals: sum of all account balances is -1"),
        ("UPDATE accounts SET frozen_fen = frozen_fen - 1 WHERE code = 'a'", "frozen"),
        ("UPDATE freezes SET released_fen = released_fen + 1", "frozen"),
        ("UPDATE postings SET ref = 'forged' WHERE seq = 1", "chain: posting 1 hash does not match"),
        ("DELETE FROM postings WHERE seq = 3", "AUDIT FAILED"),
        ("UPDATE ledger_chain SET last_seq = last_seq - 1", "chain head"),
    ],
)
def test_audit_fails_after_tampering(engine, db_url, ledger, sql, expected):
    assert run_audit(db_url)[0] == 0
    tamper(engine, sql)
    code, out = run_audit(db_url)
    assert code == 1, out
    assert "AUDIT FAILED" in out and expected in out.replace("\n", " "), out


def test_audit_lists_every_violation(engine, ledger):
    tamper(engine, "UPDATE accounts SET balance_fen = balance_fen - 1 WHERE code = 'b'")
    tamper(engine, "UPDATE postings SET amount_fen = amount_fen + 1 WHERE seq = 1")
    found = [str(v) for v in audit(engine)]
    assert "balance: account 3 balance 799 != postings 800" in found
    assert "balance: account 2 balance 9500 != postings 9501" in found
    assert "chain: posting 1 hash does not match its content and predecessor" in found


def test_audit_as_a_subprocess(engine, db_url, ledger):
    cmd = [str(Path(sys.executable).with_name("cunguan")), "audit", "--db", db_url]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    tamper(engine, "UPDATE postings SET amount_fen = 9999 WHERE seq = 1")
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "AUDIT FAILED" in bad.stderr + bad.stdout


def test_durability_settings(engine, db_kind):
    with engine.connect() as c:
        if db_kind == "sqlite":
            assert str(c.exec_driver_sql("PRAGMA journal_mode").scalar()).lower() == "wal"
            assert int(c.exec_driver_sql("PRAGMA synchronous").scalar()) == 2  # FULL
        else:
            assert c.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
            assert c.exec_driver_sql("SHOW fsync").scalar() == "on"
    # a write transaction on SQLite holds the write lock from its start (BEGIN IMMEDIATE): another writer
    # cannot even begin, while a deferred (read-only) begin still can
    if db_kind == "sqlite":
        other = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
        try:
            with engine.begin():
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
                other.execute("BEGIN")
                other.execute("SELECT COUNT(*) FROM accounts").fetchone()
                other.execute("ROLLBACK")
        finally:
            other.close()
