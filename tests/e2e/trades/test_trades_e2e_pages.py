"""USER_PRE_TRANSACTION and VERIFY_DEDUCT on the bank's pages, completed in the shared Chromium: the
trade password confirms, the freeze (or payment) happens once, CALLBACK and NOTIFY say SUCCESS."""

from __future__ import annotations

from decimal import Decimal

from cunguan.money import parse_yuan


def _open(page, client, site, service: str, data: dict) -> None:
    base = {"redirectUrl": f"{site.url}/return", "timestamp": client.timestamp()}
    page.goto(site.start_page(client.gateway_form(service, {**base, **data})))
    page.wait_for_selector("#bank-form")


def test_user_pre_transaction_page(chromium, client, site, world, live_server):
    world.register("B", role="BORROWERS")
    world.register("INV", fund=500)
    assert client.call("ESTABLISH_PROJECT", {
        "requestNo": "EST-PG", "platformUserNo": "B", "projectNo": "PG-1", "projectAmount": "1000",
        "projectName": "页面标的", "projectType": "STANDARDPOWDER", "annnualInterestRate": "0.1",
        "repaymentWay": "ONE_TIME_SERVICING"}).outcome == "S"
    context = chromium.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        _open(page, client, site, "USER_PRE_TRANSACTION", {
            "requestNo": "PG-BID-1", "platformUserNo": "INV", "bizType": "TENDER", "amount": "300",
            "preMarketingAmount": "3", "projectNo": "PG-1", "expired": world.expired_in(20)})
        assert "冻结资金" in page.locator("#page-title").inner_text()
        assert page.locator("#send-sms").count() == 0  # the trade password confirms the bid
        page.fill("#f-password", "wrong-pass")
        page.click("#submit")
        assert "tries left" in page.locator("#error").inner_text()
        assert world.balance("INV") == (parse_yuan("500"), 0)  # a wrong password freezes nothing
        page.fill("#f-password", "abc12345")
        page.click("#submit")
        page.wait_for_selector("#received")
        resp = client.verify_notification(site.callbacks[0])
        assert resp["code"] == "0" and resp["status"] == "SUCCESS" and resp["requestNo"] == "PG-BID-1"
        assert resp["bizType"] == "TENDER" and resp["platformUserNo"] == "INV"
    finally:
        context.close()
    notify = client.verify_notification(site.wait_notify("PG-BID-1"))
    assert notify["status"] == "SUCCESS"
    assert world.balance("INV") == (parse_yuan("500"), parse_yuan("300"))
    q = client.call("QUERY_PROJECT_INFORMATION", {"projectNo": "PG-1"})
    assert q.data["tenderAmount"] == 300
    world.audit_clean()


def test_verify_deduct_page(chromium, client, site, world, live_server):
    world.register("PAY", fund=20)
    context = chromium.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        _open(page, client, site, "VERIFY_DEDUCT", {
            "requestNo": "VD-PG-1", "platformUserNo": "PAY", "targetPlatformUserNo": "SYS_GENERATE_004",
            "amount": "12.5", "customDefine": "会员服务费", "expired": world.expired_in(20)})
        page.fill("#f-password", "abc12345")
        page.click("#submit")
        page.wait_for_selector("#received")
        resp = client.verify_notification(site.callbacks[0])
        assert resp["status"] == "SUCCESS" and resp["amount"] == Decimal("12.50")
        assert resp["targetPlatformUserNo"] == "SYS_GENERATE_004"
    finally:
        context.close()
    assert world.balance("PAY") == (parse_yuan("7.5"), 0)
    assert world.balance("SYS_GENERATE_004") == (parse_yuan("12.5"), 0)
    world.audit_clean()
