"""One business operation = one database transaction, retried (bounded) on lock conflicts.

Conflicts are the engines' normal answer to concurrency (SQLite: database is locked; PostgreSQL:
deadlock or serialization failure); they must never reach a caller. Typed business errors are not
retried: they roll the transaction back and propagate.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

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


def run_in_transaction(engine: Engine, work: Callable[[Connection], T], *, attempts: int = MAX_ATTEMPTS) -> T:
    """Run `work(conn)` inside one transaction; commit if it returns, roll back if it raises."""
    assert attempts >= 1
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
