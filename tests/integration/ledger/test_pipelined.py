"""`db.prepared.pipelined`: on PostgreSQL the block's statements are sent without waiting for their
results (a write's row count is unknown until the block ends), a read inside the block still sees the
writes before it, and a write that fails surfaces — at the latest when the block ends — as a
`DBAPIError` carrying its SQLSTATE, so `db.tx` retries conflicts and the transaction keeps nothing.
On SQLite the block changes nothing: each statement runs and reports at once."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.exc import DBAPIError

from cunguan.db.prepared import driver_sql, pipelined, run_sql
from cunguan.db.tx import is_retryable, run_in_transaction

pytestmark = pytest.mark.db

_meta = MetaData()
_notes = Table("pl_notes", _meta, Column("id", Integer, primary_key=True), Column("text", String(20), nullable=False))
_INSERT = "INSERT INTO pl_notes (id, text) VALUES (?, ?)"


def test_writes_are_sent_without_waiting_and_a_read_sees_them(engine, db_kind):
    _meta.create_all(engine)

    def work(c):
        with pipelined(c):
            cursors = [run_sql(c, driver_sql(c, _INSERT), (i, f"n{i}")) for i in range(1, 4)]
            counts_in_block = [cur.rowcount for cur in cursors]
            seen = run_sql(c, driver_sql(c, "SELECT count(*) FROM pl_notes")).fetchone()[0]
        return counts_in_block, seen, [cur.rowcount for cur in cursors]

    in_block, seen, after = run_in_transaction(engine, work)
    assert in_block == ([-1, -1, -1] if db_kind == "postgresql" else [1, 1, 1])
    assert seen == 3
    assert after == [1, 1, 1]
    with engine.connect() as c:
        assert c.execute(select(_notes.c.text).order_by(_notes.c.id)).scalars().all() == ["n1", "n2", "n3"]


def test_a_failed_write_is_a_database_error_with_its_sqlstate_and_nothing_stays(engine, db_kind):
    _meta.create_all(engine)

    def work(c):
        with pipelined(c):
            run_sql(c, driver_sql(c, _INSERT), (1, "first"))
            run_sql(c, driver_sql(c, _INSERT), (1, "again"))  # the primary key refuses it
            run_sql(c, driver_sql(c, _INSERT), (2, "after"))

    with pytest.raises(DBAPIError) as caught:
        run_in_transaction(engine, work, attempts=1)
    assert is_retryable(caught.value) == (db_kind == "postgresql")  # 23505 is a race there, retried by db.tx
    with engine.connect() as c:
        assert c.execute(select(_notes.c.id)).scalars().all() == []
