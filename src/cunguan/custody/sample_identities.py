"""Valid-looking sample identities for tests, the simulator and the demo: PRC ID numbers with a
correct check digit and card numbers with a correct Luhn digit on a real BIN. They are synthetic
(sequence numbers chosen by the caller), not anyone's data."""

from __future__ import annotations

import datetime as dt

from stdnum import luhn
from stdnum.cn import ric, uscc


def make_prc_id(born: dt.date, *, area: str = "110105", seq: int = 123) -> str:
    """An 18-character ID: area (default 北京市朝阳区), birth date, 3-digit sequence, check digit."""
    assert len(area) == 6 and area.isdigit() and 0 <= seq <= 999
    body = f"{area}{born:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum ignores the last character (the check slot)


def make_card(bin_prefix: str = "622202", *, serial: int = 1, length: int = 19) -> str:
    """A Luhn-valid card number on `bin_prefix` (default: an ICBC debit BIN)."""
    middle_len = length - len(bin_prefix) - 1
    assert middle_len > 0
    body = f"{bin_prefix}{serial:0{middle_len}d}"
    assert len(body) == length - 1
    return body + luhn.calc_check_digit(body)


def make_uscc(body17: str = "91110000600037341") -> str:
    """A unified social credit code with a correct check character."""
    assert len(body17) == 17
    return body17 + uscc.calc_check_digit(body17)
