import pytest

from cunguan.custody import passwords, user_catalog
from cunguan.custody.user_errors import PasswordLocked

from .conftest import P1, PASSWORD


def _run(svc, name, req, page=None):
    return user_catalog.run(name, svc.engine, svc.clock, P1, req, page=page, verifier=svc.bank)


def test_run_registers_queries_and_renders(svc):
    person = svc.new_person("u1")
    fields = _run(svc, "PERSONAL_REGISTER_EXPAND",
                  {"requestNo": "R1", "platformUserNo": "u1", "userRole": "INVESTOR", "checkType": "LIMIT",
                   "userLimitType": "ID_CARD_NO_UNIQUE", "authList": "TENDER", "failTime": "", "amount": "",
                   "redirectUrl": "http://p/return"},
                  page={"real_name": person.name, "id_card_no": person.id_card_no, "bankcard_no": person.card,
                        "mobile": person.mobile, "password": PASSWORD})
    assert fields["auditStatus"] == "PASSED" and fields["accessType"] == "FULL_CHECKED"
    assert person.card not in str(fields) and person.id_card_no not in str(fields)
    info = _run(svc, "QUERY_USER_INFORMATION", {"platformUserNo": "u1"})
    assert str(info["balance"]) == "0.00" and info["authList"] == "TENDER"


def test_wrong_password_is_committed_then_raised(svc):
    svc.register("u1")
    req = {"requestNo": "C1", "platformUserNo": "u1", "bizTypeDescription": "投标"}
    for n in range(4):
        with pytest.raises(passwords.WrongPassword, match=f"{4 - n} tries left"):
            _run(svc, "CHECK_PASSWORD", req, page={"password": "wrong-one"})
    with pytest.raises(PasswordLocked):
        _run(svc, "CHECK_PASSWORD", req, page={"password": "wrong-one"})
    with pytest.raises(PasswordLocked):
        _run(svc, "CHECK_PASSWORD", req, page={"password": PASSWORD})
    _run(svc, "UNFREEZE_TRADE_PASSWORD", {"requestNo": "U1", "platformUserNo": "u1"})
    assert _run(svc, "CHECK_PASSWORD", req, page={"password": PASSWORD})["requestNo"] == "C1"


def test_system_accounts_answer_from_the_platform(platforms_on, svc):
    info = _run(svc, "QUERY_USER_INFORMATION", {"platformUserNo": "SYS_GENERATE_002"})
    assert info["userRole"] == "PLATFORM_MARKETING" and info["name"] == f"平台{P1}"
    assert str(info["availableAmount"]) == "0.00"
