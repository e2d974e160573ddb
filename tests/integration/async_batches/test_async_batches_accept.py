"""Acceptance of ASYNC_TRANSACTION batches: what is stored, and that every refusal stores nothing."""

from __future__ import annotations

import async_batches_support as support
import pytest
from sqlalchemy import func, select

from cunguan.clock import Clock
from cunguan.custody import async_batches, requests
from cunguan.custody.async_batches import MAX_DETAILS_PER_BATCH, accept, stored_trade
from cunguan.db.tables.custody_async import custody_async_batches, custody_async_details
from cunguan.db.tables.custody_users import custody_requests
from cunguan.db.tx import run_in_transaction

P = support.PLATFORM_NO


def _counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(custody_async_batches)).scalar_one(),
                conn.execute(select(func.count()).select_from(custody_async_details)).scalar_one(),
                conn.execute(select(func.count()).select_from(custody_requests)).scalar_one())


def _batch(batch_no: str, *request_nos: str) -> dict:
    return {"batchNo": batch_no, "bizDetails": [support.trade(r, "A", "B", "1.50") for r in request_nos]}


def test_accept_stores_the_batch_and_every_detail_pending(engine, platform):
    accepted = accept(engine, Clock(), P, "1", _batch("B-1", "R-1", "R-2", "R-3"))
    assert accepted.detail_count == 3 and accepted.wire() == {"batchNo": "B-1", "detailCount": 3}
    with engine.connect() as conn:
        batch = conn.execute(select(custody_async_batches)).mappings().one()
        rows = conn.execute(select(custody_async_details).order_by(custody_async_details.c.id)).mappings().all()
    assert (batch["batch_no"], batch["status"], batch["detail_count"], batch["done_count"]) == ("B-1", "PROCESSING", 3, 0)
    assert [r["request_no"] for r in rows] == ["R-1", "R-2", "R-3"]
    assert {r["status"] for r in rows} == {"PENDING"} and {r["batch_id"] for r in rows} == {batch["id"]}
    stored = stored_trade("R-1", rows[0]["req_data"])  # parsed at acceptance, exactly
    assert stored.trade_type == "FUNDS_TRANSFER" and stored.details[0].amount_fen == 150
    assert " " not in rows[0]["req_data"]  # compact


@pytest.mark.parametrize(("req", "code", "field"), [
    ({"bizDetails": [support.trade("R-1", "A", "B", 1)]}, "100002", "batchNo"),
    ({"batchNo": "x" * 51, "bizDetails": [support.trade("R-1", "A", "B", 1)]}, "100002", "batchNo"),
    ({"batchNo": "B-9"}, "100002", "bizDetails"),
    ({"batchNo": "B-9", "bizDetails": []}, "100002", "bizDetails"),
    ({"batchNo": "B-9", "bizDetails": "R-1"}, "100002", "bizDetails"),
    ({"batchNo": "B-9", "bizDetails": [support.trade("R-1", "A", "B", 1), 7]}, "100002", "bizDetails[1]"),
    ({"batchNo": "B-9", "bizDetails": [{"tradeType": "FUNDS_TRANSFER"}]}, "100002", "bizDetails[0].requestNo"),
    ({"batchNo": "B-9", "bizDetails": [{"requestNo": "R-1", "tradeType": "LOTTERY"}]}, "100002",
     "bizDetails[0].tradeType"),
    ({"batchNo": "B-9", "bizDetails": [{"requestNo": "R-1", "tradeType": "TENDER", "details": "x"}]}, "100002",
     "bizDetails[0].details"),
    ({"batchNo": "B-9", "bizDetails": [{"requestNo": "R-1", "tradeType": "TENDER", "projectNo": "p" * 51}]},
     "100002", "bizDetails[0].projectNo"),
    ({"batchNo": "B-9", "bizDetails": [support.trade("R-1", "A", "B", 1), support.trade("R-2", "A", "B", 1),
                                       support.trade("R-1", "A", "B", 1)]}, "100013", "bizDetails[2].requestNo"),
])
def test_refused_batches_change_nothing(engine, platform, req, code, field):
    before = _counts(engine)
    with pytest.raises(Exception) as info:
        accept(engine, Clock(), P, "1", req)
    assert (info.value.code, info.value.field) == (code, field)
    assert _counts(engine) == before == (0, 0, 0)


def test_batch_size_limit(engine, platform):
    over = {"batchNo": "B-big", "bizDetails": [support.trade(f"R-{i}", "A", "B", 1)
                                               for i in range(MAX_DETAILS_PER_BATCH + 1)]}
    with pytest.raises(async_batches.InvalidField) as info:
        accept(engine, Clock(), P, "1", over)
    assert info.value.field == "bizDetails" and str(MAX_DETAILS_PER_BATCH) in info.value.message
    assert _counts(engine) == (0, 0, 0)
    over["bizDetails"].pop()
    assert accept(engine, Clock(), P, "1", over).detail_count == MAX_DETAILS_PER_BATCH
    assert _counts(engine)[1] == MAX_DETAILS_PER_BATCH


def test_duplicate_batch_no(engine, platform):
    accept(engine, Clock(), P, "1", _batch("B-1", "R-1"))
    with pytest.raises(async_batches.DuplicateBatchNo) as info:
        accept(engine, Clock(), P, "1", _batch("B-1", "R-2"))
    assert (info.value.code, info.value.field) == ("100013", "batchNo")
    assert _counts(engine) == (1, 1, 0)


def test_duplicate_request_no_across_batches_and_with_the_register(engine, platform):
    accept(engine, Clock(), P, "1", _batch("B-1", "R-1", "R-2"))
    with pytest.raises(async_batches.DuplicateDetailRequestNo) as info:
        accept(engine, Clock(), P, "1", _batch("B-2", "R-3", "R-2"))
    assert (info.value.code, info.value.field) == ("100013", "bizDetails[1].requestNo")
    # a requestNo a direct service already used on the platform
    run_in_transaction(engine, lambda c: requests.claim(c, Clock(), P, "SYNC-1", "SYNC_TRANSACTION", None))
    with pytest.raises(async_batches.DuplicateDetailRequestNo) as info:
        accept(engine, Clock(), P, "1", _batch("B-3", "SYNC-1"))
    assert info.value.field == "bizDetails[0].requestNo"
    assert _counts(engine) == (1, 2, 1)


def test_numbers_are_per_platform(engine, platform):
    support.make_platform(engine, "6000000002")
    accept(engine, Clock(), P, "1", _batch("B-1", "R-1"))
    accept(engine, Clock(), "6000000002", "1", _batch("B-1", "R-1"))  # same numbers, other platform
    assert _counts(engine)[:2] == (2, 2)
