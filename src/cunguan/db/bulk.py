"""Many rows of one table written in one statement, on both engines.

SQLite: `executemany` of one driver statement (sqlite3 steps it per row in C: the fastest way in).
PostgreSQL: ONE statement over column arrays (`unnest`): psycopg's `executemany` sends one statement
per row, and PostgreSQL parsing, planning and executing 500 small UPDATEs cost ~30 µs each — a third
of an ASYNC chunk's time on the server (measured). Column types come from the table definition; each
column travels as one joined text (`db.pg_arrays`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, Table
from sqlalchemy.engine import Connection

from cunguan.db import pg_arrays
from cunguan.db.prepared import run_sql


def _pg_type(table: Table, column: str) -> str:
    kind = table.c[column].type
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, BigInteger):
        return "bigint"
    if isinstance(kind, Integer):
        return "bigint"  # Id64 and plain integers alike: the column casts on assignment
    return "text"


def _unnest(table: Table, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> tuple[str, list[object]]:
    """`unnest(...)` over the columns of `rows` (named `names`), typed from the table."""
    return pg_arrays.unnest([(_pg_type(table, n), column) for n, column in zip(names, zip(*rows, strict=True),
                                                                                  strict=True)])


def update_rows(conn: Connection, table: Table, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                *, add: Sequence[str] = (), only_if: tuple[str, Any] | None = None) -> int:
    """`UPDATE table SET column = value (or column = column + value for those in `add`) WHERE key = k
    [AND only_if column = only_if value]` for each row `(*values in columns order, k)`; the number of
    rows changed (-1 when the driver cannot tell)."""
    if not rows:
        return 0
    assert set(add) <= set(columns)
    name = table.name
    if conn.dialect.name != "postgresql":
        sets = ", ".join(f"{c} = {c} + ?" if c in add else f"{c} = ?" for c in columns)
        where = f"{key} = ?" + (f" AND {only_if[0]} = ?" if only_if else "")
        params = [(*r, only_if[1]) for r in rows] if only_if else list(rows)
        return run_sql(conn, f"UPDATE {name} SET {sets} WHERE {where}", params, many=True).rowcount  # noqa: S608
    sql, params = pg_update_sql(table, key, columns, rows, add=add, only_if=only_if)
    return run_sql(conn, sql, params).rowcount


def pg_update_sql(table: Table, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *,
                  add: Sequence[str] = (), only_if: tuple[str, Any] | None = None) -> tuple[str, list[object]]:
    """PostgreSQL's `update_rows` as (SQL, parameters), for a caller that sends it inside a statement of
    its own (a data-modifying CTE: `ledger_store` writes a batch's freezes with its postings)."""
    assert rows
    name, names = table.name, [*columns, key]
    arrays, params = _unnest(table, names, rows)
    sets = ", ".join(f"{c} = {name}.{c} + d.{c}" if c in add else f"{c} = d.{c}" for c in columns)
    sql = (f"UPDATE {name} SET {sets} FROM {arrays} AS d({', '.join(names)}) "  # noqa: S608
           f"WHERE {name}.{key} = d.{key}" + (f" AND {name}.{only_if[0]} = %s" if only_if else ""))
    return sql, params + ([only_if[1]] if only_if else [])


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """`INSERT INTO table (columns) VALUES (row)` for each row."""
    if not rows:
        return
    name, listed = table.name, ", ".join(columns)
    if conn.dialect.name != "postgresql":
        marks = ", ".join("?" * len(columns))
        run_sql(conn, f"INSERT INTO {name} ({listed}) VALUES ({marks})", list(rows), many=True)  # noqa: S608
        return
    arrays, params = _unnest(table, columns, rows)
    run_sql(conn, f"INSERT INTO {name} ({listed}) SELECT * FROM {arrays}", params)  # noqa: S608
