import datetime as dt

import pytest
from sqlalchemy import select

from cunguan.custody import users
from cunguan.custody.user_errors import (
    BankNotSupported,
    CardBankUnavailable,
    CardHolderMismatch,
    CardMobileMismatch,
    CardNotAccepted,
    CardNotFound,
    DuplicateRequest,
    IdCardNotUnique,
    InvalidField,
    UnderAge,
    UserAlreadyExists,
    UserNotFound,
)
from cunguan.db import ledger_store
from cunguan.db.tables.custody_users import custody_passwords, custody_requests, custody_users
from cunguan.db.tx import run_in_transaction

from .conftest import P1, P2


def test_register_opens_an_active_account_with_a_ledger_account(svc):
    person, result = svc.register("u1", auth_list="TENDER", fail_time="20281123", amount="50000")
    assert result.access_type == "FULL_CHECKED" and result.audit_status == "PASSED"
    assert result.bankcode == "ICBK"
    assert result.bankcard_no == person.card[:6] + "*" * (len(person.card) - 10) + person.card[-4:]
    assert result.id_card_no.startswith(person.id_card_no[:3]) and person.id_card_no not in result.id_card_no
    assert result.auth_list == "TENDER"

    def check(conn):
        account = ledger_store.find_account(conn, f"U:{P1}:u1")
        assert account is not None and not account["allow_overdraw"]
        row = conn.execute(select(custody_users).where(custody_users.c.platform_user_no == "u1")).mappings().one()
        assert row["ledger_account_id"] == account["id"] and row["active_status"] == "ACTIVATED"
        pw = conn.execute(select(custody_passwords.c.password_hash)).scalar_one()
        assert pw.startswith("$argon2") and "abc12345" not in pw
        outcome = conn.execute(select(custody_requests.c.outcome)).scalar_one()
        assert person.card not in outcome and person.id_card_no not in outcome

    svc.read(check)
    info = svc(users.query_user_information, users.QueryUserInformationRequest("u1"))
    assert (info.balance_fen, info.available_amount_fen, info.freeze_amount_fen) == (0, 0, 0)
    assert info.user_type == "PERSONAL" and info.user_role == "INVESTOR" and info.active_status == "ACTIVATED"
    assert info.auth_list == "TENDER" and info.is_import_user_activate is True
    assert info.name == person.name and info.mobile == person.mobile and info.bankcode == "ICBK"
    assert info.id_card_type == "PRC_ID" and person.id_card_no not in (info.id_card_no or "")


def test_query_balances_come_from_the_ledger(svc):
    from cunguan.ledger import Hold, Transfer

    svc.register("u1")

    def fund(conn):
        cash = ledger_store.open_account(conn, "test-cash", owner_type="SYSTEM", owner_ref="t", allow_overdraw=True)
        user = ledger_store.find_account(conn, f"U:{P1}:u1")["id"]
        ledger_store.apply(conn, [Transfer(cash, user, 12_345, "RECHARGE", "r1", key="k1"),
                                  Hold(user, 2_345, "f1", "bid")])

    run_in_transaction(svc.engine, fund)
    info = svc(users.query_user_information, users.QueryUserInformationRequest("u1"))
    assert (info.balance_fen, info.available_amount_fen, info.freeze_amount_fen) == (12_345, 10_000, 2_345)


def test_unknown_user_query_is_100009(svc):
    with pytest.raises(UserNotFound) as exc:
        svc(users.query_user_information, users.QueryUserInformationRequest("nobody"))
    assert exc.value.code == "100009"


def test_id_number_is_unique_per_platform_but_not_across_platforms(svc, assert_nothing_written):
    person, _ = svc.register("u1")
    other = svc.new_person("u2")
    req = svc.register_request(other, id_card_no=person.id_card_no)
    svc.bank.add_card(other.card, real_name=other.name, id_card_no=person.id_card_no, mobile=other.mobile)
    with assert_nothing_written(), pytest.raises(IdCardNotUnique) as exc:
        svc(users.personal_register, req)
    assert exc.value.field == "idCardNo" and exc.value.code == "100008"
    # the same person may open an account on another platform
    svc(users.personal_register, req, platform_no=P2)


def test_duplicate_request_no_is_100013_and_writes_nothing(svc, assert_nothing_written):
    svc.register("u1")
    other = svc.new_person("u2")
    with assert_nothing_written(), pytest.raises(DuplicateRequest) as exc:
        svc(users.personal_register, svc.register_request(other, request_no="REG-u1"))
    assert exc.value.code == "100013" and exc.value.original_service == "PERSONAL_REGISTER_EXPAND"
    # another platform has its own requestNo space
    svc(users.personal_register, svc.register_request(other, request_no="REG-u1"), platform_no=P2)


def test_same_platform_user_no_twice_is_refused(svc, assert_nothing_written):
    svc.register("u1")
    again = svc.new_person("u1")
    with assert_nothing_written(), pytest.raises(UserAlreadyExists):
        svc(users.personal_register, svc.register_request(again, request_no="REG-again"))


def test_under_18_on_the_beijing_date_is_refused(svc, clock, assert_nothing_written):
    # Born 2008-11-24: 18 on 2026-11-24 Beijing. 2026-11-23T16:00Z is already the 24th in Beijing.
    minor = svc.new_person("kid", born=dt.date(2008, 11, 24))
    with assert_nothing_written(), pytest.raises(UnderAge):
        svc(users.personal_register, svc.register_request(minor))
    clock.set(dt.datetime(2026, 11, 23, 16, 0, tzinfo=dt.UTC))
    result = svc(users.personal_register, svc.register_request(minor))
    assert result.audit_status == "PASSED"


@pytest.mark.parametrize("problem, error, field", [
    ("unknown_card", CardNotFound, "bankcardNo"),
    ("wrong_name", CardHolderMismatch, "realName"),
    ("wrong_mobile", CardMobileMismatch, "mobile"),
    ("bank_down", CardBankUnavailable, "bankcardNo"),
])
def test_bank_four_element_refusals_are_distinct_and_write_nothing(svc, assert_nothing_written, problem, error,
                                                                     field):
    person = svc.new_person("u1", on_bank=problem != "unknown_card")
    overrides = {}
    if problem == "wrong_name":
        overrides["real_name"] = "李四"
    if problem == "wrong_mobile":
        overrides["mobile"] = "13900000000"
    if problem == "bank_down":
        svc.bank.set_down("ICBK")
    with assert_nothing_written(), pytest.raises(error) as exc:
        svc(users.personal_register, svc.register_request(person, **overrides))
    assert exc.value.field == field
    assert person.card not in exc.value.message


INVALID_CASES = [
    ({"id_card_no": "110105199001011230"}, InvalidField, "idCardNo"),
    ({"bankcard_no": "6222020000000000019"}, InvalidField, "bankcardNo"),
    ({"bankcard_no": "4111111111111111"}, BankNotSupported, "bankcardNo"),
    ({"bankcard_no": "6225750000000006"}, CardNotAccepted, "bankcardNo"),
    ({"mobile": "2381234567"}, InvalidField, "mobile"),
    ({"user_role": "PLATFORM_MARKETING"}, InvalidField, "userRole"),
    ({"user_role": "GUARANTEECORP"}, InvalidField, "userRole"),
    ({"check_type": "NONE"}, InvalidField, "checkType"),
    ({"check_type": None}, InvalidField, "checkType"),
    ({"user_limit_type": "OTHER"}, InvalidField, "userLimitType"),
    ({"platform_user_no": "SYS_GENERATE_009"}, InvalidField, "platformUserNo"),
    ({"platform_user_no": "x" * 51}, InvalidField, "platformUserNo"),
    ({"request_no": ""}, InvalidField, "requestNo"),
    ({"password": "123"}, InvalidField, "password"),
    ({"auth_list": "TENDER,FLY"}, InvalidField, "authList"),
    ({"fail_time": "20200101", "auth_list": "TENDER"}, InvalidField, "failTime"),
    ({"amount": "12.345", "auth_list": "TENDER"}, InvalidField, "amount"),
    ({"id_card_type": "DRIVER"}, InvalidField, "idCardType"),
]


def test_invalid_fields_are_named_and_write_nothing(svc, assert_nothing_written):
    person = svc.new_person("u1")
    with assert_nothing_written():
        for override, error, field in INVALID_CASES:
            with pytest.raises(error) as exc:
                svc(users.personal_register, svc.register_request(person, **override))
            assert exc.value.field == field, override


def test_role_may_not_grant_unfit_authorization(svc, assert_nothing_written):
    from cunguan.custody.user_errors import NotAuthorized

    person = svc.new_person("u1")
    with assert_nothing_written(), pytest.raises(NotAuthorized) as exc:
        svc(users.personal_register, svc.register_request(person, role="INVESTOR", auth_list="REPAYMENT"))
    assert exc.value.code == "100011" and "REPAYMENT" in exc.value.message


def test_empty_optionals_mean_not_supplied(svc):
    person = svc.new_person("u1")
    result = svc(users.personal_register, svc.register_request(person, auth_list="", fail_time="", amount="",
                                                                 user_limit_type="", id_card_type=""))
    assert result.auth_list is None and result.id_card_type == "PRC_ID"


def test_passport_holder_goes_to_manual_review(svc):
    person = svc.new_person("u1", on_bank=False)
    result = svc(users.personal_register, svc.register_request(person, id_card_type="PASSPORT",
                                                                 id_card_no="E12345678"))
    assert (result.access_type, result.audit_status) == ("AUDIT_AUTH", "AUDIT")
    assert svc.bank.calls == 0
    info = svc(users.query_user_information, users.QueryUserInformationRequest("u1"))
    assert info.active_status == "DEACTIVATED" and info.id_card_type == "PASSPORT"
