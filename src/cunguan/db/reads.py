"""`reading(engine)`: a pooled connection for work that only reads (authentication, query services,
page loads, a job's look before it writes).

- SQLite: its transaction begins DEFERRED (`sqlite_deferred`), so a read never queues for the write
  lock; it is rolled back at the end.
- PostgreSQL: the connection runs in autocommit, so each statement is its own transaction: one round
  trip, where a READ ONLY transaction took three (BEGIN READ ONLY, the statement, COMMIT). At READ
  COMMITTED, the isolation every connection here runs at, each statement of a transaction takes its
  own snapshot anyway, so a multi-statement read block loses no consistency it had. Every request
  authenticates on a read block first, a query service reads on a second one: `cunguan bench sync` on
  PostgreSQL, old and new alternated, went from 125.6 to 129.6 requests/s and its signed-query baseline
  from 201.7 to 213.6/s (a bid 18 -> 16 commands, a system-account query 7 -> 3). Autocommit also keeps
  psycopg's server-side prepared statements: a ROLLBACK would make it forget them all (before this, a
  READ ONLY transaction ended with COMMIT for that reason).
- The write guard: PostgreSQL's READ ONLY transaction used to refuse a write in a read block, and a
  statement in autocommit would commit it at once. So `install_read_guard` (every engine of
  `db.engine`) refuses, before it is sent, any statement on a reading connection that is not a plain
  read (`ReadOnlyViolation`, an AssertionError: such a statement is a bug of the caller).

`Prepared` statements run on the driver cursor (`db/prepared.py`), below SQLAlchemy's autobegin; they
call the same `before_cursor_execute` listeners, so the guard sees them too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

READING_OPTION = "cunguan_reading"
_WRITE_WORDS = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|UPSERT|CREATE|ALTER|DROP|TRUNCATE|GRANT|REVOKE|LOCK|COPY|CALL|DO|"
    r"VACUUM|ANALYZE|REINDEX|CLUSTER|COMMENT|SECURITY|NEXTVAL|SETVAL|PG_ADVISORY\w*)\b",
    re.IGNORECASE)
_READ_START = re.compile(r"\s*(SELECT|WITH|SHOW|VALUES|EXPLAIN|BEGIN|COMMIT|ROLLBACK|END|SAVEPOINT|RELEASE)\b",
                         re.IGNORECASE)


class ReadOnlyViolation(AssertionError):
    """A statement that may write (or lock) was run on a `reading` connection."""


def is_plain_read(sql: str) -> bool:
    """A statement that starts as a read (or is transaction control: SQLite's DEFERRED `BEGIN`) and
    names no writing or locking keyword (`FOR UPDATE` included: in autocommit a row lock would end
    with the statement, so asking for one is a mistake too)."""
    return _READ_START.match(sql) is not None and _WRITE_WORDS.search(sql) is None and " FOR " not in sql.upper()


def install_read_guard(engine: Engine) -> None:
    """Refuse writes on this engine's reading connections (module docstring)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _guard(conn, _cursor, statement, _params, _context, _many):  # pragma: no cover - every read runs it
        if conn.get_execution_options().get(READING_OPTION) and not is_plain_read(statement):
            raise ReadOnlyViolation(f"a write on a reading connection: {statement[:80]!r}")


@contextmanager
def reading(engine: Engine, **options: object) -> Iterator[Connection]:
    """The connection, with any further execution `options`; see the module docstring."""
    with engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            conn = conn.execution_options(sqlite_deferred=True, **{READING_OPTION: True}, **options)
            try:
                yield conn
            finally:
                conn.rollback()
            return
        yield conn.execution_options(isolation_level="AUTOCOMMIT", **{READING_OPTION: True}, **options)
