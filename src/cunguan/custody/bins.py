"""Bank cards: Luhn check and the BIN table that tells a card's bank (protocol §3.22 codes) and type.

The table ships with the project (`cunguan/data/card_bins.csv`: bin, bankcode, card_type, card_name),
is read once, and is matched by longest prefix. Only debit cards of a supported bank can be bound:
custody money leaves to the user's own deposit account, never to a credit line.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

from stdnum import luhn

from cunguan.custody.user_errors import BankNotSupported, CardNotAccepted, InvalidField

BANK_CODES: dict[str, str] = {
    "ABOC": "中国农业银行", "PCBC": "中国建设银行", "BKCH": "中国银行", "PSBC": "中国邮政储蓄银行",
    "CIBK": "中信银行", "SZDB": "平安银行", "EVER": "中国光大银行", "SPDB": "浦发银行",
    "FJIB": "兴业银行", "BJCN": "北京银行", "GDBK": "广发银行", "CMBC": "招商银行",
    "HXBK": "华夏银行", "COMM": "交通银行", "ICBK": "中国工商银行", "BOSH": "上海银行",
    "MSBC": "中国民生银行", "BKNB": "宁波银行",
}
"""Bank codes of protocol §3.22 (SWIFT-BIC prefixes; note CMBC is 招商银行)."""

CARD_TYPES = frozenset({"DEBIT", "CREDIT"})
MIN_CARD_LEN = 16
MAX_CARD_LEN = 19
MIN_CORPORATE_ACCOUNT_LEN = 8
MAX_CORPORATE_ACCOUNT_LEN = 32


@dataclass(frozen=True)
class BinEntry:
    bin: str
    bankcode: str
    card_type: str
    card_name: str


@dataclass(frozen=True)
class CardInfo:
    card_no: str
    bankcode: str
    card_type: str


@functools.cache
def bin_table() -> tuple[BinEntry, ...]:
    """The shipped BIN table, longest prefixes first; malformed rows fail loudly at first use."""
    text = resources.files("cunguan").joinpath("data/card_bins.csv").read_text(encoding="utf-8")
    entries = []
    for line_no, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        entry = BinEntry(row["bin"].strip(), row["bankcode"].strip(), row["card_type"].strip(),
                         row.get("card_name", "").strip())
        assert entry.bin.isdigit() and 3 <= len(entry.bin) <= 10, f"card_bins.csv:{line_no}: bad bin"
        assert entry.bankcode in BANK_CODES, f"card_bins.csv:{line_no}: unknown bankcode {entry.bankcode}"
        assert entry.card_type in CARD_TYPES, f"card_bins.csv:{line_no}: unknown card type"
        entries.append(entry)
    assert len({e.bin for e in entries}) == len(entries), "card_bins.csv: duplicate bin"
    return tuple(sorted(entries, key=lambda e: -len(e.bin)))


def lookup_bin(card_no: str) -> BinEntry | None:
    for entry in bin_table():
        if card_no.startswith(entry.bin):
            return entry
    return None


def normalize_card_no(value: str | None, *, field: str = "bankcardNo") -> str:
    if value is None or not str(value).strip():
        raise InvalidField(f"{field} is required", field=field)
    text = str(value).replace(" ", "").strip()
    if not text.isdigit():
        raise InvalidField(f"{field} must contain digits only", field=field)
    return text


def validate_personal_card(value: str | None, *, field: str = "bankcardNo") -> CardInfo:
    """A personal debit card: 16-19 digits, Luhn-valid, with a BIN of a supported bank."""
    card_no = normalize_card_no(value, field=field)
    if not MIN_CARD_LEN <= len(card_no) <= MAX_CARD_LEN:
        raise InvalidField(f"{field} must have {MIN_CARD_LEN}-{MAX_CARD_LEN} digits (got {len(card_no)})",
                           field=field)
    if not luhn.is_valid(card_no):
        raise InvalidField(f"{field} fails the Luhn check digit", field=field)
    entry = lookup_bin(card_no)
    if entry is None:
        raise BankNotSupported(f"{field}: the card's bank is not supported (unknown BIN)", field=field)
    if entry.card_type != "DEBIT":
        raise CardNotAccepted(f"{field}: only debit cards can be bound (this is a {entry.card_type.lower()} card)",
                              field=field)
    return CardInfo(card_no, entry.bankcode, entry.card_type)


def validate_bankcode(value: str | None, *, field: str = "bankcode") -> str:
    if value is None or not str(value).strip():
        raise InvalidField(f"{field} is required", field=field)
    code = str(value).strip()
    if code not in BANK_CODES:
        raise BankNotSupported(f"{field} {code[:8]!r} is not a supported bank code", field=field)
    return code


def validate_corporate_account(value: str | None, bankcode: str | None, *, field: str = "bankcardNo",
                               code_field: str = "bankcode") -> CardInfo:
    """A corporate settlement account: 8-32 digits at a supported bank (no Luhn: account numbers of
    Chinese banks' corporate accounts carry bank-specific check schemes, not Luhn)."""
    account = normalize_card_no(value, field=field)
    if not MIN_CORPORATE_ACCOUNT_LEN <= len(account) <= MAX_CORPORATE_ACCOUNT_LEN:
        raise InvalidField(f"{field} must have {MIN_CORPORATE_ACCOUNT_LEN}-{MAX_CORPORATE_ACCOUNT_LEN} digits",
                           field=field)
    return CardInfo(account, validate_bankcode(bankcode, field=code_field), "CORPORATE")
