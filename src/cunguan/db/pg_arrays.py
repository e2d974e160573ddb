"""PostgreSQL array parameters as ONE joined text each, split (and cast) by the server.

psycopg dumps a Python list element by element in Python — sizing each int, quoting each text with a
regex — which for a batch of 1,000 rows costs more than the statement on the server (measured: list
dumping took 14.5 s of a 100,000-detail ASYNC run's 77 s of runner time on PostgreSQL); `str.join`
costs about 1 % of that. Every `unnest(...)` / `= ANY(...)` over many values goes through here:
`array(kind, values)` gives the SQL expression and its one parameter.

Formats: bigint and bool columns as "1,2,3" ("N" for NULL); text columns joined on the ASCII unit
separator (NULL: the record separator) when that is unambiguous, otherwise (a value holding either
character, a lone empty string) as a binary text[] that psycopg dumps itself. Only ints and short
texts built by our own code go in (ids read from the database, amounts checked by the planner).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

BIGINTS = "string_to_array(%s, ',', 'N')::bigint[]"
BOOLS = "string_to_array(%s, ',', 'N')::bool[]"
TEXTS = "string_to_array(%s, chr(31), chr(30))"
_SEP, _NULL = "\x1f", "\x1e"


def bigints(values: Iterable[int | None]) -> str:
    """The parameter of `BIGINTS`."""
    return ",".join("N" if v is None else str(int(v)) for v in values)


def null_bigints(n: int) -> str:
    """`bigints` of n NULLs."""
    return ",".join(["N"] * n)


def ints(values: Iterable[int]) -> str:
    """`bigints` for columns without NULLs (the common case, about twice as fast)."""
    return ",".join(map(str, map(int, values)))


def bools(values: Iterable[bool | None]) -> str:
    """The parameter of `BOOLS`."""
    return ",".join("N" if v is None else ("t" if v else "f") for v in values)


def texts(values: Sequence[str | None]) -> tuple[str, object]:
    """A text array as (SQL array expression, its parameter)."""
    if None in values:
        nulls = values.count(None)
        joined = _SEP.join(_NULL if v is None else v for v in values)
    else:
        nulls = 0
        joined = _SEP.join(values)
    if joined and joined.count(_SEP) == len(values) - 1 and joined.count(_NULL) == nulls:
        return TEXTS, joined
    return "%b::text[]", list(values)


def array(kind: str, values: Sequence) -> tuple[str, object]:
    """An array of `kind` ("bigint", "bool" or "text") as (SQL array expression, its parameter)."""
    if kind == "bigint":
        return BIGINTS, bigints(values)
    if kind == "bool":
        return BOOLS, bools(values)
    assert kind == "text", kind
    return texts([None if v is None else str(v) for v in values])


def unnest(columns: Sequence[tuple[str, Sequence]]) -> tuple[str, list[object]]:
    """`unnest(a1, a2, ...)` over columns given as (kind, values): the SQL and its parameters, in order."""
    exprs, params = [], []
    for kind, values in columns:
        expr, param = array(kind, values)
        exprs.append(expr)
        params.append(param)
    return f"unnest({', '.join(exprs)})", params


def any_of(values: Sequence) -> tuple[str, object]:
    """`= ANY(...)` over ints or texts: (the right-hand side, its parameter)."""
    kind = "bigint" if values and all(type(v) is int for v in values) else "text"
    expr, param = array(kind, values)
    return f"= ANY({expr})", param
