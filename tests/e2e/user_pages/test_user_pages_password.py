"""RESET_PASSWORD, CHECK_PASSWORD and USER_AUTHORIZATION on the bank's pages, in a real browser."""

from __future__ import annotations

from sqlalchemy import select

from cunguan.clock import Clock
from cunguan.custody import authorizations, passwords, user_store
from cunguan.db.tables.custody_users import custody_passwords


def _user_id(engine, user_no: str) -> int:
    with engine.connect() as conn:
        return user_store.get_user(conn, "6000000001", user_no).id


def _failed_count(engine, user_no: str) -> tuple[int, bool]:
    user_id = _user_id(engine, user_no)
    with engine.connect() as conn:
        row = conn.execute(select(custody_passwords.c.failed_count, custody_passwords.c.locked).where(
            custody_passwords.c.user_id == user_id)).one()
    return int(row[0]), bool(row[1])


def _password_ok(engine, user_no: str, password: str) -> bool:
    user_id = _user_id(engine, user_no)
    with engine.begin() as conn:
        return passwords.verify(conn, user_id, password, 0).ok


def _open(page, client, site, service: str, data: dict) -> None:
    base = {"redirectUrl": f"{site.url}/return", "timestamp": client.timestamp()}
    page.goto(site.start_page(client.gateway_form(service, {**base, **data})))
    page.wait_for_selector("#bank-form")


def test_reset_password_forget(browse, client, site, h, engine, live_server):
    def scenario(page):
        p = h.registered("U-RST-1")
        _open(page, client, site, "RESET_PASSWORD", {"platformUserNo": p.user_no, "requestNo": "REQ-RST-1"})
        assert "重置交易密码" in page.locator("#page-title").inner_text()
        page.click("#send-sms")  # to the phone on file
        page.wait_for_selector("#notice")
        code = h.sms_code(p.mobile)
        page.fill("#f-sms_code", code)
        page.fill("#f-id_card_no", "110105199001011234")  # not the ID on file
        page.fill("#f-new_password", "NewPass-77")
        page.fill("#f-password_confirm", "NewPass-77")
        page.click("#submit")
        assert page.locator("#error").get_attribute("data-field") == "idCardNo"
        assert page.locator("#f-new_password").input_value() == ""
        page.fill("#f-sms_code", code)
        page.fill("#f-id_card_no", p.id_card_no)
        page.fill("#f-new_password", "NewPass-77")
        page.fill("#f-password_confirm", "NewPass-77")
        page.click("#submit")
        page.wait_for_selector("#received")
        resp = client.verify_notification(site.callbacks[0])
        assert resp == {**resp, "code": "0", "status": "SUCCESS", "requestNo": "REQ-RST-1", "platformUserNo": p.user_no}
        assert len(h.notify_rows("REQ-RST-1")) == 1
        assert _password_ok(engine, p.user_no, "NewPass-77")

    browse(scenario)


def test_reset_password_remember_asks_the_old_one(browse, client, site, h, engine, live_server):
    def scenario(page):
        p = h.registered("U-RST-2")
        _open(page, client, site, "RESET_PASSWORD",
              {"platformUserNo": p.user_no, "requestNo": "REQ-RST-2", "isSkip": "Remember"})
        assert page.locator("#f-id_card_no").count() == 0
        page.click("#send-sms")
        page.wait_for_selector("#notice")
        page.fill("#f-sms_code", h.sms_code(p.mobile))
        page.fill("#f-old_password", "abc12345")
        page.fill("#f-new_password", "NewPass-88")
        page.fill("#f-password_confirm", "NewPass-88")
        page.click("#submit")
        page.wait_for_selector("#received")
        assert client.verify_notification(site.callbacks[0])["status"] == "SUCCESS"
        assert _password_ok(engine, p.user_no, "NewPass-88")

    browse(scenario)


def test_check_password_counts_wrong_tries(browse, client, site, h, engine, live_server):
    def scenario(page):
        p = h.registered("U-CHK-1")
        _open(page, client, site, "CHECK_PASSWORD",
              {"platformUserNo": p.user_no, "requestNo": "REQ-CHK-1", "bizTypeDescription": "确认投资"})
        assert "确认投资" in page.locator("table.details").inner_text()
        assert page.locator("#send-sms").count() == 0  # the password is the whole check
        for tries_left in (4, 3):
            page.fill("#f-password", "wrong-pass")
            page.click("#submit")
            assert f"{tries_left} tries left" in page.locator("#error").inner_text()
        assert _failed_count(engine, p.user_no) == (2, False)
        assert h.notify_rows("REQ-CHK-1") == []
        page.fill("#f-password", "abc12345")
        page.click("#submit")
        page.wait_for_selector("#received")
        resp = client.verify_notification(site.callbacks[0])
        assert resp["status"] == "SUCCESS" and resp["bizTypeDescription"] == "确认投资"
        assert _failed_count(engine, p.user_no) == (0, False)
        assert len(h.notify_rows("REQ-CHK-1")) == 1

    browse(scenario)


def test_check_password_locks_after_five(browse, client, site, h, engine, live_server):
    def scenario(page):
        p = h.registered("U-CHK-2")
        _open(page, client, site, "CHECK_PASSWORD",
              {"platformUserNo": p.user_no, "requestNo": "REQ-CHK-2", "bizTypeDescription": "提现"})
        for _ in range(5):
            page.fill("#f-password", "wrong-pass")
            page.click("#submit")
        assert "locked" in page.locator("#error").inner_text()
        assert _failed_count(engine, p.user_no) == (5, True)
        page.fill("#f-password", "abc12345")  # even the right one is refused now
        page.click("#submit")
        assert "locked" in page.locator("#error").inner_text()
        assert h.notify_rows("REQ-CHK-2") == []
        # UNFREEZE_TRADE_PASSWORD (direct) unlocks; the same page then succeeds
        result = client.call("UNFREEZE_TRADE_PASSWORD", {"requestNo": "REQ-UNF-1", "platformUserNo": p.user_no})
        assert result.outcome == "S", result.body
        page.fill("#f-password", "abc12345")
        page.click("#submit")
        page.wait_for_selector("#received")
        assert client.verify_notification(site.callbacks[0])["status"] == "SUCCESS"

    browse(scenario)


def test_user_authorization(browse, client, site, h, engine, live_server):
    def scenario(page):
        p = h.registered("U-AUT-1")
        _open(page, client, site, "USER_AUTHORIZATION",
              {"platformUserNo": p.user_no, "requestNo": "REQ-AUT-1", "authList": "TENDER,CREDIT_ASSIGNMENT",
               "failTime": "20281231", "amount": "5000"})
        details = page.locator("table.details").inner_text()
        assert "TENDER,CREDIT_ASSIGNMENT" in details and "5000" in details
        page.click("#send-sms")
        page.wait_for_selector("#notice")
        page.fill("#f-sms_code", h.sms_code(p.mobile))
        page.fill("#f-password", "wrong-pass")
        page.click("#submit")
        assert "4 tries left" in page.locator("#error").inner_text()
        page.fill("#f-sms_code", h.sms_code(p.mobile))
        page.fill("#f-password", "abc12345")
        page.click("#submit")
        page.wait_for_selector("#received")
        resp = client.verify_notification(site.callbacks[0])
        assert resp["status"] == "SUCCESS" and resp["authList"] == "TENDER,CREDIT_ASSIGNMENT"
        assert len(h.notify_rows("REQ-AUT-1")) == 1
        with engine.connect() as conn:
            user = user_store.get_user(conn, "6000000001", p.user_no)
            assert authorizations.active_auth_list(conn, user.id, Clock().beijing_date()) == ("TENDER", "CREDIT_ASSIGNMENT")

    browse(scenario)
