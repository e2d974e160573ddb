"""One business operation = one database transaction, retried (bounded) on lock conflicts.

Conflicts are the engines' normal answer to concurrency (SQLite: database is locked; PostgreSQL:
deadlock or serialization failure); they must never reach a caller. Typed business errors are not
retried: they roll the transaction back and propagate.

Shared transactions (SQLite group commit). SQLite has one writer at a time and every commit is an
fsync (~0.3 ms here, more than a bid's whole work), so the Lanmao single-request path runs a batch of
requests in ONE transaction (`SharedTransaction`, opened by `router.ServiceFastPath`): while it is the
thread's current one, `run_in_transaction(engine, work, grouped=True)` runs `work` in a SAVEPOINT of
it instead of a transaction of its own. Each operation stays all-or-nothing (a refused one rolls back
to its savepoint and leaves no trace; the ones after it run exactly as in serial order); the batch
commits once, and nothing is answered before that commit returned — a failed commit fails every
operation that joined it. Without a current shared transaction (other threads, PostgreSQL, tests),
`grouped` changes nothing.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from cunguan.db.prepared import run_sql

T = TypeVar("T")

MAX_ATTEMPTS = 12
BASE_BACKOFF_S = 0.002
MAX_BACKOFF_S = 0.25

_PG_RETRY_STATES = {"40001", "40P01", "55P03", "23505"}
"""Serialization failure, deadlock, lock not available, and unique violation: on PostgreSQL two
transactions that both checked a key before either committed collide on the unique index; the retry
sees the committed row and answers with a replay or a typed duplicate error. (SQLite's single writer
cannot race this way.)"""


def is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
    if state in _PG_RETRY_STATES:
        return True
    if isinstance(exc, OperationalError):
        text = str(orig).lower()
        return "database is locked" in text or "database is busy" in text or "database table is locked" in text
    return False


def run_in_transaction(engine: Engine, work: Callable[[Connection], T], *, attempts: int = MAX_ATTEMPTS,
                       grouped: bool = False) -> T:
    """Run `work(conn)` inside one transaction; commit if it returns, roll back if it raises.
    `grouped`: join this thread's current shared transaction on `engine`, if any (module docstring)."""
    assert attempts >= 1
    if grouped:
        shared = getattr(_current, "shared", None)
        if shared is not None and shared.engine is engine:
            return shared.run(work)
    for attempt in range(attempts):
        try:
            with engine.begin() as conn:
                return work(conn)
        except DBAPIError as exc:
            if attempt + 1 >= attempts or not is_retryable(exc):
                raise
            backoff = min(MAX_BACKOFF_S, BASE_BACKOFF_S * (2**attempt))
            time.sleep(backoff * (0.5 + random.random()))
    raise AssertionError("unreachable")


_current = threading.local()
_SAVEPOINT = "cg_shared"


class SharedTransaction:
    """One transaction that grouped operations join, each in its own savepoint (module docstring).
    Begins at the first operation (so a batch without writes takes no write lock); `commit()` ends
    it. Use as the thread's current one with `with shared.current():`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.joined = 0
        """Operations that ran to completion inside it (refused ones are not counted)."""
        self._begun: Any = None
        self._conn: Connection | None = None

    @contextmanager
    def current(self) -> Iterator[SharedTransaction]:
        previous = getattr(_current, "shared", None)
        _current.shared = self
        try:
            yield self
        finally:
            _current.shared = previous

    def run(self, work: Callable[[Connection], T]) -> T:
        if self._conn is None:
            self._begun = self.engine.begin()
            self._conn = self._begun.__enter__()
        conn = self._conn
        run_sql(conn, f"SAVEPOINT {_SAVEPOINT}")
        try:
            result = work(conn)
        except BaseException:
            run_sql(conn, f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
            run_sql(conn, f"RELEASE SAVEPOINT {_SAVEPOINT}")
            raise
        run_sql(conn, f"RELEASE SAVEPOINT {_SAVEPOINT}")
        self.joined += 1
        return result

    def commit(self) -> None:
        """Commit what joined (nothing to do when nothing did); raises when the commit failed, and
        then nothing of it is durable."""
        begun, self._begun, self._conn = self._begun, None, None
        if begun is not None:
            begun.__exit__(None, None, None)

    def rollback(self, exc: BaseException) -> None:
        begun, self._begun, self._conn = self._begun, None, None
        if begun is not None:
            begun.__exit__(type(exc), exc, exc.__traceback__)
