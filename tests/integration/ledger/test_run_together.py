"""`db.prepared.run_together`: independent writes — one statement on PostgreSQL, one each on SQLite —
each checked against the rows it must change; a write that changes the wrong number of rows fails
the transaction, and nothing of it stays."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, event, insert, select, update

from cunguan.db.prepared import Prepared, Write, run_together
from cunguan.db.tx import run_in_transaction

pytestmark = pytest.mark.db

_meta = MetaData()
_notes = Table("rt_notes", _meta, Column("id", Integer, primary_key=True), Column("text", String(20), nullable=False))
_counts = Table("rt_counts", _meta, Column("id", Integer, primary_key=True), Column("n", Integer, nullable=False))
_ADD = Prepared(insert(_notes).values(id=bindparam("id"), text=bindparam("text")))
_BUMP = Prepared(update(_counts).where(_counts.c.id == bindparam("id")).values(n=_counts.c.n + bindparam("by")))


def test_writes_together_in_one_statement_on_postgresql(engine, db_kind):
    _meta.create_all(engine)
    run_in_transaction(engine, lambda c: c.execute(insert(_counts).values(id=1, n=0)))
    seen: list[str] = []
    listener = lambda _c, _cur, sql, *_a: seen.append(sql)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        run_in_transaction(engine, lambda c: run_together(c, [
            Write(_ADD, {"id": 7, "text": "seven"}, rows=1), None, Write(_BUMP, {"id": 1, "by": 5}, rows=1)]))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    writes = [s for s in seen if not s.startswith("BEGIN")]
    assert len(writes) == (1 if db_kind == "postgresql" else 2), writes
    with engine.connect() as c:
        assert c.execute(select(_notes.c.text)).scalars().all() == ["seven"]
        assert c.execute(select(_counts.c.n)).scalar_one() == 5


def test_a_write_that_misses_its_row_undoes_them_all(engine):
    _meta.create_all(engine)
    run_in_transaction(engine, lambda c: c.execute(insert(_counts).values(id=1, n=0)))
    with pytest.raises(AssertionError, match="0 rows changed, 1 expected"):
        run_in_transaction(engine, lambda c: run_together(c, [
            Write(_ADD, {"id": 8, "text": "eight"}, rows=1), Write(_BUMP, {"id": 2, "by": 5}, rows=1)]))
    with engine.connect() as c:
        assert c.execute(select(_notes.c.id)).scalars().all() == []
        assert c.execute(select(_counts.c.n)).scalar_one() == 0
