"""Migration 0017 (lean writes): the postings' key index holds only the keys there are (partial), and still refuses
a stored key and serves key look-ups; the update-heavy tables leave room on their pages on PostgreSQL, so
that consuming freezes updates them in place (HOT) instead of adding index entries — with half of each
page free for freezes and freeze orders since 0019, whose rows a chunk updates page by page."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from cunguan.db import ledger_store as L
from cunguan.db.tx import run_in_transaction
from cunguan.ledger import Hold, Transfer

FILLFACTORS = {"accounts": 70, "freezes": 50, "custody_pre_transactions": 50, "custody_requests": 70,
               "custody_shares": 70, "custody_projects": 70}


def _accounts(engine) -> tuple[int, int]:
    return run_in_transaction(engine, lambda c: (
        L.open_account(c, "bank", owner_type="SYSTEM", owner_ref="b", allow_overdraw=True),
        L.open_account(c, "u", owner_type="USER", owner_ref="u")))


def _key_index_definition(conn, db_kind: str) -> str:
    if db_kind == "postgresql":
        return conn.exec_driver_sql("SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_postings_idem_key'").scalar_one()
    return conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'uq_postings_idem_key'").scalar_one()


def test_the_key_index_is_partial_and_keys_stay_unique(engine, db_kind):
    bank, u = _accounts(engine)
    run_in_transaction(engine, lambda c: L.apply(c, [Transfer(bank, u, 100, "T", f"plain{i}") for i in range(40)]))
    run_in_transaction(engine, lambda c: L.apply(c, [Transfer(bank, u, 7, "T", f"keyed{i}", key=f"k{i}")
                                                     for i in range(3)]))
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM postings").scalar_one() == 43
        definition = _key_index_definition(c, db_kind)
        assert "UNIQUE" in definition and "idem_key IS NOT NULL" in definition, definition
    # A repeat of a keyed transfer replays (found through the index); a second row with the key is refused.
    again = run_in_transaction(engine, lambda c: L.apply(c, [Transfer(bank, u, 7, "T", "keyed0", key="k0")]))
    with engine.connect() as c:
        assert again[0].posting_seq == c.exec_driver_sql(
            "SELECT seq FROM postings WHERE idem_key = 'k0'").scalar_one()
        assert L.get_balance(c, u) == (40 * 100 + 3 * 7, 0)
    with pytest.raises(IntegrityError, match="uq_postings_idem_key|UNIQUE"):
        with engine.begin() as c:
            c.exec_driver_sql(
                "INSERT INTO postings (seq, debit_account_id, credit_account_id, amount_fen, currency, biz_type, ref, "
                "idem_key, debit_balance_after, credit_balance_after, created_us, hash) "
                "SELECT 999, debit_account_id, credit_account_id, 1, 'CNY', 'T', 'dup', idem_key, 0, 0, 0, hash "
                "FROM postings WHERE idem_key = 'k1'")


def test_key_look_ups_use_the_partial_index(engine, db_kind):
    with engine.connect() as c:
        if db_kind == "postgresql":
            c.exec_driver_sql("SET enable_seqscan = off")  # an empty table: ask whether the index may serve
            plan = "\n".join(r[0] for r in c.exec_driver_sql(
                "EXPLAIN SELECT seq FROM postings WHERE idem_key = ANY(ARRAY['a', 'b'])"))
        else:
            plan = str(c.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT seq FROM postings WHERE idem_key IN ('a', 'b')").all())
    assert "uq_postings_idem_key" in plan


def test_the_pending_details_index_is_gone(engine, db_kind):
    with engine.connect() as c:
        if db_kind == "postgresql":
            names = set(c.exec_driver_sql(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'custody_async_details'").scalars())
        else:
            names = set(c.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'custody_async_details'").scalars())
    assert "ix_custody_async_details_batch" in names
    assert "ix_custody_async_details_pending" not in names


@pytest.mark.parametrize(("table", "fillfactor"), sorted(FILLFACTORS.items()))
def test_update_heavy_tables_leave_room_on_their_pages(engine, db_kind, table, fillfactor):
    with engine.connect() as c:
        if db_kind == "postgresql":
            options = c.exec_driver_sql("SELECT reloptions FROM pg_class WHERE relname = %s", (table,)).scalar_one()
            assert options == [f"fillfactor={fillfactor}"]
        else:  # SQLite has no fillfactor: the table is there, unchanged
            assert c.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = ?", (table,)).scalar_one() == 1


def test_consuming_freezes_updates_them_in_place_on_postgresql(engine, db_kind):
    """Hundreds of holds fill several pages; consuming every one of them in a later transaction is HOT for
    nearly every row on PostgreSQL (with full pages it was ~2 %, measured before 0017; with 30 % free,
    0017's setting, about a third to a half, since one transaction updates all the rows of a page).
    SQLite has no HOT: there the same consumption is checked for its effect alone."""
    bank, u = _accounts(engine)
    holds = 600
    run_in_transaction(engine, lambda c: L.apply(c, [Transfer(bank, u, 100 * holds, "T", "fund")]
                                                 + [Hold(u, 100, f"h{i}", "x") for i in range(holds)]))

    def consume(c):
        results = L.apply(c, [Transfer(u, bank, 100, "T", f"use{i}", freeze_key=f"h{i}") for i in range(holds)])
        assert all(r.ok for r in results)
        if db_kind != "postgresql":
            return holds, None
        return c.exec_driver_sql("SELECT pg_stat_get_xact_tuples_updated('freezes'::regclass), "
                                 "pg_stat_get_xact_tuples_hot_updated('freezes'::regclass)").one()

    updated, hot = run_in_transaction(engine, consume)
    assert updated == holds
    if db_kind == "postgresql":
        assert hot >= holds * 9 // 10, (updated, hot)
    with engine.connect() as c:
        assert L.get_balance(c, u) == (0, 0)
        assert c.exec_driver_sql("SELECT count(*) FROM freezes WHERE status = 'UNFREEZED' "
                                 "AND consumed_fen = amount_fen").scalar_one() == holds
