"""Migrated users end to end: ACTIVATE_STOCKED_USER in a real browser (the platform's auto-posting form →
the bank's page: SMS code to the imported mobile, new trade password → the signed CALLBACK and the
NOTIFY), CHANGE_USER_BANKCARD and QUERY_USER_INFORMATION over HTTP with the platform's LanmaoClient."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from cunguan.custody.sample_identities import make_card
from cunguan.db.tables.notify import notify_outbox
from cunguan.notify import sms_gateway

PASSWORD = "Secret-123"


def _call(client, service: str, data: dict):
    result = client.call(service, data)
    assert result.http_status == 200 and result.signature_valid, result.body
    return result.data


def _activate_in_browser(page, client, site, engine, *, user_no: str, request_no: str, mobile: str,
                         **extra: str) -> dict:
    data = {"platformUserNo": user_no, "requestNo": request_no, "checkType": "LIMIT",
            "redirectUrl": f"{site.url}/return", "timestamp": client.timestamp(), **extra}
    page.goto(site.start_page(client.gateway_form("ACTIVATE_STOCKED_USER", data)))
    page.wait_for_selector("#bank-form")
    assert "会员激活" in page.locator("#page-title").inner_text()
    page.click("#send-sms")
    page.wait_for_selector("#notice")
    with engine.connect() as conn:
        code = sms_gateway.latest_code(conn, mobile)
    assert code is not None
    page.fill("#f-sms_code", code)
    page.fill("#f-password", PASSWORD)
    page.fill("#f-password_confirm", PASSWORD)
    page.click("#submit")
    page.wait_for_selector("#received")
    form = next(f for f in site.callbacks if request_no in f["respData"])
    assert form["responseType"] == "CALLBACK" and form["serviceName"] == "ACTIVATE_STOCKED_USER"
    return client.verify_notification(form)  # signed with the bank key over respData


def test_activation_page_in_the_browser(browse, client, site, engine, bank, imported, people, live_server):
    p = people["U001"]
    bank.add_card(p["bankcardNo"], real_name=p["name"], id_card_no=p["idCardNo"], mobile=p["mobile"])
    before = _call(client, "QUERY_USER_INFORMATION", {"platformUserNo": "U001"})
    assert before["isImportUserActivate"] is False and before["activeStatus"] == "DEACTIVATED"
    assert before["balance"] == Decimal("1000.00")

    resp = browse(lambda page: _activate_in_browser(page, client, site, engine, user_no="U001",
                                                    request_no="ACT-E2E-1", mobile=p["mobile"], cardChange="UNMOD",
                                                    authList="TENDER", failTime="20291231", amount="20000"))
    assert resp["code"] == "0" and resp["status"] == "SUCCESS" and resp["requestNo"] == "ACT-E2E-1"
    assert resp["cardNolsChange"] == "FALSE" and resp["accessType"] == "FULL_CHECKED"
    assert resp["auditStatus"] == "PASSED" and resp["userRole"] == "INVESTOR" and resp["bankcode"] == "ICBK"
    assert resp["failTime"] == "20291231" and resp["amount"] == 20000
    assert p["bankcardNo"] not in str(resp) and resp["bankcardNo"][-4:] == p["bankcardNo"][-4:]
    notified = site.wait_notify("ACT-E2E-1")  # delivered by the app's worker
    assert client.verify_notification(notified)["cardNolsChange"] == "FALSE"
    with engine.connect() as conn:
        rows = conn.execute(select(notify_outbox).where(notify_outbox.c.biz_ref == "ACT-E2E-1")).mappings().all()
    assert len(rows) == 1 and rows[0]["service_name"] == "ACTIVATE_STOCKED_USER"
    after = _call(client, "QUERY_USER_INFORMATION", {"platformUserNo": "U001"})
    assert after["isImportUserActivate"] is True and after["activeStatus"] == "ACTIVATED"
    assert after["authList"] == "TENDER" and after["balance"] == Decimal("1000.00")


def test_change_user_bankcard_then_activate_over_http(browse, client, site, engine, bank, imported, people,
                                                      live_server):
    p = people["U007"]  # imported with a card of an unsupported bank
    q = _call(client, "QUERY_USER_INFORMATION", {"platformUserNo": "U007"})
    assert q["isImportUserActivate"] is False and q["balance"] == Decimal("10.00")
    new_card = make_card("622588", serial=7007)
    bank.add_card(new_card, real_name=p["name"], id_card_no=p["idCardNo"], mobile=p["mobile"])
    bad = _call(client, "CHANGE_USER_BANKCARD", {"requestNo": "CHG-E2E-0", "platformUserNo": "U007",
                                                 "bankcardNo": make_card("999999", serial=7008),
                                                 "timestamp": client.timestamp()})
    assert bad["code"] == "1" and bad["errorCode"] == "100012"
    ok = _call(client, "CHANGE_USER_BANKCARD", {"requestNo": "CHG-E2E-1", "platformUserNo": "U007",
                                                "bankcardNo": new_card, "timestamp": client.timestamp()})
    assert ok["code"] == "0" and ok["status"] == "SUCCESS" and ok["requestNo"] == "CHG-E2E-1"
    assert ok["bankcode"] == "CMBC" and new_card not in str(ok)
    again = _call(client, "CHANGE_USER_BANKCARD", {"requestNo": "CHG-E2E-1", "platformUserNo": "U007",
                                                   "bankcardNo": new_card, "timestamp": client.timestamp()})
    assert again["errorCode"] == "100013"
    q = _call(client, "QUERY_USER_INFORMATION", {"platformUserNo": "U007"})
    assert q["isImportUserActivate"] is False and q["bankcode"] == "CMBC"

    resp = browse(lambda page: _activate_in_browser(page, client, site, engine, user_no="U007",
                                                    request_no="ACT-E2E-7", mobile=p["mobile"]))
    assert resp["code"] == "0" and resp["cardNolsChange"] == "FALSE" and resp["bankcode"] == "CMBC"
    q = _call(client, "QUERY_USER_INFORMATION", {"platformUserNo": "U007"})
    assert q["isImportUserActivate"] is True and q["activeStatus"] == "ACTIVATED"
    late = _call(client, "CHANGE_USER_BANKCARD", {"requestNo": "CHG-E2E-2", "platformUserNo": "U007",
                                                  "bankcardNo": make_card("622588", serial=7009),
                                                  "timestamp": client.timestamp()})
    assert late["code"] == "1" and late["errorCode"] == "100008"
