"""reqData (§1.4): a JSON object as a string, parsed exactly.

- Numbers with a fraction or exponent become `Decimal` (never float); NaN/Infinity are refused.
- A key repeated inside one object is refused (two readers could see two different requests).
- Strings must be valid Unicode without NUL (no lone surrogates from `\\ud800` escapes): storage and
  signatures downstream need clean UTF-8.
- Numbers are bounded (|n| < 10^30, at most 30 decimal places) so no parser downstream can be made to
  build a billion-digit integer; nesting is bounded.
- `timestamp` (`yyyyMMddHHmmss`, Beijing) must be within the window of the server clock.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

from cunguan.client.wire import MAX_DEPTH
from cunguan.clock import BEIJING, Clock
from cunguan.custody.errors import InvalidRequest

MAX_DIGITS = 30
MAX_ABS_NUMBER = 10**MAX_DIGITS
MAX_FRACTION_DIGITS = 30
TIMESTAMP_RE = re.compile(r"[0-9]{14}")


class _Duplicate(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):  # the C dict build first; the repeated key is looked for only then
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_req_data(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_no_constants, object_pairs_hook=_pairs)
    except _Duplicate as dup:
        raise InvalidRequest(f"reqData has the key {str(dup)[:40]!r} more than once", field="reqData") from None
    except RecursionError:
        raise InvalidRequest("reqData is nested too deeply", field="reqData") from None
    except ValueError as exc:  # JSONDecodeError, too many digits, NaN
        raise InvalidRequest(f"reqData is not valid JSON ({str(exc)[:80]})", field="reqData") from None
    if not isinstance(value, dict):
        raise InvalidRequest("reqData must be a JSON object", field="reqData")
    _check(value, "reqData", 0, "\\u" in text or "\x00" in text)
    return value


def _check(value: Any, path: str, depth: int, texts: bool) -> None:
    """Depth and number bounds everywhere; string contents only when `texts`: a NUL or a lone
    surrogate can only come from a `\\u` escape or a raw NUL in the text, and when the reqData holds
    neither (the common case) every string is clean (an ASYNC batch has ~12,000 of them)."""
    if depth > MAX_DEPTH:
        raise InvalidRequest(f"{path} is nested too deeply", field=path)
    if isinstance(value, str):
        if texts:
            _check_text(value, path)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) >= MAX_ABS_NUMBER:
            raise InvalidRequest(f"{path} is out of range", field=path)
    elif isinstance(value, Decimal):
        # Compare by exponents: arithmetic on 1e999999999 would itself overflow the context.
        exponent = value.as_tuple().exponent
        if not value.is_finite() or (value and value.adjusted() >= MAX_DIGITS) or (
                isinstance(exponent, int) and exponent < -MAX_FRACTION_DIGITS):
            raise InvalidRequest(f"{path} is out of range", field=path)
    elif isinstance(value, dict):
        for key, item in value.items():
            if texts:
                _check_text(key, f"{path} key")
            if texts or depth >= MAX_DEPTH or not isinstance(item, str):  # a clean string needs no call
                _check(item, key if depth == 0 else f"{path}.{key}", depth + 1, texts)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if texts or depth >= MAX_DEPTH or not isinstance(item, str):
                _check(item, f"{path}[{i}]", depth + 1, texts)


def _check_text(text: str, path: str) -> None:
    if "\x00" in text:
        raise InvalidRequest(f"{path[:60]} contains a NUL character", field=path[:60])
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(f"{path[:60]} is not valid Unicode (lone surrogate)", field=path[:60]) from None


def parse_timestamp(value: object) -> dt.datetime:
    """`yyyyMMddHHmmss` in Beijing time -> an aware datetime."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or value == "":
        raise InvalidRequest("timestamp is required", field="timestamp")
    if not isinstance(value, str) or not TIMESTAMP_RE.fullmatch(value):
        raise InvalidRequest("timestamp must be yyyyMMddHHmmss (14 digits, Beijing time)", field="timestamp")
    try:
        naive = dt.datetime.strptime(value, "%Y%m%d%H%M%S")
    except ValueError:
        raise InvalidRequest(f"timestamp {value} is not a real date and time", field="timestamp") from None
    return naive.replace(tzinfo=BEIJING)


def check_timestamp(req: dict[str, Any], clock: Clock, window_s: int) -> dt.datetime:
    """The request's time, if within ±`window_s` of `clock`; a precise 100002 otherwise."""
    when = parse_timestamp(req.get("timestamp"))
    now = clock.now()
    skew = (when - now).total_seconds()
    if abs(skew) > window_s:
        server = now.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")
        side = "ahead of" if skew > 0 else "behind"
        raise InvalidRequest(
            f"timestamp {req.get('timestamp')} is {int(abs(skew))} s {side} the bank clock ({server} Beijing); "
            f"accepted window is ±{window_s} s", field="timestamp")
    return when
