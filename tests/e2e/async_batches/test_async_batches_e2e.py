"""ASYNC_TRANSACTION over HTTP: a signed batch from the LanmaoClient, settled by the server's runner,
its NOTIFY received and verified at the platform's notify URL."""

from __future__ import annotations

import async_batches_support as support

from cunguan.custody import platforms
from cunguan.custody.async_batches import MAX_DETAILS_PER_BATCH
from cunguan.db import ledger_store
from cunguan.db.ledger_audit import audit
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer

P = support.PLATFORM_NO
fen = support.fen


def test_batch_over_http_is_settled_and_notified(engine, live_server, make_lanmao_platform, receiver):
    client = make_lanmao_platform(P, notify_url=receiver.url)
    live_server.app.state.async_executor = support.transfer_executor
    support.make_users(engine, {"A": fen("50"), "B": 0})
    items = [support.trade(f"R-{i}", "A", "B", "10") for i in range(6)]  # the 6th is short
    result = client.call("ASYNC_TRANSACTION", {"batchNo": "B-1", "bizDetails": items})
    assert result.outcome == "S" and result.signature_valid
    assert (result.data["code"], result.data["status"], result.data["batchNo"]) == ("0", "SUCCESS", "B-1")

    form = receiver.wait_for("B-1")
    assert (form["serviceName"], form["responseType"], form["platformNo"]) == ("ASYNC_TRANSACTION", "NOTIFY", P)
    resp = client.verify_notification(form)  # signed by the bank
    assert [(d["asyncRequestNo"], d["status"]) for d in resp["details"]] == [
        *[(f"R-{i}", "SUCCESS") for i in range(5)], ("R-5", "FAIL")]
    assert resp["details"][5]["errorCode"] == "100014"
    assert {d["bizType"] for d in resp["details"]} == {"FUNDS_TRANSFER"}
    assert {d["bizOrigin"] for d in resp["details"]} == {"DISPERSION"}
    assert (support.balance(engine, "A"), support.balance(engine, "B")) == (0, fen("50"))
    assert audit(engine) == []

    again = client.call("ASYNC_TRANSACTION", {"batchNo": "B-1", "bizDetails": [support.trade("R-9", "B", "A", "1")]})
    assert (again.outcome, again.code, again.error_code) == ("F", "1", "100013")
    reused = client.call("ASYNC_TRANSACTION", {"batchNo": "B-2", "bizDetails": [support.trade("R-0", "B", "A", "1")]})
    assert (reused.outcome, reused.error_code) == ("F", "100013")
    too_many = client.call("ASYNC_TRANSACTION", {"batchNo": "B-3", "bizDetails": [
        support.trade(f"X-{i}", "B", "A", "1") for i in range(MAX_DETAILS_PER_BATCH + 1)]})
    assert (too_many.outcome, too_many.error_code) == ("F", "100002")
    assert support.balance(engine, "B") == fen("50")


def test_default_executor_over_http(engine, live_server, make_lanmao_platform, receiver):
    """No executor set: the server settles with the trade core (custody/trades)."""
    client = make_lanmao_platform(P, notify_url=receiver.url)
    support.make_users(engine, {"A": 0})

    def fund(conn):
        p = platforms.get_platform(conn, P)
        sys_id = platforms.system_account(conn, P, "SYS_GENERATE_000").account_id
        ledger_store.apply(conn, [Transfer(p.custody_account_id, sys_id, fen("3"), "TEST_FUNDING", "sys")])

    run_in_transaction(engine, fund)
    detail = {"tradeType": "FUNDS_TRANSFER", "details": [{"bizType": "FUNDS_TRANSFER", "amount": 2,
                                                          "sourcePlatformUserNo": "SYS_GENERATE_000",
                                                          "targetPlatformUserNo": "A"}]}
    result = client.call("ASYNC_TRANSACTION", {"batchNo": "B-7", "bizDetails": [
        {"requestNo": "F-1", **detail}, {"requestNo": "F-2", **detail}]})
    assert result.outcome == "S"
    resp = client.verify_notification(receiver.wait_for("B-7"))
    assert [(d["status"], d.get("errorCode")) for d in resp["details"]] == [("SUCCESS", None), ("FAIL", "100014")]
    assert support.balance(engine, "A") == fen("2")
    assert audit(engine) == []
