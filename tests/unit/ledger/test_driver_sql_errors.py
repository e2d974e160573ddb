"""Hot statements run on the driver cursor (`db.prepared.run_sql`); their errors must still reach
`run_in_transaction` as SQLAlchemy `DBAPIError`s carrying the SQLSTATE, or a deadlock would stop being
retried, and statement listeners must still see them."""

from __future__ import annotations

from types import SimpleNamespace

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from cunguan.db.prepared import Prepared, run_sql
from cunguan.db.tx import is_retryable

PG_DIALECT = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1/none").dialect  # never connects


def fake_conn(exc: Exception | None, seen: list | None = None):
    class Cursor:
        def execute(self, sql, params):
            if exc is not None:
                raise exc
            self.ran = (sql, params)

    driver = SimpleNamespace(cursor=Cursor)
    listeners = SimpleNamespace(before_cursor_execute=lambda *args: seen.append(args[2]))
    return SimpleNamespace(connection=SimpleNamespace(driver_connection=driver), dialect=PG_DIALECT,
                           _has_events=seen is not None, engine=SimpleNamespace(_has_events=False),
                           dispatch=listeners)


def test_deadlock_is_wrapped_and_retryable():
    with pytest.raises(DBAPIError) as caught:
        run_sql(fake_conn(psycopg.errors.DeadlockDetected("deadlock detected")), "SELECT 1", ())
    assert isinstance(caught.value, OperationalError) and is_retryable(caught.value)


def test_unique_violation_is_wrapped_as_integrity_error():
    with pytest.raises(IntegrityError) as caught:
        run_sql(fake_conn(psycopg.errors.UniqueViolation("duplicate key")), "INSERT", ())
    assert is_retryable(caught.value)  # 23505: the retry answers with a replay or a typed duplicate


def test_other_errors_are_not_retryable_and_success_returns_the_cursor():
    with pytest.raises(DBAPIError) as caught:
        run_sql(fake_conn(psycopg.errors.CheckViolation("check")), "UPDATE", ())
    assert not is_retryable(caught.value)
    assert run_sql(fake_conn(None), "SELECT %s", (1,)).ran == ("SELECT %s", (1,))


def test_statement_listeners_see_driver_statements():
    seen: list[str] = []
    run_sql(fake_conn(None, seen), "SELECT 1", ())
    assert seen == ["SELECT 1"]


def test_prepared_statement_binds_names_and_its_own_literals(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    table = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("s", sa.String))
    table.create(engine)
    insert = Prepared(table.insert().values(id=sa.bindparam("id"), s=sa.bindparam("s")))
    find = Prepared(sa.select(table.c.s).where(table.c.id == sa.bindparam("id"), table.c.s != "gone").limit(1))
    with engine.begin() as conn:
        insert.execute_many(conn, [{"id": 1, "s": "a"}, {"id": 2, "s": "gone"}])
        assert find.first(conn, {"id": 1}) == ("a",)
        assert find.first(conn, {"id": 2}) is None  # the literal "gone" was bound
        with pytest.raises(IntegrityError):
            insert.execute(conn, {"id": 1, "s": "again"})
