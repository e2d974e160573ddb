"""Planner statistics on PostgreSQL, kept fresh for the tables that grow.

The hot statements join a parameter array against a big table (`unnest(%s) JOIN custody_requests …`,
`custody_async_details`, `custody_shares`, …). Their best plan is an index probe per element, and the
planner picks it only when it knows the table is big and `platform_no` is not selective. Without
statistics it guessed a few dozen rows per platform and hashed every row of the platform instead:
measured on the ASYNC benchmark with the server's autovacuum off, the outcome update of a chunk of
270 details took 42 ms scanning 67,000 rows (3 ms with statistics), and the benchmark fell from 2,079
details/s over 100,000 details to 998/s over 300,000. A prepared statement's generic plan, made when
the table was empty, kept that plan until something invalidated it.

So a background job (`start_background`, in the server's supervisor process) does what autoanalyze
would: every `INTERVAL_S` it ANALYZEs each of our tables changed by more than `THRESHOLD_ROWS` +
`SCALE` × its size since its last analysis (autovacuum's own default rule). With autovacuum on,
that has nearly always happened already and the job finds nothing to do; with it off (as on the
development machine) it is what keeps the plans right. ANALYZE takes no lock that blocks reads or
writes, and it invalidates the cached plans of the table, so the next execution plans afresh.
VACUUM stays the database administrator's (dead rows of updated tables are left to autovacuum).
SQLite needs none of this: its planner uses the indexes' uniqueness, not sampled statistics.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.engine import Engine

from cunguan import periodic

log = logging.getLogger("cunguan.db.statistics")

INTERVAL_S = 10.0
THRESHOLD_ROWS = 50
SCALE = 0.1

_STALE = text(
    "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
    "WHERE s.schemaname = current_schema() "
    "AND s.n_mod_since_analyze > :rows + :scale * greatest(c.reltuples, 0) ORDER BY s.relname")


def stale_tables(engine: Engine) -> list[str]:
    """Our tables whose statistics are older than the changes since (autoanalyze's rule)."""
    with engine.connect() as conn:
        return list(conn.execute(_STALE, {"rows": THRESHOLD_ROWS, "scale": SCALE}).scalars())


def analyze_stale(engine: Engine) -> list[str]:
    """ANALYZE every stale table (each in a statement of its own, committed); the names analyzed."""
    if engine.dialect.name != "postgresql":
        return []
    tables = stale_tables(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in tables:
            conn.exec_driver_sql(f'ANALYZE "{name}"')
    if tables:
        log.debug("analyzed %s", ", ".join(tables))
    return tables


def start_background(engine: Engine, *, interval_s: float = INTERVAL_S) -> periodic.Stop | None:
    """The job on PostgreSQL (None on SQLite: nothing to keep)."""
    if engine.dialect.name != "postgresql":
        return None

    def tick() -> None:
        analyze_stale(engine)

    return periodic.every(interval_s, tick, name="cunguan-statistics", log=log)
