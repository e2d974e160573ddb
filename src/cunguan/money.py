"""Amounts: integer fen inside, exact decimals at the edge.

Floats never touch an amount: a wire amount (JSON number or string) is parsed with `Decimal` from its
text, so `0.1 + 0.2` style drift cannot happen, and anything with more than two decimals, an exponent
trick, NaN or a value beyond a signed 64-bit fen count is refused with a precise reason.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

MAX_FEN = 2**63 - 1
"""Largest amount a ledger column can hold (signed 64-bit)."""

_PLAIN_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]*)?|[+-]?\.[0-9]+", re.ASCII)
"""What a wire amount string may look like: ASCII digits and one point; no exponent, no '_', no
full-width digits (Decimal() would take all of those)."""


class AmountError(ValueError):
    """An amount that cannot be taken: the message says why, for an error envelope."""


def parse_yuan(value: object, *, field: str = "amount", allow_zero: bool = False) -> int:
    """Parse a wire amount in yuan (JSON number or string, at most 2 decimals) into fen.

    JSON numbers arrive as `int` or as `Decimal` (the wire parser uses `parse_float=Decimal`); a Python
    `float` is refused outright because its text is already lost.
    """
    if type(value) is Decimal and value.is_finite():  # the common case: a JSON number with ≤ 2 decimals
        exponent = value.as_tuple().exponent
        if -2 <= exponent <= 0 and value.adjusted() <= 18:  # type: ignore[operator]
            fen_int = int(value.scaleb(2))  # exact: at most two decimals
            if 0 < fen_int <= MAX_FEN or (fen_int == 0 and allow_zero and not value.is_signed()):
                return fen_int
    if isinstance(value, bool) or value is None:
        raise AmountError(f"{field} must be a number")
    if isinstance(value, float):
        raise AmountError(f"{field} must be parsed exactly (got a binary float)")
    if isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, Decimal):
        dec = value
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 40:
            raise AmountError(f"{field} is not a number")
        if not _PLAIN_DECIMAL.fullmatch(text):
            raise AmountError(f"{field} is not a plain decimal number: {text[:20]!r}")
        try:
            dec = Decimal(text)
        except InvalidOperation:
            raise AmountError(f"{field} is not a number: {text[:20]!r}") from None
    else:
        raise AmountError(f"{field} must be a number")
    if not dec.is_finite():
        raise AmountError(f"{field} is not a finite number")
    if dec.adjusted() > 18:  # checked before any arithmetic: 1E+999999999 must not become a huge int
        raise AmountError(f"{field} is too large")
    exponent = dec.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -2 and dec != dec.quantize(Decimal("0.01")):
        raise AmountError(f"{field} has more than 2 decimals")
    fen = dec * 100
    if fen != fen.to_integral_value():
        raise AmountError(f"{field} has more than 2 decimals")
    fen_int = int(fen)
    if fen_int < 0 or (fen_int == 0 and not allow_zero):
        raise AmountError(f"{field} must be greater than 0")
    if fen_int > MAX_FEN:
        raise AmountError(f"{field} is too large")
    return fen_int


def fen_to_decimal(fen: int) -> Decimal:
    """Fen as an exact yuan Decimal with two places, for JSON output as a number."""
    assert isinstance(fen, int) and not isinstance(fen, bool)
    return Decimal(fen).scaleb(-2).quantize(Decimal("0.01"))


def format_yuan(fen: int) -> str:
    """Fen as yuan text with two places, e.g. 123456 -> '1234.56', -5 -> '-0.05'."""
    assert isinstance(fen, int) and not isinstance(fen, bool)
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def yuan(whole: int, cents: int = 0) -> int:
    """Fen from whole yuan and cents, for readable constants: yuan(50_000) == 5_000_000."""
    assert 0 <= cents < 100
    return whole * 100 + cents
