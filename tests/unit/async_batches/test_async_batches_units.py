"""Pure parts of ASYNC_TRANSACTION: request parsing, the NOTIFY body, outcomes, settings."""

from __future__ import annotations

import json
from decimal import Decimal
from types import SimpleNamespace

import pytest

from cunguan.api import background
from cunguan.custody import async_runner
from cunguan.custody.async_batches import (
    MAX_DETAILS_PER_BATCH,
    TRADE_TYPES,
    DuplicateDetailRequestNo,
    StoredRefusal,
    parse_batch,
    stored_trade,
)
from cunguan.custody.async_runner import DetailOutcome, notify_resp_data, outcome_of_error
from cunguan.custody.trade_rules import parse_trade
from cunguan.custody.user_errors import InvalidField
from cunguan.ledger.errors import InsufficientAvailable, SameAccount
from cunguan.money import AmountError
from cunguan.notify.payload import MAX_RESP_DATA_CHARS
from cunguan.settings import int_setting


def _item(request_no, **extra):
    return {"requestNo": request_no, "tradeType": "TENDER", "projectNo": "P-1",
            "details": [{"bizType": "TENDER", "amount": Decimal("100.10"), "freezeRequestNo": "F-1"}], **extra}


def test_parse_stores_each_trade_parsed_compact_and_exact():
    batch = parse_batch({"batchNo": " B-1 ", "bizDetails": [_item("R-1", commission=None), _item("R-2")],
                         "timestamp": "20261123120000"})
    assert batch.batch_no == "B-1" and [d.request_no for d in batch.details] == ["R-1", "R-2"]
    stored = batch.details[0].req_data
    assert stored == '["P","TENDER","P-1",null,[["TENDER","F-1",null,null,10010,0,null,null,null]]]'
    trade = stored_trade("R-1", stored)
    assert trade == parse_trade("R-1", _item("R-1"))  # exactly what the executor would have parsed


def test_a_detail_the_rules_refuse_is_stored_with_its_refusal():
    bad = _item("R-1", details=[{"bizType": "TENDER", "amount": Decimal("1.001"), "freezeRequestNo": "F-1"}])
    stored = parse_batch({"batchNo": "B-1", "bizDetails": [bad]}).details[0].req_data
    refusal = stored_trade("R-1", stored)
    assert isinstance(refusal, StoredRefusal) and refusal.code == "100002" and "2 decimals" in refusal.message
    try:
        parse_trade("R-1", bad)
    except InvalidField as exc:
        assert exc.message == refusal.message  # the message the executor itself would have given
    outcome = outcome_of_error(refusal, "R-1")
    assert (outcome.ok, outcome.error_code) == (False, "100002")


def test_trades_that_run_alone_keep_the_detail_as_sent():
    auto = {"requestNo": "R-1", "tradeType": "AUTO_TENDER", "projectNo": "P-1",
            "details": [{"bizType": "TENDER", "amount": Decimal("100.10"), "sourcePlatformUserNo": "U"}]}
    stored = parse_batch({"batchNo": "B-1", "bizDetails": [auto]}).details[0].req_data
    assert stored.startswith('{"tradeType":"AUTO_TENDER"') and '"amount":100.10' in stored
    trade = stored_trade("R-1", stored)
    assert "requestNo" not in trade and trade["details"][0]["amount"] == Decimal("100.10")


@pytest.mark.parametrize(("items", "field"), [
    ([_item("R-1"), {"requestNo": "R-2"}], "bizDetails[1].tradeType"),
    ([_item("R-1", tradeType="tender")], "bizDetails[0].tradeType"),
    ([_item("R-1", details={"bizType": "TENDER"})], "bizDetails[0].details"),
    ([_item("R-1", details=[1, 2])], "bizDetails[0].details"),
    ([_item("R-1", saleRequestNo=5)], "bizDetails[0].saleRequestNo"),
    ([_item("R\x01")], "bizDetails[0].requestNo"),
    ([_item("")], "bizDetails[0].requestNo"),
])
def test_parse_names_the_faulty_field(items, field):
    with pytest.raises(InvalidField) as info:
        parse_batch({"batchNo": "B-1", "bizDetails": items})
    assert (info.value.code, info.value.field) == ("100002", field)


def test_parse_duplicate_inside_the_batch():
    with pytest.raises(DuplicateDetailRequestNo) as info:
        parse_batch({"batchNo": "B-1", "bizDetails": [_item("R-1"), _item("R-1")]})
    assert (info.value.code, info.value.field) == ("100013", "bizDetails[1].requestNo")


def test_every_trade_type_of_the_spec_is_accepted():
    batch = parse_batch({"batchNo": "B", "bizDetails": [{"requestNo": f"R-{t}", "tradeType": t} for t in TRADE_TYPES]})
    assert [d.trade_type for d in batch.details] == list(TRADE_TYPES)


def _row(no, status, code=None, message=None):
    return SimpleNamespace(request_no=no, trade_type="REPAYMENT", created_us=1_763_870_400_000_000,
                           done_us=1_763_870_401_500_000, status=status, error_code=code, error_message=message)


def test_notify_body():
    body = notify_resp_data("B-1", [_row("R-1", "SUCCESS"), _row("R-2", "FAIL", "100014", "余额不足")])
    assert body == {"code": "0", "status": "SUCCESS", "batchNo": "B-1", "details": [
        {"asyncRequestNo": "R-1", "bizType": "REPAYMENT", "bizOrigin": "DISPERSION", "createTime": "20251123120000",
         "transactionTime": "20251123120001", "status": "SUCCESS"},
        {"asyncRequestNo": "R-2", "bizType": "REPAYMENT", "bizOrigin": "DISPERSION", "createTime": "20251123120000",
         "transactionTime": "20251123120001", "status": "FAIL", "errorCode": "100014", "errorMessage": "余额不足"}]}


def test_a_full_batch_notify_fits_the_outbox_limit():
    """Why a batch's NOTIFY is never split: the worst case (every detail failed, longest numbers and
    messages) stays under the outbox's respData limit."""
    rows = [_row(f"{i:050d}", "FAIL", "100001", "系" * async_runner.MAX_ERROR_MESSAGE)
            for i in range(MAX_DETAILS_PER_BATCH)]
    for r in rows:
        r.trade_type = "AUTO_INDIRECT_COMPENSATORY"
    text = json.dumps(notify_resp_data("B" * 50, rows), ensure_ascii=False, separators=(",", ":"))
    assert len(text) < MAX_RESP_DATA_CHARS


def test_outcomes_of_errors():
    assert outcome_of_error(InvalidField("amount is bad", field="amount"), "R") == DetailOutcome(
        False, "100002", InvalidField("amount is bad").message)
    assert outcome_of_error(InsufficientAvailable("short"), "R").error_code == "100014"
    assert outcome_of_error(SameAccount("same"), "R").error_code == "100008"
    assert outcome_of_error(AmountError("3 decimals"), "R").error_code == "100002"
    bug = outcome_of_error(KeyError("x"), "R")
    assert bug.error_code == "100001" and "参考号" in bug.error_message
    long = DetailOutcome.failure("100008", "x" * 1000)
    assert len(long.error_message) == async_runner.MAX_ERROR_MESSAGE
    with pytest.raises(AssertionError):
        DetailOutcome.failure("E1", "no vendor code")


def test_runtime_settings():
    app = SimpleNamespace(state=SimpleNamespace())
    assert background.worker_enabled(app, {}, "async") is True
    assert background.worker_enabled(app, {"CUNGUAN_ASYNC_WORKER": "off"}, "async") is False
    app.state.async_worker = False
    assert background.worker_enabled(app, {}, "async") is False
    with pytest.raises(ValueError, match="CUNGUAN_ASYNC_WORKER"):
        background.worker_enabled(SimpleNamespace(state=SimpleNamespace()), {"CUNGUAN_ASYNC_WORKER": "maybe"}, "async")
    assert int_setting({"X": "3"}, "X", 1, 1, 8) == 3
    assert int_setting({}, "X", 1, 1, 8) == 1
    for bad in ("0", "9", "two"):
        with pytest.raises(ValueError, match="X must"):
            int_setting({"X": bad}, "X", 1, 1, 8)


def test_background_chunks_aim_at_a_bounded_duration():
    assert async_runner.TARGET_CHUNK_S == 0.15
    assert async_runner.next_chunk_size(0.002, 500) == 75  # 2 ms a detail → 0.15 s chunks
    assert async_runner.next_chunk_size(0.00001, 500) == 500  # fast executor: the configured maximum
    assert async_runner.next_chunk_size(1.0, 500) == async_runner.MIN_CHUNK  # slow: never below the floor
    assert async_runner.next_chunk_size(1.0, 5) == 5
    assert async_runner.next_chunk_size(0.0, 500) == 500


def test_chunks_grow_only_while_no_writer_waits():
    assert async_runner.chunk_target_s(True) == async_runner.TARGET_CHUNK_S  # someone queued behind the last chunk
    assert async_runner.chunk_target_s(None) == async_runner.TARGET_CHUNK_S  # the last chunk found nothing
    assert async_runner.chunk_target_s(False) == async_runner.UNCONTENDED_CHUNK_S > async_runner.TARGET_CHUNK_S
    per_detail_s = 2**-12  # ~0.24 ms, exact in binary
    assert async_runner.next_chunk_size(per_detail_s, 5000, async_runner.chunk_target_s(False)) == 2457  # 0.6 s
    assert async_runner.next_chunk_size(per_detail_s, 5000, async_runner.chunk_target_s(True)) == 614  # 0.15 s
