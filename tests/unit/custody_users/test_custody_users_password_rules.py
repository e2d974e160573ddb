import datetime as dt

import pytest

from cunguan.custody import authorizations, passwords
from cunguan.custody.user_errors import InvalidField


def test_five_wrong_tries_lock():
    count, locked, seen = 0, False, []
    for _ in range(passwords.MAX_WRONG_TRIES):
        count, locked = passwords.after_wrong_try(count)
        seen.append((count, locked, passwords.attempts_left(count)))
    assert seen == [(1, False, 4), (2, False, 3), (3, False, 2), (4, False, 1), (5, True, 0)]
    with pytest.raises(AssertionError):
        passwords.after_wrong_try(passwords.MAX_WRONG_TRIES)


def test_new_password_rules():
    assert passwords.validate_new_password("abc123") == "abc123"
    for bad, why in [("", "required"), ("12345", "6-32"), ("x" * 33, "6-32"), ("abc 123", "spaces"),
                     ("abc\x00123", "spaces or control")]:
        with pytest.raises(InvalidField, match=why):
            passwords.validate_new_password(bad)


def test_hash_is_argon2_and_verifies():
    digest = passwords.HASHER.hash("s3cret!")
    assert digest.startswith("$argon2id$") and "s3cret!" not in digest
    assert passwords.HASHER.verify(digest, "s3cret!")


def test_password_fields_stay_out_of_reprs():
    req = passwords.CheckPasswordRequest("r1", "u1", "bid", password="hunter22")
    assert "hunter22" not in repr(req)
    reset = passwords.ResetPasswordRequest("r2", "u1", new_password="newpass1", old_password="oldpass1",
                                           id_card_no="11010519900101123X")
    assert "newpass1" not in repr(reset) and "oldpass1" not in repr(reset) and "1123X" not in repr(reset)


def test_wrong_password_outcome_raises_after_commit():
    ok = passwords.CheckPasswordResult(True, 5, False, "r", "u", "d")
    ok.raise_for_password()
    with pytest.raises(passwords.WrongPassword, match="2 tries left"):
        passwords.CheckPasswordResult(False, 2, False, "r", "u", "d").raise_for_password()
    with pytest.raises(passwords.PasswordLocked):
        passwords.CheckPasswordResult(False, 0, True, "r", "u", "d").raise_for_password()


TODAY = dt.date(2026, 11, 23)


def test_auth_list_parsing():
    assert authorizations.parse_auth_list("TENDER,RECHARGE,TENDER") == ("TENDER", "RECHARGE")
    assert authorizations.parse_auth_list("", required=False) == ()
    with pytest.raises(InvalidField, match="RECHARG"):
        authorizations.parse_auth_list("TENDER,RECHARG")
    with pytest.raises(InvalidField, match="empty item"):
        authorizations.parse_auth_list("TENDER,,WITHDRAW")
    with pytest.raises(InvalidField, match="required"):
        authorizations.parse_auth_list(None)


def test_fail_time_parsing():
    assert authorizations.parse_fail_time("20281123", TODAY) == dt.date(2028, 11, 23)
    assert authorizations.parse_fail_time("20261123", TODAY) == TODAY
    assert authorizations.parse_fail_time("20281123235959", TODAY) == dt.date(2028, 11, 23)
    assert authorizations.parse_fail_time("", TODAY) is None
    for bad, why in [("20261122", "past"), ("20261332", "real date"), ("2026-11-23", "yyyyMMdd"),
                     ("20371124", "10 years")]:
        with pytest.raises(InvalidField, match=why):
            authorizations.parse_fail_time(bad, TODAY)


def test_amount_cap_parsing():
    assert authorizations.parse_amount_cap("5000.5") == 500_050
    assert authorizations.parse_amount_cap(None) is None
    with pytest.raises(InvalidField, match="2 decimals"):
        authorizations.parse_amount_cap("1.001")
    with pytest.raises(InvalidField, match="greater than 0"):
        authorizations.parse_amount_cap("0")
