"""The planner-statistics job (`db/statistics`): on PostgreSQL a table that grew is ANALYZEd, after
which the array-join statements probe the index instead of hashing the platform's every row; on
SQLite there is nothing to keep and no job."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from cunguan.db import statistics

pytestmark = pytest.mark.db

_ROWS = 20_000
_OUTCOME_UPDATE = ("UPDATE custody_requests SET outcome = d.outcome FROM unnest(%s::text[], %s::text[]) AS "
                   "d(outcome, no) WHERE custody_requests.platform_no = %s AND custody_requests.request_no = d.no")


def _grow_requests(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO custody_requests (platform_no, request_no, service_name, outcome, created_us) "
                          "VALUES (:p, :n, 'ASYNC_TRANSACTION', '{}', 0)"),
                     [{"p": "6000000001", "n": f"R{i:08d}"} for i in range(_ROWS)])
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_stat_force_next_flush()"))


def _plan(engine) -> str:
    nos = [f"R{i:08d}" for i in range(0, _ROWS, 700)]  # a chunk's few dozen keys against the table
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
        rows = conn.exec_driver_sql("EXPLAIN " + _OUTCOME_UPDATE, (["{}"] * len(nos), nos, "6000000001")).all()
    return "\n".join(r[0] for r in rows)


def _stale_soon(engine, table: str) -> list[str]:
    deadline = time.monotonic() + 10
    while True:  # the activity counters reach the statistics system shortly after the commit
        stale = statistics.stale_tables(engine)
        if table in stale or time.monotonic() > deadline:
            return stale
        time.sleep(0.1)


def test_a_grown_table_is_analyzed_and_then_probed_by_index(engine, db_kind):
    _grow_requests(engine)
    if db_kind == "sqlite":
        assert statistics.analyze_stale(engine) == [] and statistics.start_background(engine) is None
        return
    assert "custody_requests" in _stale_soon(engine, "custody_requests")
    assert "custody_requests" in statistics.analyze_stale(engine)
    assert "custody_requests" not in statistics.stale_tables(engine)
    plan = _plan(engine)
    assert "Index Scan using pk_custody_requests" in plan and "Hash" not in plan, plan
    assert _analyzed(engine)


def test_the_job_runs_in_the_background_until_stopped(engine, db_kind):
    _grow_requests(engine)
    stop = statistics.start_background(engine, interval_s=0.05)
    if db_kind == "sqlite":
        assert stop is None
        return
    try:
        deadline = time.monotonic() + 15
        while "custody_requests" in statistics.stale_tables(engine) or not _analyzed(engine):
            assert time.monotonic() < deadline, "the job never analyzed the grown table"
            time.sleep(0.1)
    finally:
        stop()


def _analyzed(engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                                      "WHERE relname = 'custody_requests'")).scalar_one())
