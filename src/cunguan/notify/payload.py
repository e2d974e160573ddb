"""The notification's `respData` text and the NOTIFY form around it (protocol §1.7).

`respData` is serialised exactly once, at enqueue, and the stored text is what is signed and sent on
every attempt, so a retry can never sign different bytes than the first try. Amounts are rendered
from `Decimal` exactly as JSON numbers (the wire returns amounts as numbers, §1.4); a `float` is
refused, since no float may come near an amount.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal

MAX_DEPTH = 16
"""respData is a shallow object (envelope + service fields + `details`); deeper means a bug."""

MAX_RESP_DATA_CHARS = 1_000_000

Signer = Callable[[bytes], str]
"""`sign(data) -> base64 SHA1withRSA` over the exact bytes (protocol §1.5), bank private key."""


class PayloadError(ValueError):
    """respData that cannot be sent: a float, a non-string key, NaN, something not JSON."""


def dumps_resp_data(resp_data: Mapping[str, object]) -> str:
    """Compact JSON, UTF-8 kept as is (not \\u-escaped), keys in the caller's order."""
    if not isinstance(resp_data, Mapping):
        raise PayloadError("respData must be a JSON object (a mapping)")
    text = _fast(resp_data) if _plain(resp_data, 0) else _dump(resp_data, 0)
    if len(text) > MAX_RESP_DATA_CHARS:
        raise PayloadError(f"respData of {len(text)} characters exceeds {MAX_RESP_DATA_CHARS}")
    return text


_fast = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False, allow_nan=False).encode
"""The C encoder, for trees `_plain` accepts: for them it writes exactly what `_dump` writes (a 1,000-detail
ASYNC NOTIFY: ~1 ms instead of ~16 ms); tested byte for byte in tests/unit/notify."""


def _plain(value: object, depth: int) -> bool:
    """Only exact dicts with str keys, lists, str, int (not bool), bool and None, within MAX_DEPTH: the
    types on which the C encoder and `_dump` agree. Anything else (Decimal, tuples, subclasses, floats)
    takes `_dump`, which renders or refuses it."""
    if depth > MAX_DEPTH:
        return False
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                return False
            kind = type(item)
            if kind is str or kind is int or kind is bool or item is None:
                continue
            if not _plain(item, depth + 1):
                return False
        return True
    if kind is list:
        for item in value:  # type: ignore[attr-defined]
            kind = type(item)
            if kind is str or kind is int or kind is bool or item is None:
                continue
            if not _plain(item, depth + 1):
                return False
        return True
    return False


def _dump(value: object, depth: int) -> str:
    if depth > MAX_DEPTH:
        raise PayloadError(f"respData nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise PayloadError(f"amount {value} is not a finite number")
        # Fixed-point, never exponent form: Decimal("5E+2") is written 500, Decimal("0.10") 0.10.
        return format(value, "f")
    if isinstance(value, float):
        raise PayloadError("a float in respData: render amounts as Decimal (e.g. money.fen_to_decimal)")
    if isinstance(value, Mapping):
        parts = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise PayloadError(f"respData key {key!r} is not a string")
            parts.append(f"{json.dumps(key, ensure_ascii=False)}:{_dump(item, depth + 1)}")
        return "{" + ",".join(parts) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_dump(item, depth + 1) for item in value) + "]"
    raise PayloadError(f"respData value of type {type(value).__name__} is not JSON")


def notify_form(*, platform_no: str, service_name: str, response_type: str, key_serial: str,
                resp_data: str, sign: str) -> dict[str, str]:
    """The form fields of a server NOTIFY, in the order of §1.7 (`userDevice` is absent on NOTIFY)."""
    return {
        "platformNo": platform_no,
        "serviceName": service_name,
        "responseType": response_type,
        "keySerial": key_serial,
        "respData": resp_data,
        "sign": sign,
    }


def is_acknowledged(http_status: int, body: bytes) -> bool:
    """The platform took the notification: HTTP 200 and the body is exactly `SUCCESS` once
    surrounding whitespace (and a UTF-8 byte-order mark) is stripped. Case matters: `success`,
    `INIT`, JSON, an HTML page, any redirect are all "not yet" and the notification is repeated
    (§1.7 step 5: platforms answer `SUCCESS`, or e.g. `INIT` on a local failure)."""
    if http_status != 200:
        return False
    text = body.removeprefix(b"\xef\xbb\xbf").strip()
    return text == b"SUCCESS"
