import datetime as dt

import pytest

from cunguan.custody import authorizations as auth
from cunguan.custody import entrust_pay, users
from cunguan.custody.user_errors import (
    InvalidField,
    NotAuthorized,
    UserNotFound,
    UserUnavailable,
    WrongState,
)
from cunguan.db.tx import run_in_transaction

from .conftest import P1, P2, PASSWORD


def _require(svc, user_no, auth_type, amount_fen, *, platform_no=P1, consume=False):
    return run_in_transaction(svc.engine, lambda c: auth.require_authorization(
        c, platform_no, user_no, auth_type, amount_fen, svc.clock.now(), consume=consume))


def _grant(svc, user_no, auth_list, request_no="AUTH-1", fail_time=None, amount=None, platform_no=P1,
           password=PASSWORD):
    return svc(auth.user_authorization, auth.UserAuthorizationRequest(
        request_no, user_no, auth_list, fail_time, amount, password=password), platform_no=platform_no)


def test_grant_and_require_within_cap_and_time(svc, clock):
    svc.register("u1")
    result = _grant(svc, "u1", "TENDER,CREDIT_ASSIGNMENT", fail_time="20261130", amount="1000")
    assert result.password_ok
    assert (result.auth_list, result.fail_time, result.amount_fen) == ("TENDER,CREDIT_ASSIGNMENT", "20261130", 100_000)
    _require(svc, "u1", "TENDER", 100_000)
    _require(svc, "u1", "TENDER", 60_000, consume=True)
    with pytest.raises(NotAuthorized, match="400.00") as exc:
        _require(svc, "u1", "TENDER", 40_001)
    assert exc.value.code == "100011"
    _require(svc, "u1", "TENDER", 40_000, consume=True)
    # expiry: valid through the whole failTime day in Beijing, gone the next day
    clock.set(dt.datetime(2026, 11, 30, 15, 59, tzinfo=dt.UTC))  # 23:59 Beijing on the 30th
    _require(svc, "u1", "CREDIT_ASSIGNMENT", 1)
    clock.set(dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC))  # 00:00 Beijing on 1 December
    with pytest.raises(NotAuthorized, match="expired"):
        _require(svc, "u1", "CREDIT_ASSIGNMENT", 1)
    info = svc(users.query_user_information, users.QueryUserInformationRequest("u1"))
    assert info.auth_list == ""


def test_missing_authorization_and_unknown_user(svc):
    svc.register("u1")
    with pytest.raises(NotAuthorized, match="WITHDRAW"):
        _require(svc, "u1", "WITHDRAW", 1)
    with pytest.raises(UserNotFound):
        _require(svc, "nobody", "WITHDRAW", 1)


def test_regrant_replaces_and_resets_the_cap(svc):
    svc.register("u1")
    _grant(svc, "u1", "TENDER", amount="10")
    _require(svc, "u1", "TENDER", 1_000, consume=True)
    with pytest.raises(NotAuthorized):
        _require(svc, "u1", "TENDER", 1)
    _grant(svc, "u1", "TENDER", request_no="AUTH-2")  # no cap, no expiry
    _require(svc, "u1", "TENDER", 10**12)


def test_cancel_user_authorization(svc, assert_nothing_written):
    svc.register("u1")
    _grant(svc, "u1", "TENDER,RECHARGE")
    with assert_nothing_written(), pytest.raises(WrongState, match="WITHDRAW"):
        svc(auth.cancel_user_authorization, auth.CancelUserAuthorizationRequest("CAN-1", "u1", "TENDER,WITHDRAW"))
    result = svc(auth.cancel_user_authorization, auth.CancelUserAuthorizationRequest("CAN-1", "u1", "TENDER"))
    assert result.auth_list == "TENDER"
    with pytest.raises(NotAuthorized):
        _require(svc, "u1", "TENDER", 1)
    _require(svc, "u1", "RECHARGE", 1)
    info = svc(users.query_user_information, users.QueryUserInformationRequest("u1"))
    assert info.auth_list == "RECHARGE"


def test_authorization_refusals_write_nothing(svc, assert_nothing_written):
    svc.register("u1")
    with assert_nothing_written():
        with pytest.raises(NotAuthorized, match="REPAYMENT"):
            _grant(svc, "u1", "REPAYMENT")
        with pytest.raises(InvalidField, match="authList"):
            _grant(svc, "u1", "")
        with pytest.raises(InvalidField, match="failTime"):
            _grant(svc, "u1", "TENDER", fail_time="20261122")
        with pytest.raises(UserNotFound):
            _grant(svc, "u1", "TENDER", platform_no=P2)


def test_inactive_user_cannot_authorize_or_use_authorizations(svc):
    person = svc.new_person("u1", on_bank=False)
    svc(users.personal_register, svc.register_request(person, id_card_type="PASSPORT", id_card_no="E1234567",
                                                        auth_list="TENDER"))
    with pytest.raises(UserUnavailable):
        _grant(svc, "u1", "TENDER")
    with pytest.raises(UserUnavailable):
        _require(svc, "u1", "TENDER", 1)


def test_registration_authorizations_are_usable(svc):
    svc.register("b1", role="BORROWERS", auth_list="REPAYMENT,WITHDRAW", fail_time="20291123", amount="500")
    _require(svc, "b1", "REPAYMENT", 50_000)
    with pytest.raises(NotAuthorized):
        _require(svc, "b1", "REPAYMENT", 50_001)


def _entrust(borrower, entrusted, request_no="ENT-1", project_no="PJ-1", entrusted_type="PERSONAL"):
    return entrust_pay.AuthorizationEntrustPayRequest(request_no, borrower, project_no, "LIMIT", entrusted_type,
                                                      entrusted)


def test_entrust_pay(svc, assert_nothing_written):
    svc.register("b1", role="BORROWERS")
    svc.register("s1", role="SUPPLIER")
    result = svc(entrust_pay.authorization_entrust_pay, _entrust("b1", "s1"))
    assert result.authorize_status == "PASSED"
    assert svc.read(lambda c: entrust_pay.entrusted_payee(c, P1, "PJ-1")) == "s1"
    with assert_nothing_written():
        with pytest.raises(WrongState, match="projectNo"):
            svc(entrust_pay.authorization_entrust_pay, _entrust("b1", "s1", request_no="ENT-2"))
        with pytest.raises(UserNotFound) as exc:
            svc(entrust_pay.authorization_entrust_pay, _entrust("b1", "ghost", request_no="ENT-2", project_no="PJ-2"))
        assert exc.value.field == "entrustedPlatformUserNo" and exc.value.code == "100009"
        with pytest.raises(WrongState, match="entrustedType"):
            svc(entrust_pay.authorization_entrust_pay,
                _entrust("b1", "s1", request_no="ENT-2", project_no="PJ-2", entrusted_type="ENTERPRISE"))
        with pytest.raises(UserNotFound):
            svc(entrust_pay.authorization_entrust_pay, _entrust("b1", "s1", request_no="ENT-3", project_no="PJ-3"),
                platform_no=P2)


def test_authorization_needs_the_right_trade_password(svc):
    svc.register("u1")
    with pytest.raises(InvalidField, match="password"):
        _grant(svc, "u1", "TENDER", password=None)
    wrong = _grant(svc, "u1", "TENDER", password="not-it-1")
    assert (wrong.password_ok, wrong.attempts_left) == (False, 4)
    with pytest.raises(NotAuthorized):
        _require(svc, "u1", "TENDER", 1)
    assert _grant(svc, "u1", "TENDER").password_ok  # same requestNo: the wrong try did not use it
    _require(svc, "u1", "TENDER", 1)
