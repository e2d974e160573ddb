"""`db.reads.reading`: a read never holds up a writer, a write inside it never lasts, and it ends its
transaction so that the connection goes back clean — on PostgreSQL with its prepared statements kept
(psycopg drops them all at a ROLLBACK, which is how the pool used to end every request's
authentication read)."""

from __future__ import annotations

import contextlib

import psycopg.pq
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from cunguan.db import ledger_store as L
from cunguan.db.engine import create_engine
from cunguan.db.prepared import Prepared
from cunguan.db.reads import reading
from cunguan.db.tables.ledger import accounts
from cunguan.db.tx import run_in_transaction

_BALANCE = Prepared(sa.select(accounts.c.balance_fen).where(accounts.c.id == sa.bindparam("id")))


def _open(engine, code: str) -> int:
    return run_in_transaction(engine, lambda c: L.open_account(c, code, owner_type="USER", owner_ref=code))


def test_a_write_inside_a_read_never_lasts(engine, db_kind):
    account = _open(engine, "R-1")
    # PostgreSQL refuses it (READ ONLY transaction); SQLite rolls it back at the end.
    refused = pytest.raises(DBAPIError, match="read-only") if db_kind == "postgresql" else contextlib.nullcontext()
    with refused, reading(engine) as conn:
        conn.execute(accounts.update().where(accounts.c.id == account).values(balance_fen=5))
    with reading(engine) as conn:
        assert _BALANCE.first(conn, {"id": account})[0] == 0


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
                assert not driver.read_only  # the pool put the connection back as it found it
                statements = [r[0] for r in conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements")]
                assert any("balance_fen" in s for s in statements), statements
            else:
                assert driver.in_transaction is False
    finally:
        engine.dispose()
