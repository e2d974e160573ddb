"""The PostgreSQL batch path runs on the driver cursor; its errors must still reach `run_in_transaction`
as SQLAlchemy `DBAPIError`s carrying the SQLSTATE, or a deadlock would stop being retried."""

from __future__ import annotations

from types import SimpleNamespace

import psycopg
import pytest
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from cunguan.db.ledger_store import _pg_exec
from cunguan.db.tx import is_retryable


def fake_conn(exc: Exception | None):
    class Cursor:
        def execute(self, sql, params):
            if exc is not None:
                raise exc
            self.ran = (sql, params)

    driver = SimpleNamespace(cursor=Cursor)
    return SimpleNamespace(connection=SimpleNamespace(driver_connection=driver), dialect=postgresql.dialect())


def test_deadlock_is_wrapped_and_retryable():
    with pytest.raises(DBAPIError) as caught:
        _pg_exec(fake_conn(psycopg.errors.DeadlockDetected("deadlock detected")), "SELECT 1", ())
    assert isinstance(caught.value, OperationalError) and is_retryable(caught.value)


def test_unique_violation_is_wrapped_as_integrity_error():
    with pytest.raises(IntegrityError) as caught:
        _pg_exec(fake_conn(psycopg.errors.UniqueViolation("duplicate key")), "INSERT", ())
    assert is_retryable(caught.value)  # 23505: the retry answers with a replay or a typed duplicate


def test_other_errors_are_not_retryable_and_success_returns_the_cursor():
    with pytest.raises(DBAPIError) as caught:
        _pg_exec(fake_conn(psycopg.errors.CheckViolation("check")), "UPDATE", ())
    assert not is_retryable(caught.value)
    assert _pg_exec(fake_conn(None), "SELECT %s", (1,)).ran == ("SELECT %s", (1,))
