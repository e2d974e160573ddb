import pytest

from cunguan.custody import passwords
from cunguan.custody.user_errors import (
    DuplicateRequest,
    IdentityMismatch,
    PasswordLocked,
    PasswordNotLocked,
    UserNotFound,
)

from .conftest import P2, PASSWORD


def _check(svc, request_no, password, platform_no=None):
    req = passwords.CheckPasswordRequest(request_no, "u1", "确认投标", password=password)
    return svc(passwords.check_password, req) if platform_no is None else svc(passwords.check_password, req,
                                                                              platform_no=platform_no)


def test_right_password_passes_and_uses_the_request_no(svc):
    svc.register("u1")
    result = _check(svc, "CHK-1", PASSWORD)
    assert result.password_ok and result.biz_type_description == "确认投标"
    result.raise_for_password()
    with pytest.raises(DuplicateRequest):
        _check(svc, "CHK-1", PASSWORD)


def test_five_wrong_tries_lock_and_unfreeze_releases(svc):
    svc.register("u1")
    for n in range(1, 5):
        result = _check(svc, "CHK-1", "wrong-pass")  # a wrong try does not consume the requestNo
        assert (result.password_ok, result.attempts_left, result.locked) == (False, 5 - n, False)
    # a right password in between resets the count
    assert _check(svc, "CHK-1", PASSWORD).password_ok
    for _ in range(4):
        _check(svc, "CHK-2", "wrong-pass")
    last = _check(svc, "CHK-2", "wrong-pass")
    assert (last.password_ok, last.attempts_left, last.locked) == (False, 0, True)
    with pytest.raises(PasswordLocked):
        last.raise_for_password()
    with pytest.raises(PasswordLocked):
        _check(svc, "CHK-2", PASSWORD)  # even the right one, while locked
    svc(passwords.unfreeze_trade_password, passwords.UnfreezeTradePasswordRequest("UNF-1", "u1"))
    assert _check(svc, "CHK-2", PASSWORD).password_ok
    with pytest.raises(PasswordNotLocked, match="未被冻结"):
        svc(passwords.unfreeze_trade_password, passwords.UnfreezeTradePasswordRequest("UNF-2", "u1"))


def test_reset_forget_checks_the_id_number(svc, assert_nothing_written):
    person, _ = svc.register("u1")
    with assert_nothing_written(), pytest.raises(IdentityMismatch):
        svc(passwords.reset_password, passwords.ResetPasswordRequest("RST-1", "u1", new_password="newpass99",
                                                                     id_card_no="11010519900101123X"))
    result = svc(passwords.reset_password, passwords.ResetPasswordRequest(
        "RST-1", "u1", new_password="newpass99", id_card_no=person.id_card_no.lower()))
    assert result.password_ok
    assert not _check(svc, "CHK-1", PASSWORD).password_ok
    assert _check(svc, "CHK-1", "newpass99").password_ok


def test_reset_remember_needs_the_old_password_and_counts_wrong_tries(svc):
    svc.register("u1")
    wrong = svc(passwords.reset_password, passwords.ResetPasswordRequest(
        "RST-1", "u1", new_password="newpass99", is_skip="Remember", old_password="nope-nope"))
    assert (wrong.password_ok, wrong.attempts_left) == (False, 4)
    ok = svc(passwords.reset_password, passwords.ResetPasswordRequest(
        "RST-1", "u1", new_password="newpass99", is_skip="Remember", old_password=PASSWORD))
    assert ok.password_ok
    assert _check(svc, "CHK-1", "newpass99").password_ok


def test_reset_refused_while_locked(svc):
    person, _ = svc.register("u1")
    for _ in range(5):
        _check(svc, "CHK-1", "wrong-pass")
    with pytest.raises(PasswordLocked):
        svc(passwords.reset_password, passwords.ResetPasswordRequest("RST-1", "u1", new_password="newpass99",
                                                                     id_card_no=person.id_card_no))


def test_password_services_are_platform_scoped(svc, assert_nothing_written):
    svc.register("u1")
    with assert_nothing_written():
        with pytest.raises(UserNotFound):
            _check(svc, "CHK-1", PASSWORD, platform_no=P2)
        with pytest.raises(UserNotFound):
            svc(passwords.unfreeze_trade_password, passwords.UnfreezeTradePasswordRequest("UNF-1", "u1"),
                platform_no=P2)


def test_enterprise_reset_forget_uses_the_legal_representative_id(svc):
    from cunguan.custody import enterprise

    req = svc.enterprise_request("e1")
    svc(enterprise.enterprise_register, req)
    result = svc(passwords.reset_password, passwords.ResetPasswordRequest(
        "RST-1", "e1", new_password="newpass99", id_card_no=req.legal_id_card_no))
    assert result.password_ok
