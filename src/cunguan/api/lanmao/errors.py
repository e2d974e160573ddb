"""Exceptions -> the Lanmao error envelope's (`code`, `errorCode`, `errorMessage`).

Any exception that carries a six-digit vendor `code` (§4.2) and a `message` is a refusal the platform
may see: `cunguan.custody.errors.CustodyError` and its subclasses, and other rooms' own error classes
built the same way (e.g. `custody.user_errors.CustodyUserError`). Amount parse errors are 100002,
ledger refusals map to their nearest vendor code. Anything else is unexpected: the caller logs it with
a correlation id and answers 100001 without details.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cunguan.custody.errors import (
    BAD_JSON,
    CODE_TEXT,
    DUPLICATE_REQUEST_NO,
    INSUFFICIENT_BALANCE,
    REFUSED,
    describe,
)
from cunguan.ledger.errors import LedgerError
from cunguan.money import AmountError

_VENDOR_CODE = re.compile(r"1000[0-9]{2}")
_CJK = re.compile(r"[\u3400-\u9fff]")
MAX_MESSAGE_CHARS = 300

_LEDGER_CODES = {
    "INSUFFICIENT_AVAILABLE": INSUFFICIENT_BALANCE,
    "INSUFFICIENT_FROZEN": INSUFFICIENT_BALANCE,
    "DUPLICATE_KEY": DUPLICATE_REQUEST_NO,
}


@dataclass(frozen=True)
class WireError:
    call_code: str
    error_code: str
    message: str


def _message(code: str, message: str) -> str:
    """Vendor text first when the message has none (clients match on Chinese fragments), bounded."""
    text = message if _CJK.search(message) or not message else f"{CODE_TEXT.get(code, '')}：{message}"
    if not text:
        text = describe(code)
    return text[:MAX_MESSAGE_CHARS]


def to_wire_error(exc: BaseException) -> WireError | None:
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None)
    if isinstance(code, str) and _VENDOR_CODE.fullmatch(code) and isinstance(message, str):
        call_code = getattr(exc, "call_code", "1")
        return WireError(call_code if call_code in ("0", "1") else "1", code, _message(code, message))
    if isinstance(exc, AmountError):
        return WireError("1", BAD_JSON, describe(BAD_JSON, str(exc))[:MAX_MESSAGE_CHARS])
    if isinstance(exc, LedgerError):
        mapped = _LEDGER_CODES.get(exc.code, REFUSED)
        return WireError("1", mapped, describe(mapped, exc.message)[:MAX_MESSAGE_CHARS])
    return None
