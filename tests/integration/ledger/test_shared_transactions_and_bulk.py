"""`db.tx.SharedTransaction` (group commit: operations in savepoints of one transaction) and `db.bulk`
(many rows in one statement), on both engines."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from cunguan.db import bulk
from cunguan.db.prepared import driver_sql, in_list, run_sql
from cunguan.db.tx import SharedTransaction, run_in_transaction

pytestmark = pytest.mark.db

_meta = sa.MetaData()
notes = sa.Table("test_shared_notes", _meta, sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
                 sa.Column("text", sa.String(20), nullable=False), sa.Column("n", sa.BigInteger, nullable=False),
                 sa.Column("flag", sa.Boolean, nullable=False))
parents = sa.Table("test_shared_parents", _meta, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False))
children = sa.Table("test_shared_children", _meta, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("parent", sa.Integer, sa.ForeignKey("test_shared_parents.id", deferrable=True,
                                                                  initially="DEFERRED"), nullable=False))


@pytest.fixture
def tables(engine):
    _meta.create_all(engine)
    yield
    _meta.drop_all(engine)


def _add(note_id: int, text: str = "x"):
    def work(conn):
        conn.execute(notes.insert().values(id=note_id, text=text, n=note_id, flag=False))
        return note_id
    return work


def _ids(engine) -> list[int]:
    """What another reader sees (SQLite: a deferred read, which does not queue for the write lock)."""
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_deferred=True)
        ids = list(conn.execute(sa.select(notes.c.id).order_by(notes.c.id)).scalars())
        conn.rollback()
        return ids


class Refused(Exception):
    pass


def test_joined_operations_commit_once_and_a_refused_one_leaves_no_trace(engine, tables):
    shared = SharedTransaction(engine)

    def refused(conn):
        conn.execute(notes.insert().values(id=2, text="gone", n=2, flag=False))
        raise Refused

    with shared.current():
        assert run_in_transaction(engine, _add(1), grouped=True) == 1
        with pytest.raises(Refused):
            run_in_transaction(engine, refused, grouped=True)
        assert run_in_transaction(engine, _add(3), grouped=True) == 3
        assert _ids(engine) == []  # nothing is visible outside before the commit
    assert shared.joined == 2
    shared.commit()
    assert _ids(engine) == [1, 3]


def test_without_a_current_shared_transaction_grouped_work_runs_alone(engine, tables):
    shared = SharedTransaction(engine)
    seen: list[int] = []
    with shared.current():
        worker = threading.Thread(target=lambda: seen.append(run_in_transaction(engine, _add(7), grouped=True)))
        worker.start()
        worker.join()  # another thread: its own transaction, committed at once
        assert _ids(engine) == [7] and shared.joined == 0
    run_in_transaction(engine, _add(8), grouped=True)  # no longer current here either
    assert _ids(engine) == [7, 8] and seen == [7]
    shared.commit()  # nothing joined: nothing to do


def test_a_failed_commit_makes_nothing_of_the_group_durable(engine, tables):
    with engine.begin() as conn:
        conn.execute(parents.insert().values(id=1))
    shared = SharedTransaction(engine)

    def orphan(conn):  # a deferred constraint: refused only at COMMIT
        conn.execute(children.insert().values(id=1, parent=99))

    with shared.current():
        run_in_transaction(engine, _add(1), grouped=True)
        run_in_transaction(engine, orphan, grouped=True)
    with pytest.raises(DBAPIError):
        shared.commit()
    assert _ids(engine) == []
    run_in_transaction(engine, _add(1))  # the engine is usable afterwards
    assert _ids(engine) == [1]


def test_bulk_insert_and_update_with_increments_and_a_guard(engine, tables):
    with engine.begin() as conn:
        bulk.insert_rows(conn, notes, ("id", "text", "n", "flag"), [(1, "a", 10, False), (2, "b", 20, True),
                                                                    (3, "c", 30, False)])
        bulk.insert_rows(conn, notes, ("id", "text", "n", "flag"), [])
        changed = bulk.update_rows(conn, notes, "id", ("n", "text"), [(5, "A", 1), (7, "B", 2)], add=("n",))
        assert changed == 2
        guarded = bulk.update_rows(conn, notes, "id", ("text",), [("Z", 1), ("Z", 3)], only_if=("text", "A"))
        assert guarded == 1  # row 3's text is "c": the guard kept it
        assert bulk.update_rows(conn, notes, "id", ("n",), []) == 0
    with engine.connect() as conn:
        rows = conn.execute(sa.select(notes.c.id, notes.c.text, notes.c.n, notes.c.flag).order_by(notes.c.id)).all()
    assert [tuple(r) for r in rows] == [(1, "Z", 15, False), (2, "B", 27, True), (3, "c", 30, False)]


texts = sa.Table("test_bulk_texts", _meta, sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
                 sa.Column("text", sa.String(20), nullable=True), sa.Column("n", sa.BigInteger, nullable=True),
                 sa.Column("flag", sa.Boolean, nullable=True))
AWKWARD = [(1, "", 0, True), (2, None, None, None), (3, "a\x1fb", -5, False), (4, "\x1e", 2**62, True),
           (5, "N", 7, None), (6, "逗号,和\"引号\"", 8, False)]
"""Values the joined-text arrays (`db.pg_arrays`) must carry exactly: empty and NULL texts, the two
separator characters inside a value, the NULL marker as a value, NULL ints and bools, big ints."""


@pytest.mark.parametrize("rows", [AWKWARD, [AWKWARD[0]], [AWKWARD[1]], AWKWARD[2:], [(9, "plain", 1, True)]])
def test_bulk_writes_carry_every_value_exactly(engine, tables, rows):
    with engine.begin() as conn:
        bulk.insert_rows(conn, texts, ("id", "text", "n", "flag"), rows)
        assert bulk.update_rows(conn, texts, "id", ("n",), [(1, r[0]) for r in rows if r[2] is not None],
                                add=("n",)) in (sum(r[2] is not None for r in rows), -1)
    with engine.connect() as conn:
        got = [tuple(r) for r in conn.execute(sa.select(texts).order_by(texts.c.id))]
        in_values, params = in_list(conn, [r[1] for r in rows if r[1] is not None] or ["-"])
        sql = f"SELECT id FROM test_bulk_texts WHERE text {in_values} ORDER BY id"  # noqa: S608
        matched = [r[0] for r in run_sql(conn, driver_sql(conn, sql), params).fetchall()]
    expected = [(i, t, None if n is None else n + 1, f) for i, t, n, f in rows]
    assert [(i, t, n, None if f is None else bool(f)) for i, t, n, f in got] == expected
    assert matched == [r[0] for r in rows if r[1] is not None]
