"""Identity checks of the four-element registration: PRC ID numbers, age, names, mobiles, USCC.

Pure functions (no I/O). Each raises `InvalidField` naming the field and the precise reason, so a
platform can tell its user what to fix; messages never echo the full number.
"""

from __future__ import annotations

import datetime as dt
import re

from stdnum import exceptions as stdnum_exc
from stdnum.cn import ric, uscc

from cunguan.custody.user_errors import InvalidField, UnderAge

ADULT_AGE_YEARS = 18
PRC_ID = "PRC_ID"
REVIEWED_ID_TYPES = frozenset({"PASSPORT", "COMPATRIOTS_CARD", "PERMANENT_RESIDENCE"})
"""ID types a person may register with only after manual review by the bank (protocol §3.4)."""
ID_CARD_TYPES = frozenset({PRC_ID}) | REVIEWED_ID_TYPES

MAX_NAME_LEN = 50
MAX_OTHER_ID_LEN = 50
_MOBILE = re.compile(r"1[3-9]\d{9}")
_OTHER_ID = re.compile(r"[A-Za-z0-9()\-]{5,50}")


def validate_prc_id(number: str, *, field: str = "idCardNo") -> str:
    """A valid 18-character PRC resident ID number (upper-case X), or `InvalidField` saying why.

    Checked in order: format and length, birth date (a real, past date), area code (a known
    administrative division), checksum (ISO 7064 MOD 11-2)."""
    if not isinstance(number, str) or not number.strip():
        raise InvalidField(f"{field} is required", field=field)
    compact = ric.compact(number).upper()
    if len(compact) != 18:
        raise InvalidField(f"{field} must have 18 characters (got {len(compact)})", field=field)
    if not compact[:-1].isdigit() or not (compact[-1].isdigit() or compact[-1] == "X"):
        raise InvalidField(f"{field} must be 17 digits followed by a digit or X", field=field)
    try:
        ric.get_birth_date(compact)
    except stdnum_exc.ValidationError:
        raise InvalidField(f"{field} has an invalid birth date", field=field) from None
    try:
        ric.get_birth_place(compact)
    except stdnum_exc.ValidationError:
        raise InvalidField(f"{field} has an unknown area code", field=field) from None
    if ric.calc_check_digit(compact) != compact[-1]:  # stdnum takes the number with its check digit
        raise InvalidField(f"{field} has a wrong check digit", field=field)
    assert ric.is_valid(compact), "stepwise checks must agree with stdnum's own validate()"
    return compact


def birth_date(prc_id: str) -> dt.date:
    return ric.get_birth_date(prc_id)


def adulthood_date(born: dt.date) -> dt.date:
    """The day a person born on `born` turns 18. Someone born on 29 February turns 18 on 1 March
    in a non-leap year (the day after 28 February, when the full years are complete)."""
    year = born.year + ADULT_AGE_YEARS
    try:
        return born.replace(year=year)
    except ValueError:  # 29 February -> 1 March
        return dt.date(year, 3, 1)


def require_adult(born: dt.date, today_beijing: dt.date, *, field: str = "idCardNo") -> None:
    """Only adults may open a custody account; `today_beijing` is the clock's Beijing date."""
    if born > today_beijing:
        raise InvalidField(f"{field} has a birth date in the future", field=field)
    if today_beijing < adulthood_date(born):
        raise UnderAge(f"the holder of {field} is under {ADULT_AGE_YEARS}", field=field)


def validate_id_card_type(value: str | None, *, field: str = "idCardType", default: str | None = PRC_ID) -> str:
    """Absent, null or empty takes the default (PRC_ID for a person; enterprises must say)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is None:
            raise InvalidField(f"{field} is required", field=field)
        return default
    if value not in ID_CARD_TYPES:
        raise InvalidField(f"{field} must be one of {', '.join(sorted(ID_CARD_TYPES))}", field=field)
    return value


def validate_other_id(number: str | None, *, field: str = "idCardNo") -> str:
    """Passport / pass / permanent-residence numbers: shape only (5-50 letters, digits, -, ())."""
    if not number:
        raise InvalidField(f"{field} is required", field=field)
    text = number.strip().upper()
    if not _OTHER_ID.fullmatch(text):
        raise InvalidField(f"{field} must be 5-50 letters, digits, '-' or parentheses", field=field)
    return text


def validate_name(value: str | None, *, field: str = "realName", max_len: int = MAX_NAME_LEN) -> str:
    if value is None or not value.strip():
        raise InvalidField(f"{field} is required", field=field)
    text = value.strip()
    if len(text) > max_len:
        raise InvalidField(f"{field} is longer than {max_len} characters", field=field)
    if any(ch.isdigit() or ord(ch) < 32 for ch in text):
        raise InvalidField(f"{field} must not contain digits or control characters", field=field)
    return text


def validate_mobile(value: str | None, *, field: str = "mobile") -> str:
    """An 11-digit mainland China mobile number (1[3-9]xxxxxxxxx)."""
    if value is None or not value.strip():
        raise InvalidField(f"{field} is required", field=field)
    text = value.strip()
    if not _MOBILE.fullmatch(text):
        raise InvalidField(f"{field} must be an 11-digit PRC mobile number starting 13-19", field=field)
    return text


def validate_uscc(value: str | None, *, field: str = "unifiedCode") -> str:
    """An 18-character unified social credit code (统一社会信用代码) with a valid check character."""
    if value is None or not value.strip():
        raise InvalidField(f"{field} is required", field=field)
    try:
        return uscc.validate(value)
    except stdnum_exc.InvalidLength:
        raise InvalidField(f"{field} must have 18 characters", field=field) from None
    except stdnum_exc.InvalidChecksum:
        raise InvalidField(f"{field} has a wrong check character", field=field) from None
    except stdnum_exc.ValidationError:
        raise InvalidField(f"{field} is not a unified social credit code", field=field) from None
