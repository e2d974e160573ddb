"""Migration 0018: on PostgreSQL the ASYNC details leave half of each page free, so that the runner's one
status update of each detail stays on its page (HOT: no new entry in any of the three indexes) even
though a chunk updates a page's rows in one transaction. SQLite has no such setting: there the same
chunk is checked for its effect alone."""

from __future__ import annotations

import async_batches_support as support
from sqlalchemy import select

from cunguan.clock import Clock
from cunguan.custody import async_runner
from cunguan.custody.async_batches import accept
from cunguan.db.tables.custody_async import custody_async_details
from cunguan.db.tx import run_in_transaction

DETAILS = 600
"""Enough rows to fill a few dozen pages (each row carries its bizDetail)."""


def test_the_details_table_leaves_half_of_each_page_free(engine, db_kind):
    with engine.connect() as c:
        if db_kind == "postgresql":
            options = c.exec_driver_sql(
                "SELECT reloptions FROM pg_class WHERE relname = 'custody_async_details'").scalar_one()
            assert options == ["fillfactor=50"]
        else:
            assert c.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = 'custody_async_details'"
                                     ).scalar_one() == 1


def test_a_chunk_updates_its_details_in_place(engine, platform, db_kind):
    support.make_users(engine, {"A": support.fen("1000"), "B": 0})
    accept(engine, Clock(), support.PLATFORM_NO, "1", {"batchNo": "B-HOT", "bizDetails": [
        support.trade(f"R-{i}", "A", "B", "1.00") for i in range(DETAILS)]})

    def chunk(conn):
        stats = async_runner.process_chunk(conn, Clock(), support.transfer_executor, DETAILS)
        if db_kind != "postgresql":
            return stats, None
        return stats, conn.exec_driver_sql(
            "SELECT pg_stat_get_xact_tuples_updated('custody_async_details'::regclass), "
            "pg_stat_get_xact_tuples_hot_updated('custody_async_details'::regclass)").one()

    stats, counts = run_in_transaction(engine, chunk)
    assert (stats.details, stats.succeeded) == (DETAILS, DETAILS)
    if db_kind == "postgresql":
        updated, hot = counts
        assert updated == DETAILS and hot >= DETAILS * 9 // 10, counts  # with full pages: none of them
    with engine.connect() as c:
        assert set(c.execute(select(custody_async_details.c.status)).scalars()) == {"SUCCESS"}
    assert support.balance(engine, "B") == support.fen(str(DETAILS))
