"""The runner: per-detail results with a genuine executor, chunking, the NOTIFY, and the at-most-once
guarantees (a requestNo taken after acceptance, a detail never run twice)."""

from __future__ import annotations

import json
import threading
import time

import async_batches_support as support
from sqlalchemy import select

from cunguan.clock import Clock
from cunguan.custody import async_runner, requests
from cunguan.custody.async_batches import accept
from cunguan.db.engine import writers_waiting
from cunguan.db.ledger_audit import audit
from cunguan.db.tables.custody_async import custody_async_batches, custody_async_details
from cunguan.db.tables.notify import notify_outbox
from cunguan.db.tx import run_in_transaction

P = support.PLATFORM_NO
fen = support.fen


def _run(engine, **kw):
    return async_runner.run_until_idle(engine, Clock(), executor=support.transfer_executor, **kw)


def _notifies(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(notify_outbox).order_by(notify_outbox.c.id)).mappings()]


def _details(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r["request_no"]: dict(r) for r in conn.execute(select(custody_async_details)).mappings()}


def test_mixed_success_and_failure_with_notify(engine, platform):
    support.make_users(engine, {"A": fen("100"), "B": 0, "C": fen("5")})
    batch = {"batchNo": "B-1", "bizDetails": [
        support.trade("R-1", "A", "B", "30"),      # ok: A 70 left
        support.trade("R-2", "A", "B", "80"),      # short: FAIL 100014
        support.trade("R-3", "A", "B", "70"),      # ok: A 0 left
        support.trade("R-4", "C", "NOBODY", "1"),  # unknown payee: FAIL 100009
        support.trade("R-5", "C", "B", "5.00"),    # ok
    ]}
    accept(engine, Clock(), P, "1", batch)
    assert _notifies(engine) == []
    stats = _run(engine)
    assert (stats.details, stats.succeeded, stats.failed, len(stats.batches_done)) == (5, 3, 2, 1)

    assert [support.balance(engine, u) for u in ("A", "B", "C")] == [0, fen("105"), 0]
    assert support.postings_for(engine, [f"R-{i}" for i in range(1, 6)]) == {
        "R-1": 1, "R-2": 0, "R-3": 1, "R-4": 0, "R-5": 1}
    with engine.connect() as conn:  # a failed detail leaves no claim in the register either
        assert requests.find(conn, P, "R-2") is None and requests.find(conn, P, "R-4") is None
        assert requests.find(conn, P, "R-1")["service_name"] == "ASYNC_TRANSACTION"
        batch_row = conn.execute(select(custody_async_batches)).mappings().one()
    rows = _details(engine)
    assert {k: (v["status"], v["error_code"]) for k, v in rows.items()} == {
        "R-1": ("SUCCESS", None), "R-2": ("FAIL", "100014"), "R-3": ("SUCCESS", None),
        "R-4": ("FAIL", "100009"), "R-5": ("SUCCESS", None)}
    assert (batch_row["status"], batch_row["done_count"]) == ("DONE", 5)

    (note,) = _notifies(engine)
    assert (note["service_name"], note["response_type"], note["biz_ref"], note["key_serial"]) == (
        "ASYNC_TRANSACTION", "NOTIFY", "B-1", "1")
    assert note["id"] == batch_row["notify_id"] and note["notify_url"] == platform.notify_url
    resp = json.loads(note["resp_data"])
    assert (resp["code"], resp["status"], resp["batchNo"]) == ("0", "SUCCESS", "B-1")
    assert [d["asyncRequestNo"] for d in resp["details"]] == ["R-1", "R-2", "R-3", "R-4", "R-5"]
    for d in resp["details"]:
        assert (d["bizType"], d["bizOrigin"]) == ("FUNDS_TRANSFER", "DISPERSION")
        assert len(d["createTime"]) == 14 and len(d["transactionTime"]) == 14
        assert d["createTime"] <= d["transactionTime"]
    r2 = resp["details"][1]
    assert (r2["status"], r2["errorCode"]) == ("FAIL", "100014") and "余额不足" in r2["errorMessage"]
    assert resp["details"][3]["errorCode"] == "100009"
    assert resp["details"][0]["status"] == "SUCCESS" and "errorCode" not in resp["details"][0]
    assert audit(engine) == []
    assert _run(engine).details == 0  # nothing left, nothing redone
    assert len(_notifies(engine)) == 1


def test_chunks_notify_once_at_the_last_chunk(engine, platform):
    support.make_users(engine, {"A": fen("1000"), "B": 0})
    accept(engine, Clock(), P, "1", {"batchNo": "B-1", "bizDetails": [
        support.trade(f"R-{i}", "A", "B", "1") for i in range(130)]})
    accept(engine, Clock(), P, "1", {"batchNo": "B-2", "bizDetails": [
        support.trade(f"S-{i}", "A", "B", "1") for i in range(40)]})
    first = async_runner.run_chunk(engine, Clock(), executor=support.transfer_executor, chunk_size=50)
    assert (first.details, first.batches_done) == (50, [])
    assert _notifies(engine) == []
    second = async_runner.run_chunk(engine, Clock(), executor=support.transfer_executor, chunk_size=50)
    assert second.details == 50 and _notifies(engine) == []
    third = async_runner.run_chunk(engine, Clock(), executor=support.transfer_executor, chunk_size=50)
    assert third.details == 50 and len(third.batches_done) == 1  # 30 of B-1 + 20 of B-2: B-1 done, B-2 not
    (note,) = _notifies(engine)
    assert json.loads(note["resp_data"])["batchNo"] == "B-1"
    rest = _run(engine, chunk_size=50)
    assert rest.details == 20 and len(rest.batches_done) == 1
    notes = _notifies(engine)
    assert [json.loads(n["resp_data"])["batchNo"] for n in notes] == ["B-1", "B-2"]
    assert len(json.loads(notes[0]["resp_data"])["details"]) == 130
    assert support.balance(engine, "B") == fen("170")
    assert audit(engine) == []


def test_request_no_taken_after_acceptance_fails_the_detail(engine, platform):
    support.make_users(engine, {"A": fen("10"), "B": 0})
    accept(engine, Clock(), P, "1", {"batchNo": "B-1", "bizDetails": [
        support.trade("R-1", "A", "B", "1"), support.trade("R-2", "A", "B", "2")]})
    # a direct request with the same number arrives before the runner gets to R-2
    run_in_transaction(engine, lambda c: requests.claim(c, Clock(), P, "R-2", "SYNC_TRANSACTION", "A"))
    _run(engine)
    rows = _details(engine)
    assert (rows["R-1"]["status"], rows["R-2"]["status"], rows["R-2"]["error_code"]) == ("SUCCESS", "FAIL", "100013")
    assert support.postings_for(engine, ["R-1", "R-2"]) == {"R-1": 1, "R-2": 0}
    assert support.balance(engine, "A") == fen("9")


def test_an_unexpected_error_fails_only_its_detail(engine, platform):
    support.make_users(engine, {"A": fen("10"), "B": 0})
    accept(engine, Clock(), P, "1", {"batchNo": "B-1", "bizDetails": [
        support.trade("R-1", "A", "B", "1"), support.trade("R-2", "A", "B", "2"), support.trade("R-3", "A", "B", "3")]})

    def flaky(conn, clock, platform_no, items):
        def one(request_no, trade):
            support.execute_transfer(conn, clock, platform_no, request_no, trade)
            if request_no == "R-2":
                raise RuntimeError("bug after the writes")  # the savepoint must undo R-2's writes
        return async_runner.run_items(conn, items, one)

    async_runner.run_until_idle(engine, Clock(), executor=flaky)
    rows = _details(engine)
    assert [rows[r]["status"] for r in ("R-1", "R-2", "R-3")] == ["SUCCESS", "FAIL", "SUCCESS"]
    assert rows["R-2"]["error_code"] == "100001" and "参考号" in rows["R-2"]["error_message"]
    assert support.postings_for(engine, ["R-1", "R-2", "R-3"]) == {"R-1": 1, "R-2": 0, "R-3": 1}
    assert support.balance(engine, "B") == fen("4")
    with engine.connect() as conn:
        assert requests.find(conn, P, "R-2") is None
    assert audit(engine) == []


def test_status_counts(engine, platform):
    support.make_users(engine, {"A": fen("1"), "B": 0})
    accept(engine, Clock(), P, "1", {"batchNo": "B-1", "bizDetails": [
        support.trade("R-1", "A", "B", "1"), support.trade("R-2", "A", "B", "1"), support.trade("R-3", "A", "B", "1")]})
    with engine.connect() as conn:
        assert async_runner.counts(conn) == {"details_pending": 3, "details_success": 0, "details_fail": 0,
                                             "batches_processing": 1, "batches_done": 0}
    _run(engine)
    with engine.connect() as conn:
        assert async_runner.counts(conn) == {"details_pending": 0, "details_success": 1, "details_fail": 2,
                                             "batches_processing": 0, "batches_done": 1}


def test_default_executor_runs_the_trade_core(engine, platform):
    """The default chunk executor is the real trade executor (custody/trades.execute)."""
    from cunguan.custody import platforms
    from cunguan.db import ledger_store
    from cunguan.ledger.ops import Transfer

    support.make_users(engine, {"A": 0})

    def fund_system(conn):
        sys_id = platforms.system_account(conn, P, "SYS_GENERATE_000").account_id
        ledger_store.apply(conn, [Transfer(platform.custody_account_id, sys_id, fen("10"), "TEST_FUNDING", "sys")])

    run_in_transaction(engine, fund_system)
    funds = {"tradeType": "FUNDS_TRANSFER", "details": [
        {"bizType": "FUNDS_TRANSFER", "sourcePlatformUserNo": "SYS_GENERATE_000", "targetPlatformUserNo": "A",
         "amount": "6"}]}
    accept(engine, Clock(), P, "1", {"batchNo": "B-1", "bizDetails": [
        {"requestNo": "F-1", **funds}, {"requestNo": "F-2", **funds}, {"requestNo": "F-3", "tradeType": "TENDER"}]})
    async_runner.run_until_idle(engine, Clock())  # executor=execute_chunk
    rows = _details(engine)
    assert (rows["F-1"]["status"], rows["F-2"]["status"], rows["F-2"]["error_code"]) == ("SUCCESS", "FAIL", "100014")
    assert rows["F-3"]["status"] == "FAIL" and rows["F-3"]["error_code"] == "100002"
    assert support.balance(engine, "A") == fen("6")
    with engine.connect() as conn:
        assert requests.find(conn, P, "F-1")["service_name"] == "ASYNC_TRANSACTION"
        assert requests.find(conn, P, "F-2") is None
    assert audit(engine) == []


def _extend_the_chain(engine) -> None:
    with engine.begin() as conn:  # SQLite: waits for the writer gate; PostgreSQL: for the chain's row lock
        conn.exec_driver_sql("UPDATE ledger_chain SET last_seq = last_seq WHERE id = 1")


def test_a_chunk_tells_whether_a_writer_queued_behind_it(engine, platform):
    """The background runner lengthens its chunks only after one that no writer waited for
    (`async_runner.chunk_target_s`). The writer here waits for the ledger chain's head, which the
    chunk's transfer wrote (PostgreSQL), or for the writer gate (SQLite)."""
    support.make_users(engine, {"A": fen("10"), "B": 0})
    accept(engine, Clock(), P, "1", {"batchNo": "B-1", "bizDetails": [
        support.trade(f"R-{i}", "A", "B", "1") for i in range(2)]})
    alone = async_runner.run_chunk(engine, Clock(), executor=support.transfer_executor, chunk_size=1)
    writers: list[threading.Thread] = []

    def executor_with_a_writer_queued(conn, clock, platform_no, items):
        outcomes = support.transfer_executor(conn, clock, platform_no, items)
        writers.append(threading.Thread(target=_extend_the_chain, args=(engine,)))
        writers[0].start()
        deadline = time.monotonic() + 10
        while not writers_waiting(conn) and time.monotonic() < deadline:
            time.sleep(0.01)
        return outcomes

    queued = async_runner.run_chunk(engine, Clock(), executor=executor_with_a_writer_queued, chunk_size=1)
    writers[0].join(30)
    assert (alone.details, queued.details) == (1, 1)
    assert (alone.writers_waiting, queued.writers_waiting) == (False, True)
    assert support.balance(engine, "B") == fen("2")
