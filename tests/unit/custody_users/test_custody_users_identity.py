import datetime as dt

import pytest

from cunguan.custody import identity
from cunguan.custody.sample_identities import make_prc_id, make_uscc
from cunguan.custody.user_errors import InvalidField, UnderAge

GOOD = make_prc_id(dt.date(1990, 1, 1))


def test_the_standard_published_example_is_valid():
    assert identity.validate_prc_id("11010519491231002X") == "11010519491231002X"
    with pytest.raises(InvalidField, match="check digit"):
        identity.validate_prc_id("110105194912310021")


def test_valid_id_is_returned_compact_and_upper_case():
    assert identity.validate_prc_id(GOOD.lower()) == GOOD
    assert identity.validate_prc_id(" " + GOOD + " ") == GOOD


@pytest.mark.parametrize("bad, why", [
    ("", "required"),
    ("11010519900101123", "18 characters"),
    ("1101051990010112345", "18 characters"),
    ("11010519900101A23X", "17 digits"),
])
def test_malformed_ids_name_the_field_and_reason(bad, why):
    with pytest.raises(InvalidField) as exc:
        identity.validate_prc_id(bad)
    assert exc.value.field == "idCardNo"
    assert why in exc.value.message
    assert exc.value.code == "100002"


def test_wrong_check_digit_is_refused():
    wrong = GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1")
    with pytest.raises(InvalidField, match="check digit"):
        identity.validate_prc_id(wrong)


def test_impossible_birth_date_is_refused():
    from stdnum.cn import ric

    body = "110105" + "19901332" + "123"
    with pytest.raises(InvalidField, match="birth date"):
        identity.validate_prc_id(body + ric.calc_check_digit(body + "0"))


def test_unknown_area_is_refused():
    with pytest.raises(InvalidField, match="area code"):
        identity.validate_prc_id(make_prc_id(dt.date(1990, 1, 1), area="999999"))


def test_message_never_echoes_the_number():
    wrong = GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1")
    with pytest.raises(InvalidField) as exc:
        identity.validate_prc_id(wrong)
    assert GOOD[:-1] not in exc.value.message


def test_age_18_boundary_on_the_beijing_date():
    born = dt.date(2008, 11, 23)
    with pytest.raises(UnderAge) as exc:
        identity.require_adult(born, dt.date(2026, 11, 22))
    assert exc.value.code == "100008"
    identity.require_adult(born, dt.date(2026, 11, 23))


def test_born_on_29_february_turns_18_on_1_march():
    born = dt.date(2008, 2, 29)
    assert identity.adulthood_date(born) == dt.date(2026, 3, 1)
    with pytest.raises(UnderAge):
        identity.require_adult(born, dt.date(2026, 2, 28))
    identity.require_adult(born, dt.date(2026, 3, 1))
    assert identity.adulthood_date(dt.date(2004, 2, 29)) == dt.date(2022, 3, 1)


def test_birth_in_the_future_is_invalid():
    with pytest.raises(InvalidField, match="future"):
        identity.require_adult(dt.date(2030, 1, 1), dt.date(2026, 1, 1))


@pytest.mark.parametrize("mobile", ["13812345678", "19912345678", "15000000000"])
def test_valid_mobiles(mobile):
    assert identity.validate_mobile(mobile) == mobile


@pytest.mark.parametrize("mobile", ["12812345678", "1381234567", "138123456789", "+8613812345678", "1381234567a", ""])
def test_invalid_mobiles(mobile):
    with pytest.raises(InvalidField) as exc:
        identity.validate_mobile(mobile)
    assert exc.value.field == "mobile"


def test_uscc_valid_and_invalid():
    good = make_uscc()
    assert identity.validate_uscc(good) == good
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(InvalidField, match="check character"):
        identity.validate_uscc(wrong)
    with pytest.raises(InvalidField, match="18 characters"):
        identity.validate_uscc(good[:-2])
    with pytest.raises(InvalidField, match="required"):
        identity.validate_uscc("")


def test_id_card_types():
    assert identity.validate_id_card_type(None) == "PRC_ID"
    assert identity.validate_id_card_type("PASSPORT") == "PASSPORT"
    with pytest.raises(InvalidField, match="idCardType"):
        identity.validate_id_card_type("DRIVING_LICENCE")
    with pytest.raises(InvalidField, match="required"):
        identity.validate_id_card_type(None, default=None)


def test_other_documents_shape_only():
    assert identity.validate_other_id(" e1234567 ") == "E1234567"
    with pytest.raises(InvalidField):
        identity.validate_other_id("12")
    with pytest.raises(InvalidField):
        identity.validate_other_id("E1234 567")


def test_names():
    assert identity.validate_name(" 张三 ") == "张三"
    with pytest.raises(InvalidField, match="realName is required"):
        identity.validate_name("  ")
    with pytest.raises(InvalidField, match="digits"):
        identity.validate_name("张3")
    with pytest.raises(InvalidField, match="longer"):
        identity.validate_name("张" * 51)
