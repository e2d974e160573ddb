"""`db.reads.reading`: a read never holds up a writer, a write inside it is refused before it is sent,
and the connection goes back clean — on PostgreSQL out of autocommit and with its prepared statements
kept (psycopg drops them all at a ROLLBACK, which is how the pool used to end every request's
authentication read)."""

from __future__ import annotations

import psycopg.pq
import pytest
import sqlalchemy as sa

from cunguan.db import ledger_store as L
from cunguan.db.engine import create_engine
from cunguan.db.prepared import Prepared, run_sql
from cunguan.db.reads import ReadOnlyViolation, is_plain_read, reading
from cunguan.db.tables.ledger import accounts
from cunguan.db.tx import run_in_transaction

_BALANCE = Prepared(sa.select(accounts.c.balance_fen).where(accounts.c.id == sa.bindparam("id")))


def _open(engine, code: str) -> int:
    return run_in_transaction(engine, lambda c: L.open_account(c, code, owner_type="USER", owner_ref=code))


def test_a_write_inside_a_read_is_refused_before_it_is_sent(engine):
    account = _open(engine, "R-1")
    with pytest.raises(ReadOnlyViolation, match="UPDATE"), reading(engine) as conn:
        conn.execute(accounts.update().where(accounts.c.id == account).values(balance_fen=5))
    with pytest.raises(ReadOnlyViolation, match="FOR UPDATE"), reading(engine) as conn:  # driver-cursor path
        run_sql(conn, "SELECT id FROM accounts WHERE id = 1 FOR UPDATE")
    with reading(engine) as conn:
        assert _BALANCE.first(conn, {"id": account})[0] == 0


@pytest.mark.parametrize(("sql", "plain"), [
    ("SELECT 1", True), ("  with x as (select 1) select * from x", True), ("SHOW fsync", True), ("BEGIN", True),
    ("UPDATE accounts SET balance_fen = 0", False), ("WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d", False),
    ("SELECT pg_advisory_xact_lock(1)", False), ("SELECT nextval('s')", False), ("INSERT INTO t VALUES (1)", False),
    ("SELECT * FROM accounts FOR SHARE", False), ("VACUUM accounts", False),
])
def test_what_counts_as_a_plain_read(sql, plain):
    assert is_plain_read(sql) is plain


def test_a_read_block_leaves_no_autocommit_behind(db_url):
    """The pool hands the same connection to a writer next: its work must still be one transaction."""
    engine = create_engine(db_url, pool_size=1)
    try:
        account = _open(engine, "R-5")
        with reading(engine) as conn:
            assert _BALANCE.first(conn, {"id": account})[0] == 0

        def write_then_fail(conn):
            conn.execute(accounts.update().where(accounts.c.id == account).values(balance_fen=7))
            raise RuntimeError("undo")

        with pytest.raises(RuntimeError):
            run_in_transaction(engine, write_then_fail)
        with reading(engine) as conn:
            assert _BALANCE.first(conn, {"id": account})[0] == 0
    finally:
        engine.dispose()


def test_a_writer_commits_while_a_read_is_open(engine):
    account = _open(engine, "R-2")
    with reading(engine) as conn:
        assert _BALANCE.first(conn, {"id": account})[0] == 0
        # If the read held SQLite's write lock (or its writer gate), this would wait for it forever.
        other = _open(engine, "R-3")
    with reading(engine) as conn:
        assert _BALANCE.first(conn, {"id": other})[0] == 0


def test_reads_end_their_transaction_and_keep_prepared_statements(db_url, db_kind):
    engine = create_engine(db_url, pool_size=1)  # one connection: every read below runs on it
    try:
        account = _open(engine, "R-4")
        for _ in range(8):  # psycopg prepares a statement at its 5th run on a connection
            with reading(engine) as conn:
                assert _BALANCE.first(conn, {"id": account})[0] == 0
        with engine.connect() as conn:
            driver = conn.connection.driver_connection
            if db_kind == "postgresql":
                assert driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
                assert not driver.read_only and not driver.autocommit  # back as the pool found it
                statements = [r[0] for r in conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements")]
                assert any("balance_fen" in s for s in statements), statements
            else:
                assert driver.in_transaction is False
    finally:
        engine.dispose()
