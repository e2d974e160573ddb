"""Hot statements, compiled once and run on the driver cursor of the caller's connection.

A SQLAlchemy Core execution costs ~13 µs of Python on top of the statement (cache-key, execution
context, result metadata, row processing), and a statement built per call several times that; the
single-request path runs about twenty statements a request, so that overhead was a third of a
request's CPU. `Prepared(stmt)` keeps the statement written as Core (tables, columns, no SQL strings),
compiles it once per dialect to the driver's SQL, and executes it on the driver cursor — the same
connection and the same transaction — for ~1.5 µs.

What it skips, deliberately: bind and result type processing (the hot columns are integers, texts
and booleans; a boolean comes back from SQLite as 0/1, so read it with `bool()`), expanding IN
parameters (use `in_list`), and SQLAlchemy's logging. What it keeps: `before_cursor_execute`
listeners are called (tests count statements with them) and driver errors are wrapped as
`DBAPIError`s, so `run_in_transaction` still sees lock conflicts and unique violations by SQLSTATE.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from cunguan.db import pg_arrays


class Prepared:
    """One Core statement with named bind parameters, or one per dialect name (`{"sqlite": ..,
    "postgresql": ..}`) where the constructs differ; see the module docstring."""

    __slots__ = ("stmt", "_by_dialect")

    def __init__(self, stmt: Executable | Mapping[str, Executable]) -> None:
        self.stmt = stmt
        self._by_dialect: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def _compiled(self, conn: Connection) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        """(SQL, the parameter names in placeholder order or None for named placeholders, the values
        of the statement's own literals, e.g. `status == "ACTIVE"` or `limit(1)`)."""
        dialect = conn.dialect
        found = self._by_dialect.get(dialect.name)
        if found is None:
            stmt = self.stmt[dialect.name] if isinstance(self.stmt, Mapping) else self.stmt
            compiled = stmt.compile(dialect=dialect)
            assert not compiled.literal_execute_params, "expanding IN parameters: use in_list"
            literals = {name: bind.value for bind, name in compiled.bind_names.items() if not bind.required}
            names = tuple(compiled.positiontup) if compiled.positional else None
            found = self._by_dialect[dialect.name] = (compiled.string, names, literals)
        return found

    def execute(self, conn: Connection, params: Mapping[str, Any] | None = None):
        """Run once; the driver cursor (iterate it, or `.fetchone()`, `.rowcount`)."""
        sql, names, literals = self._compiled(conn)
        merged = {**literals, **params} if params else literals
        return _run(conn, sql, tuple(merged[n] for n in names) if names is not None else merged, many=False)

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]):
        sql, names, literals = self._compiled(conn)
        merged = [{**literals, **r} for r in rows]
        args: Any = [tuple(r[n] for n in names) for r in merged] if names is not None else merged
        return _run(conn, sql, args, many=True)

    def first(self, conn: Connection, params: Mapping[str, Any] | None = None) -> tuple | None:
        return self.execute(conn, params).fetchone()

    def first_dict(self, conn: Connection, params: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        cur = self.execute(conn, params)
        row = cur.fetchone()
        return None if row is None else dict(zip(_names(cur), row, strict=True))

    def rowcount(self, conn: Connection, params: Mapping[str, Any] | None = None) -> int:
        return self.execute(conn, params).rowcount


class Write(NamedTuple):
    """One write for `run_together`: the statement, its parameters, and the number of rows it must
    change (None: any)."""

    stmt: Prepared
    params: Mapping[str, Any]
    rows: int | None = None


_NAMED = re.compile(r"%\((\w+)\)s")


def run_together(conn: Connection, writes: Sequence[Write | None]) -> None:
    """Independent writes in one round trip: on PostgreSQL ONE statement of data-modifying CTEs, on
    SQLite (where a statement costs microseconds) one after the other, consecutive writes of one
    statement as one executemany. Each write's row count is
    checked against its `rows`; a None in `writes` is skipped (a write that has nothing to do).

    Only for writes that touch different rows and read nothing another of them writes: on PostgreSQL
    all parts run on one snapshot, and none sees another's effect. (The tail of a request — its order
    row, its project's accumulators, its outcome on the requestNo register — is such a set; each
    part costs a round trip and ~0.1 ms of client CPU alone.)"""
    writes = [w for w in writes if w is not None]  # type: ignore[misc]
    if conn.dialect.name != "postgresql" or len(writes) < 2:
        for stmt, group in itertools.groupby(writes, key=lambda w: w.stmt):  # a run of one statement: one executemany
            run = list(group)
            changed = (stmt.rowcount(conn, run[0].params) if len(run) == 1
                       else stmt.execute_many(conn, [w.params for w in run]).rowcount)
            _check_rows(None if any(w.rows is None for w in run) else sum(w.rows for w in run), changed)  # type: ignore[misc]
        return
    parts, merged = [], {}
    for i, w in enumerate(writes):
        sql, names, literals = w.stmt._compiled(conn)  # noqa: SLF001 - the same module's compiled form
        assert names is None, "psycopg's named style"
        returning = "" if " RETURNING " in sql else " RETURNING 1"  # a part's rows are counted (an INSERT returns its id)
        parts.append(f"w{i} AS ({_NAMED.sub(lambda m, i=i: f'%(w{i}_{m.group(1)})s', sql)}{returning})")
        merged.update({f"w{i}_{k}": v for k, v in {**literals, **w.params}.items()})
    counts = ", ".join(f"(SELECT count(*) FROM w{i})" for i in range(len(writes)))  # noqa: S608 - our own names
    row = _run(conn, f"WITH {', '.join(parts)} SELECT {counts}", merged, many=False).fetchone()
    for w, n in zip(writes, row, strict=True):
        _check_rows(w.rows, n)


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """Statements run on the driver cursor (`run_sql`, `Prepared`) inside the block are sent without
    waiting for their results, on PostgreSQL (psycopg's pipeline mode): the server executes a write
    while the caller builds the next statement's parameters, and the caller waits only where it
    reads a result (fetching a row waits for the statements before it) and at the block's end.
    SQLite: nothing changes (a statement runs in-process; there is no round trip to save).

    What a caller must know: a failing statement's error may surface at a later statement or at the
    block's end (wrapped as a `DBAPIError`, so `db.tx` still retries conflicts by SQLSTATE), a
    cursor's `rowcount` is -1 and its `description` None until its result was fetched, and the
    statements go through the driver connection only: SQLAlchemy's own executions do not belong in
    the block."""
    if conn.dialect.name != "postgresql":
        yield
        return
    error = conn.dialect.loaded_dbapi.Error
    try:
        with conn.connection.driver_connection.pipeline():
            yield
    except error as exc:  # raised by the pipeline's final sync: a statement of the block failed
        raise DBAPIError.instance(None, None, exc, error, dialect=conn.dialect) from exc


def _check_rows(expected: int | None, changed: int) -> None:
    assert expected is None or changed == expected, f"{changed} rows changed, {expected} expected"


def driver_sql(conn: Connection, sql: str) -> str:
    """A hand-written statement with `?` placeholders, in the driver's style (psycopg takes `%s`)."""
    return sql.replace("?", "%s") if conn.dialect.name == "postgresql" else sql


def run_sql(conn: Connection, sql: str, params: Sequence[Any] = (), *, many: bool = False):
    """A driver statement (already in the driver's placeholder style) on the driver cursor."""
    return _run(conn, sql, params, many=many)


def in_list(conn: Connection, values: Sequence[Any]) -> tuple[str, tuple[Any, ...] | list[Any]]:
    """The right-hand side of `column IN ...` / `= ANY(...)` for `values`: (SQL, parameters).
    SQLite: `IN (?, ?, ...)` with one parameter each; PostgreSQL: `= ANY(...)` with one array
    parameter (`db.pg_arrays`)."""
    if conn.dialect.name == "postgresql":
        rhs, param = pg_arrays.any_of(values)
        return rhs, [param]
    return f"IN ({','.join('?' * len(values))})", tuple(values)


def _names(cur) -> list[str]:
    return [d[0] for d in cur.description]


def _run(conn: Connection, sql: str, args: Any, *, many: bool):
    driver = conn.connection.driver_connection
    cur = driver.cursor()
    if conn._has_events or conn.engine._has_events:  # noqa: SLF001 - the listeners Core would call
        conn.dispatch.before_cursor_execute(conn, cur, sql, args, None, many)
    try:
        if many:
            cur.executemany(sql, args)
        else:
            cur.execute(sql, args)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, args, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect) from exc
    return cur
