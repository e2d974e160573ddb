"""The other gateway pages (card binding, unbinding, mobile change, enterprise registration, enterprise
card and information update), driven over real HTTP like a form-posting browser without JavaScript:
cookie jar, the page's CSRF field, the SMS code read off the simulated phone, the CALLBACK form."""

from __future__ import annotations

import datetime as dt
import html
import logging
import re

import httpx

from cunguan.clock import Clock
from cunguan.custody import enterprise, reviews, user_store
from cunguan.custody.sample_identities import make_card, make_prc_id, make_uscc
from cunguan.db.tx import run_in_transaction

PASSWORD = "abc12345"


class FormBrowser:
    def __init__(self, client, site, live_server) -> None:
        self.client, self.site, self.live = client, site, live_server
        self.http = httpx.Client(follow_redirects=False)
        self.url = ""
        self.csrf = ""

    def open(self, service: str, data: dict) -> httpx.Response:
        body = {"redirectUrl": f"{self.site.url}/return", "timestamp": self.client.timestamp(), **data}
        r = self.http.post(f"{self.client.base_url}/gateway", data=self.client.build_form(service, body))
        assert r.status_code == 303, r.text[:400]
        self.url = f"{self.live}{r.headers['location']}"
        page = self.http.get(self.url)
        assert page.status_code == 200
        self.csrf = re.search(r'name="csrf" value="([^"]*)"', page.text).group(1)
        return page

    def post(self, action: str, **fields: str) -> httpx.Response:
        return self.http.post(self.url, data={"csrf": self.csrf, "action": action, **fields})

    @staticmethod
    def error_field(page: httpx.Response) -> str | None:
        found = re.search(r'id="error" role="alert" data-field="([^"]*)"', page.text)
        return found.group(1) if found else None

    @staticmethod
    def callback(page: httpx.Response) -> dict[str, str]:
        assert 'id="callback-form"' in page.text, page.text[:1500]
        return {m.group(1): html.unescape(m.group(2))
                for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)}

    def close(self) -> None:
        self.http.close()


def _browser(client, site, live_server) -> FormBrowser:
    return FormBrowser(client, site, live_server)


def _user(engine, user_no: str):
    with engine.connect() as conn:
        return user_store.get_user(conn, "6000000001", user_no)


def test_bind_change_unbind_and_mobile(client, site, h, engine, live_server, caplog):
    caplog.set_level(logging.DEBUG)
    p = h.registered("U-CARD-1")
    b = _browser(client, site, live_server)
    # PERSONAL_BIND_BANKCARD_EXPAND: a card change waits for AUDIT_BIND_CARD
    new_card = make_card(serial=7001)
    h.bank.add_card(new_card, real_name=p.name, id_card_no=p.id_card_no, mobile=p.mobile)
    b.open("PERSONAL_BIND_BANKCARD_EXPAND", {"platformUserNo": p.user_no, "requestNo": "REQ-BIND-1",
                                             "checkType": "LIMIT", "bindType": "UPDATE_BANKCARD"})
    fields = {"bankcard_no": new_card, "mobile": p.mobile}
    assert b.post("sms", **fields).status_code == 200
    code = h.sms_code(p.mobile)
    wrong = b.post("submit", **fields, sms_code=code, password="wrong-pass")
    assert wrong.status_code == 422 and "4 tries left" in wrong.text and "wrong-pass" not in wrong.text
    done = b.post("submit", **fields, sms_code=code, password=PASSWORD)
    resp = client.verify_notification(b.callback(done))
    assert resp["status"] == "SUCCESS" and resp["auditStatus"] == "AUDIT" and resp["bankcardNo"][-4:] == new_card[-4:]
    assert len(h.notify_rows("REQ-BIND-1")) == 1
    # MODIFY_MOBILE_EXPAND: the new number must be the one reserved at the card's bank
    h.bank.set_mobile(p.card, "13912345678")
    b.open("MODIFY_MOBILE_EXPAND", {"platformUserNo": p.user_no, "requestNo": "REQ-MOB-1", "checkType": "LIMIT"})
    b.post("sms", mobile="13912345678")
    done = b.post("submit", mobile="13912345678", sms_code=h.sms_code("13912345678"), password=PASSWORD)
    resp = client.verify_notification(b.callback(done))
    assert resp["mobile"] == "13912345678" and _user(engine, p.user_no).mobile == "13912345678"
    # UNBIND_BANKCARD: the code goes to the phone on file (the new one)
    b.open("UNBIND_BANKCARD", {"platformUserNo": p.user_no, "requestNo": "REQ-UNB-1"})
    b.post("sms")
    done = b.post("submit", sms_code=h.sms_code("13912345678"), password=PASSWORD)
    assert client.verify_notification(b.callback(done))["requestNo"] == "REQ-UNB-1"
    assert _user(engine, p.user_no).bankcard_no is None
    assert {r["service_name"] for r in h.notify_rows("REQ-UNB-1")} == {"UNBIND_BANKCARD"}
    # a second unbind is refused on the page, precisely
    b.open("UNBIND_BANKCARD", {"platformUserNo": p.user_no, "requestNo": "REQ-UNB-2"})
    b.post("sms")
    refused = b.post("submit", sms_code=h.sms_code("13912345678"), password=PASSWORD)
    assert refused.status_code == 422 and "no bound card" in refused.text
    b.close()
    assert "gateway page" in caplog.text  # the refusals were logged, without the secrets
    for secret in (PASSWORD, "wrong-pass", new_card, p.card, p.id_card_no):
        assert secret not in caplog.text


def test_sms_rules(client, site, h, live_server):
    p = h.registered("U-SMS-1")
    b = _browser(client, site, live_server)
    b.open("UNBIND_BANKCARD", {"platformUserNo": p.user_no, "requestNo": "REQ-SMS-1"})
    assert b.post("sms").status_code == 200
    again = b.post("sms")  # too soon
    assert again.status_code == 422 and "ask again in" in again.text
    code = h.sms_code(p.mobile)
    bad = "123456" if code != "123456" else "654321"
    for _ in range(5):
        b.post("submit", sms_code=bad, password=PASSWORD)
    locked_out = b.post("submit", sms_code=code, password=PASSWORD)  # right code, but too many wrong ones
    assert locked_out.status_code == 422 and "too many wrong codes" in locked_out.text
    assert _user(h.engine, p.user_no).bankcard_no is not None
    b.close()


def _enterprise(engine, user_no: str, *, contact_phone: str) -> None:
    req = enterprise.EnterpriseRegisterRequest(
        request_no=f"SEED-{user_no}", platform_user_no=user_no, enterprise_name="懒猫科技有限公司",
        bank_license="J1000012345601", legal="李四", id_card_type="PRC_ID",
        legal_id_card_no=make_prc_id(dt.date(1980, 5, 6), seq=77), contact="王五", contact_phone=contact_phone,
        user_role="BORROWERS", bankcard_no="110060149018000012345", bankcode="COMM", password=PASSWORD,
        unified_code=make_uscc())
    run_in_transaction(engine, lambda c: enterprise.enterprise_register(c, Clock(), "6000000001", req))
    run_in_transaction(engine, lambda c: reviews.review_user(c, Clock(), "6000000001", user_no, operator_id="op1",
                                                             decision="PASSED"))


def test_enterprise_pages(client, site, h, engine, live_server):
    b = _browser(client, site, live_server)
    # ENTERPRISE_REGISTER with a landline contact: no SMS code can be sent, the password confirms
    data = {"platformUserNo": "E-1", "requestNo": "REQ-ENT-1", "enterpriseName": "懒猫科技有限公司",
            "bankLicense": "J1000012345601", "unifiedCode": make_uscc(), "legal": "李四", "idCardType": "PRC_ID",
            "legalIdCardNo": make_prc_id(dt.date(1980, 5, 6), seq=78), "contact": "王五",
            "contactPhone": "010-88886666", "userRole": "BORROWERS", "bankcardNo": "110060149018000099999",
            "bankcode": "COMM"}
    page = b.open("ENTERPRISE_REGISTER", data)
    assert 'id="send-sms"' not in page.text and "懒猫科技有限公司" in page.text
    done = b.post("submit", password="Ent-pass-1", password_confirm="Ent-pass-1")
    resp = client.verify_notification(b.callback(done))
    assert resp["status"] == "SUCCESS" and resp["auditStatus"] == "AUDIT" and resp["userRole"] == "BORROWERS"
    assert len(h.notify_rows("REQ-ENT-1")) == 1
    # with a mobile contact the code is required and goes to that phone
    page = b.open("ENTERPRISE_REGISTER", {**data, "platformUserNo": "E-2", "requestNo": "REQ-ENT-2",
                                          "contactPhone": "13811112222"})
    assert 'id="send-sms"' in page.text
    assert b.error_field(b.post("submit", password="Ent-pass-1", password_confirm="Ent-pass-1")) == "smsCode"
    b.post("sms")
    done = b.post("submit", sms_code=h.sms_code("13811112222"), password="Ent-pass-1",
                  password_confirm="Ent-pass-1")
    assert client.verify_notification(b.callback(done))["platformUserNo"] == "E-2"
    # ENTERPRISE_BIND_BANKCARD and ENTERPRISE_INFORMATION_UPDATE for a reviewed enterprise
    _enterprise(engine, "E-3", contact_phone="13833334444")
    b.open("ENTERPRISE_BIND_BANKCARD", {"platformUserNo": "E-3", "requestNo": "REQ-EBC-1"})
    b.post("sms")
    done = b.post("submit", bankcard_no="110060149018000055555", bankcode="COMM",
                  sms_code=h.sms_code("13833334444"), password=PASSWORD)
    resp = client.verify_notification(b.callback(done))
    assert resp["status"] == "SUCCESS" and resp["auditStatus"] == "AUDIT" and resp["bankcode"] == "COMM"
    b.open("ENTERPRISE_INFORMATION_UPDATE", {"platformUserNo": "E-3", "requestNo": "REQ-EIU-1",
                                             "contact": "赵六"})
    b.post("sms")
    wrong = b.post("submit", sms_code=h.sms_code("13833334444"), password="not-it-1")
    assert b.error_field(wrong) == "password"
    done = b.post("submit", sms_code=h.sms_code("13833334444"), password=PASSWORD)
    resp = client.verify_notification(b.callback(done))
    assert resp["auditStatus"] == "AUDIT" and len(h.notify_rows("REQ-EIU-1")) == 1
    b.close()
