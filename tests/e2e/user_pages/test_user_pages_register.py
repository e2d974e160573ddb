"""PERSONAL_REGISTER_EXPAND in a real browser: the platform's auto-posting form → the bank's page
(four elements, SMS code, trade password) → the signed CALLBACK on the platform's return page, and
the NOTIFY queued with it (and delivered by the app's worker)."""

from __future__ import annotations

import json

from sqlalchemy import select

from cunguan.custody import user_store
from cunguan.db.tables.custody_users import custody_passwords
from cunguan.db.tables.page_sessions import gateway_page_sessions


def _reg_data(client, site, user_no: str, request_no: str, **extra) -> dict:
    data = {"platformUserNo": user_no, "requestNo": request_no, "userRole": "INVESTOR", "checkType": "LIMIT",
            "idCardType": "PRC_ID", "redirectUrl": f"{site.url}/return", "timestamp": client.timestamp()}
    data.update(extra)
    return data


def test_personal_register_end_to_end(browse, client, site, h, engine, live_server):
    def scenario(page):
        p = h.person("U-REG-1")
        data = _reg_data(client, site, p.user_no, "REQ-REG-1", realName=p.name, expired=h.expired_in(10))
        page.goto(site.start_page(client.gateway_form("PERSONAL_REGISTER_EXPAND", data)))
        page.wait_for_selector("#bank-form")
        assert page.locator("body").get_attribute("data-layout") == "pc"
        assert "个人开户" in page.locator("#page-title").inner_text()
        assert page.locator("#f-real_name").get_attribute("readonly") is not None  # prefilled by the platform
        page.fill("#f-id_card_no", p.id_card_no)
        page.fill("#f-bankcard_no", p.card)
        page.fill("#f-mobile", p.mobile)
        page.click("#send-sms")
        page.wait_for_selector("#notice")
        assert page.locator("#f-id_card_no").input_value() == p.id_card_no  # kept across the SMS round trip
        page.fill("#f-sms_code", h.sms_code(p.mobile))
        page.fill("#f-password", "Secret-123")
        page.fill("#f-password_confirm", "Secret-123")
        page.click("#submit")
        page.wait_for_selector("#received")
        assert page.url == f"{site.url}/return"
        assert len(site.callbacks) == 1
        form = site.callbacks[0]
        assert form["responseType"] == "CALLBACK" and form["serviceName"] == "PERSONAL_REGISTER_EXPAND"
        assert form["platformNo"] == "6000000001" and form["keySerial"] == "1" and form["userDevice"] == "PC"
        resp = client.verify_notification(form)  # signed with the bank key over respData
        assert resp["code"] == "0" and resp["status"] == "SUCCESS" and resp["requestNo"] == "REQ-REG-1"
        assert resp["platformUserNo"] == p.user_no and resp["accessType"] == "FULL_CHECKED"
        assert resp["auditStatus"] == "PASSED" and p.card not in form["respData"] and p.id_card_no not in form["respData"]
        rows = h.notify_rows("REQ-REG-1")
        assert len(rows) == 1 and rows[0]["response_type"] == "NOTIFY"
        assert rows[0]["resp_data"] == form["respData"]  # NOTIFY and CALLBACK carry the same respData
        notified = site.wait_notify("REQ-REG-1")  # the app's worker delivers it
        assert client.verify_notification(notified)["requestNo"] == "REQ-REG-1"
        with engine.connect() as conn:
            user = user_store.get_user(conn, "6000000001", p.user_no)
            assert user.active and user.mobile == p.mobile
            stored = conn.execute(select(custody_passwords.c.password_hash)
                                  .where(custody_passwords.c.user_id == user.id)).scalar_one()
            assert "Secret-123" not in stored
            session = conn.execute(select(gateway_page_sessions)).mappings().one()
            assert session["status"] == "DONE" and session["req_data"] == "{}"  # no prefilled numbers kept
        assert "Secret-123" not in json.dumps(dict(session), default=str)

    browse(scenario)


def test_register_errors_are_shown_and_retry_works(browse, client, site, h, engine, live_server):
    def scenario(page):
        p = h.person("U-REG-2")
        data = _reg_data(client, site, p.user_no, "REQ-REG-2", realName=p.name, idCardNo=p.id_card_no,
                         bankcardNo=p.card, mobile=p.mobile)
        page.goto(site.start_page(client.gateway_form("PERSONAL_REGISTER_EXPAND", data)))
        page.wait_for_selector("#bank-form")
        # no code asked for yet
        page.fill("#f-password", "Secret-123")
        page.fill("#f-password_confirm", "Secret-123")
        page.click("#submit")
        assert "SMS code" in page.locator("#error").inner_text()
        assert page.locator("#f-password").input_value() == ""  # passwords are never echoed back
        page.click("#send-sms")
        page.wait_for_selector("#notice")
        code = h.sms_code(p.mobile)
        wrong = "000000" if code != "000000" else "111111"
        page.fill("#f-sms_code", wrong)
        page.fill("#f-password", "Secret-123")
        page.fill("#f-password_confirm", "Secret-123")
        page.click("#submit")
        assert "wrong" in page.locator("#error").inner_text()
        # mismatched confirmation
        page.fill("#f-sms_code", code)
        page.fill("#f-password", "Secret-123")
        page.fill("#f-password_confirm", "Secret-124")
        page.click("#submit")
        assert page.locator("#error").get_attribute("data-field") == "passwordConfirm"
        # a password the rules refuse
        page.fill("#f-sms_code", code)
        page.fill("#f-password", "abc")
        page.fill("#f-password_confirm", "abc")
        page.click("#submit")
        assert page.locator("#error").get_attribute("data-field") == "password"
        assert h.notify_rows("REQ-REG-2") == []
        page.fill("#f-sms_code", code)
        page.fill("#f-password", "Secret-123")
        page.fill("#f-password_confirm", "Secret-123")
        page.click("#submit")
        page.wait_for_selector("#received")
        assert client.verify_notification(site.callbacks[0])["status"] == "SUCCESS"
        assert len(h.notify_rows("REQ-REG-2")) == 1

    browse(scenario)


def test_card_bank_refusal_is_precise(browse, client, site, h, live_server):
    def scenario(page):
        p = h.person("U-REG-3")
        data = _reg_data(client, site, p.user_no, "REQ-REG-3", realName=p.name, idCardNo=p.id_card_no,
                         bankcardNo=p.card)
        client.user_device = "MOBILE"
        page.goto(site.start_page(client.gateway_form("PERSONAL_REGISTER_EXPAND", data)))
        page.wait_for_selector("#bank-form")
        assert page.locator("body").get_attribute("data-layout") == "mobile"
        other = "13700000000"
        page.fill("#f-mobile", other)  # not the phone reserved at the card's bank
        page.click("#send-sms")
        page.wait_for_selector("#notice")
        page.fill("#f-sms_code", h.sms_code(other))
        page.fill("#f-password", "Secret-123")
        page.fill("#f-password_confirm", "Secret-123")
        page.click("#submit")
        assert page.locator("#error").get_attribute("data-field") == "mobile"
        assert "reserved" in page.locator("#error").inner_text()
        assert h.notify_rows("REQ-REG-3") == []
        # the user goes back to the platform: a refusal CALLBACK, no NOTIFY
        page.click("#cancel")
        page.wait_for_selector("#received")
        assert site.callbacks[0]["userDevice"] == "MOBILE"
        resp = client.verify_notification(site.callbacks[0])
        assert resp["code"] == "1" and resp["status"] == "INIT" and resp["errorCode"] == "100008"
        assert h.notify_rows("REQ-REG-3") == []

    browse(scenario)
