"""Money over HTTP with the LanmaoClient against the live server and its money worker: the RECHARGE
page in a real browser, DIRECT_RECHARGE, AUTO_WITHDRAW (T+1 after settlement), confirm / cancel under
audit mode, interception with its BACKROLL_RECHARGE."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from cunguan.calendar_cn import next_working_day
from cunguan.clock import BEIJING
from cunguan.custody import advances, recharges, withdrawals
from cunguan.db.tx import run_in_transaction

from .conftest import PASSWORD, PLATFORM_NO, wait_for


def _balance(client, user_no: str) -> tuple[Decimal, Decimal]:
    data = client.call("QUERY_USER_INFORMATION", {"platformUserNo": user_no}).data
    return Decimal(str(data["balance"])), Decimal(str(data["availableAmount"]))


def _direct_recharge(client, site, user_no: str, request_no: str, amount: str) -> None:
    result = client.call("DIRECT_RECHARGE", {"requestNo": request_no, "platformUserNo": user_no, "amount": amount,
                                             "expectPayCompany": "YEEPAY", "rechargeWay": "PROXY"})
    assert result.outcome == "S", result.data
    assert result.data["rechargeStatus"] in ("PENDDING", "SUCCESS")
    site.wait_notify("DIRECT_RECHARGE", lambda d: d["requestNo"] == request_no and d["rechargeStatus"] == "SUCCESS")


def _settle(engine, clock, user_no: str) -> None:
    day = next_working_day(clock.beijing_date())
    clock.set(dt.datetime.combine(day, dt.time(12, 0), BEIJING))
    with engine.connect() as conn:
        conn.rollback()
    wait_for(lambda: _unsettled(engine, user_no) == 0, what="settlement applied by the money worker")


def _unsettled(engine, user_no: str) -> int:
    with engine.connect() as conn:
        return recharges.unsettled_fen(conn, PLATFORM_NO, user_no)


def test_recharge_page_in_the_browser(chromium, client, site, seed, engine):
    seed.user("U-PAGE")
    form = client.gateway_form("RECHARGE", {
        "requestNo": "RC-PAGE-1", "platformUserNo": "U-PAGE", "amount": "88.80", "commission": "0.80",
        "expectPayCompany": "YEEPAY", "rechargeWay": "WEB", "redirectUrl": f"{site.url}/return",
        "timestamp": client.timestamp()})
    context = chromium.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(site.start_page(form))
        page.wait_for_selector("#bank-form")
        assert "充值" in page.locator("#page-title").inner_text()
        assert page.locator("#send-sms").count() == 0
        page.fill("#f-password", "wrong-pass")
        page.click("#submit")
        assert "tries left" in page.locator("#error").inner_text()
        page.fill("#f-password", PASSWORD)
        page.click("#submit")
        page.wait_for_selector("#received")
    finally:
        context.close()
    callback = client.verify_notification(site.callbacks[0])
    assert callback["requestNo"] == "RC-PAGE-1" and callback["rechargeStatus"] == "PENDDING"
    note = site.wait_notify("RECHARGE", lambda d: d["requestNo"] == "RC-PAGE-1")
    assert note["rechargeStatus"] == "SUCCESS" and Decimal(str(note["commission"])) == Decimal("0.80")
    assert _balance(client, "U-PAGE") == (Decimal("88.00"), Decimal("88.00"))
    assert len([n for n in site.notifies if n["serviceName"] == "RECHARGE"]) == 1


def test_direct_recharge_then_auto_withdraw_t_plus_1(client, site, seed, engine, clock, live_server):
    seed.user("U-AW", auth_list="RECHARGE,WITHDRAW")
    refused = client.call("AUTO_WITHDRAW", {"requestNo": "AW-0", "platformUserNo": "U-AW", "withdrawType": "NORMAL",
                                            "amount": "1"})
    assert refused.outcome == "F" and refused.data["errorCode"] == "100014"
    _direct_recharge(client, site, "U-AW", "DR-AW", "1000")
    unsettled = client.call("AUTO_WITHDRAW", {"requestNo": "AW-1", "platformUserNo": "U-AW",
                                              "withdrawType": "NORMAL", "amount": "100"})
    assert unsettled.outcome == "F" and unsettled.data["errorCode"] == "100014"
    _settle(engine, clock, "U-AW")
    result = client.call("AUTO_WITHDRAW", {"requestNo": "AW-1", "platformUserNo": "U-AW", "withdrawType": "URGENT",
                                           "amount": "100", "commission": "1"})
    assert result.outcome == "S" and result.data["withdrawStatus"] == "ACCEPT"
    assert Decimal(str(result.data["floatAmount"])) == Decimal("0")
    channel = live_server.app.state.money_runtime.channel
    with engine.connect() as conn:
        order_no = withdrawals.find_withdrawal(conn, PLATFORM_NO, "AW-1")["order_no"]
    wait_for(lambda: channel.received_count(order_no) == 1 and _next_check_set(engine, "AW-1"),
             what="the payout handed to the channel")
    clock.advance(dt.timedelta(seconds=30))
    note = site.wait_notify("AUTO_WITHDRAW", lambda d: d["requestNo"] == "AW-1" and d["withdrawStatus"] == "SUCCESS")
    assert note["remitType"] == "URGENT"
    assert _balance(client, "U-AW") == (Decimal("900.00"), Decimal("900.00"))


def _next_check_set(engine, request_no: str) -> bool:
    """The worker recorded the channel's answer (the next look is due when the payout is)."""
    with engine.connect() as conn:
        row = withdrawals.find_withdrawal(conn, PLATFORM_NO, request_no)
    return row["status"] == "REMITING" and row["next_check_us"] <= row["remit_us"] + 30_000_000


def _status(engine, request_no: str) -> str | None:
    with engine.connect() as conn:
        row = withdrawals.find_withdrawal(conn, PLATFORM_NO, request_no)
    return None if row is None else row["status"]


def test_confirm_cancel_and_intercept_over_http(client, site, seed, engine, clock):
    seed.user("U-CF", auth_list="RECHARGE,WITHDRAW")
    _direct_recharge(client, site, "U-CF", "DR-CF", "1000")
    _settle(engine, clock, "U-CF")
    run_in_transaction(engine, lambda c: advances.set_settings(c, 1, PLATFORM_NO, audit_mode=True))
    for no in ("AW-C1", "AW-C2"):
        r = client.call("AUTO_WITHDRAW", {"requestNo": no, "platformUserNo": "U-CF", "withdrawType": "NORMAL",
                                          "amount": "100"})
        assert r.data["withdrawStatus"] == "CONFIRMING"
    site.wait_notify("AUTO_WITHDRAW", lambda d: d["requestNo"] == "AW-C1" and d["withdrawStatus"] == "CONFIRMING")
    assert _balance(client, "U-CF") == (Decimal("1000.00"), Decimal("800.00"))
    ok = client.call("CONFIRM_WITHDRAW", {"requestNo": "CF-1", "preTransactionNo": "AW-C1", "withdrawType": "NORMAL"})
    assert ok.outcome == "S" and ok.data["withdrawStatus"] == "ACCEPT"
    again = client.call("CONFIRM_WITHDRAW", {"requestNo": "CF-2", "preTransactionNo": "AW-C1"})
    assert again.data["errorMessage"] == "冻结订单可用金额不足" and again.outcome == "P"
    cancel = client.call("CANCEL_WITHDRAW", {"requestNo": "CN-1", "preTransactionNo": "AW-C2"})
    assert cancel.outcome == "S"
    twice = client.call("CANCEL_WITHDRAW", {"requestNo": "CN-2", "preTransactionNo": "AW-C2"})
    assert twice.outcome == "F" and twice.data["errorMessage"] == "冻结金额不足"
    assert _balance(client, "U-CF") == (Decimal("1000.00"), Decimal("900.00"))
    # AW-C1 is ACCEPT (NORMAL, waiting for the 23:00 cut-off): intercept it
    icpt = client.call("INTERCEPT_WITHDRAW", {"requestNo": "IC-1", "withdrawRequestNo": "AW-C1"})
    assert icpt.outcome == "S" and icpt.data["interceptStatus"] == "SUCCESS"
    back = site.wait_notify("BACKROLL_RECHARGE", lambda d: d["withdrawRequestNo"] == "AW-C1")
    assert back["rollbackType"] == "INTERCEPT" and Decimal(str(back["rollbackAmount"])) == Decimal("100.00")
    late = client.call("INTERCEPT_WITHDRAW", {"requestNo": "IC-2", "withdrawRequestNo": "AW-C1"})
    assert late.outcome == "F" and late.data["errorMessage"] == "提现订单状态不为ACCEPT"
    missing = client.call("INTERCEPT_WITHDRAW", {"requestNo": "IC-3", "withdrawRequestNo": "NOPE"})
    assert missing.data["errorMessage"] == "提现订单不存在"
    assert _balance(client, "U-CF") == (Decimal("1000.00"), Decimal("1000.00"))
