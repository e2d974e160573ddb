"""`reading(engine)`: a pooled connection for work that only reads (authentication, query services,
page loads, a job's look before it writes).

- SQLite: its transaction begins DEFERRED (`sqlite_deferred`), so a read never queues for the write
  lock; it is rolled back at the end.
- PostgreSQL: the transaction is READ ONLY (a write in it fails), and it ends with COMMIT, not with the
  pool's ROLLBACK. psycopg forgets every server-side prepared statement of a connection at a ROLLBACK
  (and sends DEALLOCATE ALL before the connection's next statement). Every Lanmao request reads its
  platform and key first, so with a ROLLBACK there no statement of the request path was ever prepared:
  each one was parsed and planned again on every request (measured, `cunguan bench sync` on
  PostgreSQL: 261 -> 302 requests/s). A read-only transaction's COMMIT writes nothing, so it is the
  same as a rollback here, and READ ONLY makes sure of that.

`Prepared` statements run on the driver cursor (`db/prepared.py`), below SQLAlchemy's autobegin, so the
driver's own transaction is ended too, not only SQLAlchemy's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine


@contextmanager
def reading(engine: Engine, **options: object) -> Iterator[Connection]:
    """The connection, with any further execution `options`; see the module docstring."""
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_deferred=True, postgresql_readonly=True, **options)
        if conn.dialect.name != "postgresql":
            try:
                yield conn
            finally:
                conn.rollback()
            return
        try:
            yield conn
        except BaseException:
            conn.rollback()
            conn.connection.driver_connection.rollback()
            raise
        conn.commit()
        conn.connection.driver_connection.commit()
