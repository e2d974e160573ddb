"""The claim reads a batch's pending details through (batch_id, id) on every plan. On PostgreSQL psycopg
prepares a statement on its fifth use; with an index on batch_id alone the generic plan of the claim
walked the primary key from the table's first row (36 ms a claim in a 100,000-detail run, not 0.3 ms),
and with that index but the claim ordered by id (or by batch_id, id) it did again now and then once the table
had fillfactor 50. Ordered by `id + 0`, which no index yields, the claim reads the batch's index range."""

from __future__ import annotations

from sqlalchemy import insert, text, update

from cunguan.custody.async_runner import PENDING_OF_BATCH
from cunguan.db.tables.custody_async import custody_async_batches, custody_async_details

BATCHES, PER_BATCH = 6, 400


def _fill(engine) -> int:
    with engine.begin() as conn:
        for b in range(1, BATCHES + 1):
            conn.execute(insert(custody_async_batches).values(
                id=b, platform_no="P", batch_no=f"B{b}", key_serial="1", detail_count=PER_BATCH, done_count=0,
                status="PROCESSING", created_us=1))
            conn.execute(insert(custody_async_details), [
                dict(id=b * 10_000 + i, batch_id=b, platform_no="P", request_no=f"R{b}-{i}", trade_type="TENDER",
                     req_data="{}", status="PENDING", created_us=1) for i in range(PER_BATCH)])
        d = custody_async_details.c
        conn.execute(update(custody_async_details).where(d.batch_id < BATCHES, d.status == "PENDING")
                     .values(status="SUCCESS", done_us=2))  # the older batches are settled
        conn.execute(text("ANALYZE custody_async_details" if conn.dialect.name == "postgresql" else "ANALYZE"))
    return BATCHES


def test_the_claim_reads_the_batch_in_order_whatever_the_plan(engine, db_kind):
    batch_id = _fill(engine)
    query = PENDING_OF_BATCH.stmt.params(batch_id=batch_id, limit=300)
    with engine.begin() as conn:
        if db_kind == "postgresql":
            compiled = query.compile(conn)
            sql = str(compiled)
            for n, name in enumerate(compiled.params, start=1):
                sql = sql.replace(f"%({name})s", f"${n}")
            assert list(compiled.params.values()) == [batch_id, "PENDING", 300]
            conn.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))  # what the 5th use gets
            conn.exec_driver_sql(f"PREPARE claim AS {sql}")
            plan = "\n".join(r[0] for r in conn.exec_driver_sql(
                f"EXPLAIN EXECUTE claim({batch_id}, 'PENDING', 300)"))
            conn.exec_driver_sql("DEALLOCATE claim")
            assert "Index Cond: (batch_id = $1)" in plan, plan
            assert "pk_custody_async_details" not in plan, plan
        else:
            compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
            plan = str(conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all())
            assert "ix_custody_async_details_batch (batch_id=?)" in plan, plan
        rows = PENDING_OF_BATCH.execute(conn, {"batch_id": batch_id, "limit": 300}).fetchall()
    assert [r[0] for r in rows] == [batch_id * 10_000 + i for i in range(300)]
