"""ACTIVATE_STOCKED_USER (its three outcomes and the manual review), CHANGE_USER_BANKCARD, and the
activation page of the generic page flow, on the users imported from samples/migration."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from migration_support import P1, SAMPLE_TRANSFER_FEN, audit_clean, enrol, sample_people, user
from sqlalchemy import select

from cunguan.custody import authorizations, passwords, stocked_users, user_services, users
from cunguan.custody.sample_identities import make_card, make_prc_id
from cunguan.custody.user_errors import (
    BankNotSupported,
    DuplicateRequest,
    InvalidField,
    UserUnavailable,
    WrongState,
)
from cunguan.db.tables.notify import notify_outbox
from cunguan.db.tx import run_in_transaction
from cunguan.migration import importer
from cunguan.notify import sms_gateway

PASSWORD = "Secret-123"


@pytest.fixture
def imported(engine, clock, platform, sample_dir):
    importer.import_directory(engine, clock, sample_dir, P1, transfer_fen=SAMPLE_TRANSFER_FEN)
    return sample_people()


def activate(engine, clock, bank, user_no: str, request_no: str | None = None, **kw):
    req = stocked_users.ActivateStockedUserRequest(request_no=request_no or f"ACT-{user_no}",
                                                   platform_user_no=user_no, password=PASSWORD, **kw)
    return run_in_transaction(engine, lambda c: stocked_users.activate_stocked_user(c, clock, P1, req, verifier=bank))


def change_card(engine, clock, bank, user_no: str, card: str, request_no: str, **kw):
    req = stocked_users.ChangeUserBankcardRequest(request_no=request_no, platform_user_no=user_no, bankcard_no=card,
                                                  **kw)
    return run_in_transaction(engine, lambda c: stocked_users.change_user_bankcard(c, clock, P1, req, verifier=bank))


def query(engine, clock, user_no: str):
    with engine.connect() as conn:
        return users.query_user_information(conn, clock, P1, users.QueryUserInformationRequest(user_no))


def state(engine, user_no: str) -> dict:
    with engine.connect() as conn:
        return stocked_users.migration_state(conn, user(engine, user_no))


def test_normal_activation_with_authorizations(engine, clock, bank, imported):
    enrol(bank, "U001")
    assert query(engine, clock, "U001").is_import_user_activate is False
    result = activate(engine, clock, bank, "U001", card_change="UNMOD", auth_list="TENDER,WITHDRAW",
                      fail_time="20281231", amount="5000")
    assert (result.access_type, result.audit_status, result.active_status) == ("FULL_CHECKED", "PASSED", "ACTIVATED")
    assert result.card_nols_change == "FALSE" and result.bankcode == "ICBK" and result.bankcard_no.startswith("622202")
    assert imported["U001"]["bankcardNo"] != result.bankcard_no  # masked
    info = query(engine, clock, "U001")
    assert info.is_import_user_activate and info.active_status == "ACTIVATED" and info.balance_fen == 100_000
    assert info.auth_list == "TENDER,WITHDRAW"
    with engine.connect() as conn:
        assert passwords.verify(conn, user(engine, "U001").id, PASSWORD, 0).ok
        assert stocked_users.quick_recharge_available(conn, P1, "U001")
    assert state(engine, "U001")["state"] == "ACTIVATED" and bank.calls == 1
    with pytest.raises(WrongState, match="already been activated"):
        activate(engine, clock, bank, "U001", request_no="ACT-U001-2")
    with pytest.raises(DuplicateRequest):
        activate(engine, clock, bank, "U001")


def test_activation_where_quick_recharge_is_unavailable(engine, clock, bank, imported):
    enrol(bank, "U009")
    result = activate(engine, clock, bank, "U009")
    assert result.active_status == "ACTIVATED" and result.bankcode == "BJCN"
    with engine.connect() as conn:
        assert stocked_users.quick_recharge_available(conn, P1, "U009") is False
    assert state(engine, "U009")["quick_pay"] is False or state(engine, "U009")["quick_pay"] == 0


def test_abnormal_activation_blocks_everything_until_the_card_is_changed(engine, clock, bank, imported):
    result = activate(engine, clock, bank, "U007")  # card of an unknown bank, not changed
    assert result.active_status == "DEACTIVATED" and result.audit_status == "PASSED" and result.card_nols_change == "FALSE"
    assert state(engine, "U007")["state"] == "ABNORMAL" and state(engine, "U007")["blocked"]
    info = query(engine, clock, "U007")
    assert info.is_import_user_activate and info.active_status == "DEACTIVATED" and info.balance_fen == 1_000
    terms = authorizations.AuthTerms(("TENDER",), None, None)
    assert terms  # every function refuses a DEACTIVATED user, e.g. a new authorization:
    req = authorizations.UserAuthorizationRequest("AUTH-7", "U007", "TENDER", password=PASSWORD)
    with pytest.raises(UserUnavailable):
        run_in_transaction(engine, lambda c: authorizations.user_authorization(c, clock, P1, req))
    p = imported["U007"]
    new_card = make_card("622588", serial=777)
    with pytest.raises(BankNotSupported):
        change_card(engine, clock, bank, "U007", make_card("999999", serial=778), "CHG-7-0")
    bank.add_card(new_card, real_name=p["name"], id_card_no=p["idCardNo"], mobile=p["mobile"])
    changed = change_card(engine, clock, bank, "U007", new_card, "CHG-7")
    assert changed.bankcode == "CMBC" and changed.active_status == "ACTIVATED"
    u = user(engine, "U007")
    assert u.active and u.bankcard_no == new_card and u.access_type == "FULL_CHECKED"
    assert state(engine, "U007")["state"] == "ACTIVATED" and not state(engine, "U007")["blocked"]
    with pytest.raises(WrongState, match="already activated"):
        change_card(engine, clock, bank, "U007", make_card("622588", serial=779), "CHG-7-2")


def test_change_card_before_activation_then_normal_activation(engine, clock, bank, imported):
    p = imported["U008"]  # a credit card was imported: invalid
    new_card = make_card("622202", serial=888)
    bank.add_card(new_card, real_name=p["name"], id_card_no=p["idCardNo"], mobile=p["mobile"])
    assert state(engine, "U008")["card_valid"] in (False, 0)
    change_card(engine, clock, bank, "U008", new_card, "CHG-8")
    assert user(engine, "U008").bankcard_no == new_card and not user(engine, "U008").is_import_user_activate
    assert state(engine, "U008")["card_valid"] and state(engine, "U008")["state"] == "IMPORTED"
    result = activate(engine, clock, bank, "U008")
    assert result.active_status == "ACTIVATED" and result.card_nols_change == "FALSE"


def test_user_types_a_new_card_on_the_page_unless_unmod(engine, clock, bank, imported):
    p = imported["U016"]  # bankcode disagreed with the BIN: invalid
    new_card = make_card("621700", serial=161)
    bank.add_card(new_card, real_name=p["name"], id_card_no=p["idCardNo"], mobile=p["mobile"])
    with pytest.raises(InvalidField, match="UNMOD"):
        activate(engine, clock, bank, "U016", bankcard_no=new_card, card_change="UNMOD")
    result = activate(engine, clock, bank, "U016", bankcard_no=new_card)
    assert result.card_nols_change == "TRUE" and result.bankcode == "PCBC" and result.active_status == "ACTIVATED"
    assert user(engine, "U016").bankcard_no == new_card


def test_passport_user_waits_for_the_banks_review(engine, clock, bank, imported):
    result = activate(engine, clock, bank, "U003")
    assert (result.access_type, result.audit_status, result.active_status) == ("AUDIT_AUTH", "AUDIT", "DEACTIVATED")
    assert bank.calls == 0  # a passport cannot be checked with the card's bank
    with pytest.raises(WrongState):
        run_in_transaction(engine, lambda c: stocked_users.review_stocked_user(
            c, clock, P1, "U004", operator_id="op1", decision="PASSED"))  # not activated yet: nothing to review
    reviewed = run_in_transaction(engine, lambda c: stocked_users.review_stocked_user(
        c, clock, P1, "U003", operator_id="op1", decision="PASSED", remark="护照核验通过"))
    assert reviewed.audit_status == "PASSED" and reviewed.active_status == "ACTIVATED"
    assert reviewed.service_name == "ACTIVATE_STOCKED_USER"
    assert user(engine, "U003").active and state(engine, "U003")["state"] == "ACTIVATED"
    with engine.connect() as conn:
        rows = conn.execute(select(notify_outbox).where(notify_outbox.c.biz_ref == "ACT-U003")).mappings().all()
    assert len(rows) == 1 and rows[0]["service_name"] == "ACTIVATE_STOCKED_USER"
    body = json.loads(rows[0]["resp_data"])
    assert body["auditStatus"] == "PASSED" and body["platformUserNo"] == "U003"


def test_refused_review_and_blocked_review(engine, clock, bank, imported):
    activate(engine, clock, bank, "U004")
    run_in_transaction(engine, lambda c: stocked_users.review_stocked_user(
        c, clock, P1, "U004", operator_id="op1", decision="REFUSED"))
    assert user(engine, "U004").audit_status == "REFUSED" and not user(engine, "U004").active
    with pytest.raises(InvalidField):
        run_in_transaction(engine, lambda c: stocked_users.review_stocked_user(
            c, clock, P1, "U004", operator_id="op1", decision="BACK"))


def test_change_card_refusals(engine, clock, bank, imported):
    card, id_no = make_card("622202", serial=4242), make_prc_id(dt.date(1988, 5, 6), seq=42)
    bank.add_card(card, real_name="李四", id_card_no=id_no, mobile="13900000001")
    reg = users.PersonalRegisterRequest(request_no="REG-R1", platform_user_no="R1", user_role="INVESTOR",
                                        real_name="李四", id_card_no=id_no, bankcard_no=card,
                                        mobile="13900000001", password=PASSWORD)
    run_in_transaction(engine, lambda c: users.personal_register(c, clock, P1, reg, verifier=bank))
    with pytest.raises(WrongState, match="not a user imported"):
        change_card(engine, clock, bank, "R1", make_card("622202", serial=4243), "CHG-R1")
    enrol(bank, "U002")
    with pytest.raises(WrongState, match="already the user's card"):
        change_card(engine, clock, bank, "U002", imported["U002"]["bankcardNo"], "CHG-2")
    activate(engine, clock, bank, "U002")
    with pytest.raises(WrongState, match="already activated"):
        change_card(engine, clock, bank, "U002", make_card("622202", serial=2222), "CHG-2b")
    with pytest.raises(InvalidField):
        change_card(engine, clock, bank, "U001", "", "CHG-1")


def test_activation_page_runs_the_service_and_queues_the_notify(engine, clock, bank, imported, monkeypatch):
    from cunguan.custody import card_verifier

    monkeypatch.setattr(card_verifier, "_current", bank)
    enrol(bank, "U018")
    opened = user_services.open_page(engine, clock, platform_no=P1, service_name="ACTIVATE_STOCKED_USER",
                                     key_serial="1", user_device=None,
                                     req={"requestNo": "ACT-PAGE-18", "platformUserNo": "U018",
                                          "redirectUrl": "http://127.0.0.1:9/return", "cardChange": "UNMOD"})
    user_services.send_code(engine, clock, opened.token, {})
    with engine.connect() as conn:
        code = sms_gateway.latest_code(conn, imported["U018"]["mobile"])
    finished = user_services.complete(engine, clock, opened.token, {}, {"password": PASSWORD,
                                                                         "password_confirm": PASSWORD}, code)
    resp = json.loads(finished.resp_data)
    assert resp["code"] == "0" and resp["cardNolsChange"] == "FALSE" and resp["accessType"] == "FULL_CHECKED"
    assert resp["auditStatus"] == "PASSED" and resp["userRole"] == "INVESTOR" and resp["mobile"] == "13800000018"
    assert imported["U018"]["bankcardNo"] not in finished.resp_data
    assert user(engine, "U018").is_import_user_activate
    with engine.connect() as conn:
        row = conn.execute(select(notify_outbox).where(notify_outbox.c.biz_ref == "ACT-PAGE-18")).mappings().one()
    assert row["resp_data"] == finished.resp_data and row["service_name"] == "ACTIVATE_STOCKED_USER"
    audit_clean(engine)


def test_enterprise_activation_goes_to_review_without_card_flag(engine, clock, bank, imported):
    with pytest.raises(WrongState, match="enterprise"):
        activate(engine, clock, bank, "U015", request_no="ACT-U015-0", bankcard_no="110060149018000099999")
    result = activate(engine, clock, bank, "U015", auth_list="REPAYMENT")
    assert (result.access_type, result.audit_status, result.active_status) == ("PART_CHECKED", "AUDIT", "DEACTIVATED")
    assert result.card_nols_change is None and result.auth_list == "REPAYMENT"
    reviewed = run_in_transaction(engine, lambda c: stocked_users.review_stocked_user(
        c, clock, P1, "U015", operator_id="op2", decision="PASSED"))
    assert reviewed.active_status == "ACTIVATED" and user(engine, "U015").active
    assert query(engine, clock, "U015").balance_fen == 5_000_000
