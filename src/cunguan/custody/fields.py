"""Small field readers shared by every custody service: "absent, null or empty" all mean not supplied
(protocol §1.4), required text has a length limit, enums name their allowed values, amounts are read
as exact yuan into fen."""

from __future__ import annotations

import re
from collections.abc import Iterable

from cunguan.custody.user_errors import InvalidField
from cunguan.money import AmountError, parse_yuan

MAX_NO_LEN = 50
"""requestNo, platformUserNo, projectNo: S50."""
_CONTROL = re.compile(r"[\x00-\x1f]")
"""C0 control characters: refused in every text field (one regex search: this runs for every field of
every detail of an ASYNC batch)."""


def opt(value: object) -> object | None:
    """None for absent / null / "" (and whitespace-only text); the value otherwise."""
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _clean(value: object, max_len: int) -> bool:
    """Text that every reader below takes exactly as it is (the common case, checked first: these run
    for every field of every detail of an ASYNC batch): a non-empty str within the limit, without
    surrounding whitespace or control characters."""
    return (type(value) is str and 0 < len(value) <= max_len and not value[0].isspace()
            and not value[-1].isspace() and _CONTROL.search(value) is None)


def req_text(value: object, field: str, *, max_len: int = MAX_NO_LEN) -> str:
    if _clean(value, max_len):
        return value  # type: ignore[return-value]
    value = opt(value)
    if value is None:
        raise InvalidField(f"{field} is required", field=field)
    if not isinstance(value, str):
        raise InvalidField(f"{field} must be a string", field=field)
    text = value.strip()
    if len(text) > max_len:
        raise InvalidField(f"{field} is longer than {max_len} characters", field=field)
    if _CONTROL.search(text) is not None:
        raise InvalidField(f"{field} must not contain control characters", field=field)
    return text


def opt_text(value: object, field: str, *, max_len: int = MAX_NO_LEN) -> str | None:
    if value is None:
        return None
    if _clean(value, max_len):
        return value  # type: ignore[return-value]
    return None if opt(value) is None else req_text(value, field, max_len=max_len)


def req_enum(value: object, field: str, allowed: Iterable[str]) -> str:
    if type(value) is str and value in allowed:  # an exact member: nothing to strip or check
        return value
    allowed = tuple(allowed)
    text = req_text(value, field, max_len=64)
    if text not in allowed:
        raise InvalidField(f"{field} must be one of {', '.join(allowed)} (got {text[:32]!r})", field=field)
    return text


def opt_enum(value: object, field: str, allowed: Iterable[str], default: str | None = None) -> str | None:
    return default if opt(value) is None else req_enum(value, field, allowed)


def amount_fen(value: object, field: str, *, allow_zero: bool = False) -> int:
    """A wire amount (yuan, at most 2 decimals, exact) → fen, or InvalidField naming the field."""
    try:
        return parse_yuan(value, field=field, allow_zero=allow_zero)
    except AmountError as exc:
        raise InvalidField(str(exc), field=field) from None
