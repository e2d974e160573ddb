"""The cleaning rules of custody.md for imported users, as pure functions: a row goes in, a verdict
comes out — accepted (possibly with flags) or rejected — each issue with a stable code and a reason an
operator can act on. No I/O here: uniqueness against the database is the importer's job.

| case | verdict (code) |
|---|---|
| passport / Hong Kong-Macau-Taiwan pass (PASSPORT, COMPATRIOTS_CARD) | imported, flagged REVIEW_REQUIRED: activation ends in auditStatus AUDIT until the bank's manual review |
| PRC ID of a holder under 18 (birth date from the ID, against the clock's Beijing date) | rejected UNDER_AGE |
| any other document type (PERMANENT_RESIDENCE or unknown) | rejected DOCUMENT_TYPE |
| card of an unsupported bank (unknown BIN, bank not in protocol §3.22, credit card, bankcode disagreeing with the BIN) | imported, flagged CARD_INVALID: activation is abnormal until the card is changed |
| card or document data missing (ID number, card number, name, mobile, role…) | rejected MISSING_DATA |

Decisions where the spec is silent:
- A card number that is present but malformed (not digits, wrong length, Luhn check fails) or an ID
  number that fails its checks is rejected (INVALID_CARD / INVALID_DOCUMENT): it is bad data the
  platform must correct, like missing data — not a card of an unsupported bank.
- A blank idCardType of a person means PRC_ID (the protocol's default); an enterprise's document is its
  unified social credit code (idCardType blank), its card a corporate account with a required bankcode.
- The bank is the BIN's bank; a bankcode column that names another bank marks the card invalid.
- Quick pay (快捷充值): the payment cloud offers it for the banks in `QUICK_PAY_BANKS`; a valid card of
  another bank is flagged NO_QUICK_PAY and the user activates with quick recharge unavailable.
  Enterprises never use quick pay (online banking B2B), so no flag for them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from stdnum import luhn
from stdnum.cn import ric

from cunguan.custody import bins, identity
from cunguan.custody.errors import CustodyError
from cunguan.custody.roles import ENTERPRISE_ROLES, PERSONAL_ROLES, SYSTEM_USER_PREFIX
from cunguan.money import AmountError, parse_yuan

ACCEPT, FLAG, REJECT = "ACCEPTED", "FLAGGED", "REJECTED"
REVIEWED_DOCUMENTS = frozenset({"PASSPORT", "COMPATRIOTS_CARD"})
QUICK_PAY_BANKS = frozenset(bins.BANK_CODES) - frozenset({"BJCN", "BOSH", "BKNB"})
"""Banks the payment cloud's quick pay (SWIFT) serves. The city commercial banks of protocol §3.22
(北京银行, 上海银行, 宁波银行, marked [P]: one source only) are taken as custody-supported for
withdrawals and online banking but without quick pay; this is the one place to change that."""
MAX_NO_LEN = 50


@dataclass(frozen=True)
class Issue:
    outcome: str  # FLAGGED or REJECTED
    code: str
    reason: str


@dataclass(frozen=True)
class CleanUser:
    """An accepted row, normalised, with the flags it carries."""

    platform_user_no: str
    user_type: str
    user_role: str
    name: str
    id_card_type: str | None
    id_card_no: str
    bankcard_no: str
    bankcode: str | None
    mobile: str
    card_valid: bool
    quick_pay: bool
    review_required: bool
    flags: tuple[Issue, ...]

    @property
    def outcome(self) -> str:
        return FLAG if self.flags else ACCEPT


@dataclass(frozen=True)
class Rejected:
    platform_user_no: str | None
    issue: Issue

    outcome = REJECT


def _reject(user_no: str | None, code: str, reason: str) -> Rejected:
    return Rejected(user_no or None, Issue(REJECT, code, reason))


def _flag(code: str, reason: str) -> Issue:
    return Issue(FLAG, code, reason)


def check_user_no(value: str) -> str | None:
    """None if acceptable, else why not."""
    if not value:
        return "platformUserNo is missing"
    if len(value) > MAX_NO_LEN:
        return f"platformUserNo is longer than {MAX_NO_LEN} characters"
    if any(ord(ch) < 32 for ch in value):
        return "platformUserNo contains control characters"
    if value.upper().startswith(SYSTEM_USER_PREFIX):
        return f"platformUserNo starting {SYSTEM_USER_PREFIX} is reserved for system accounts"
    return None


def check_person_document(id_type: str, id_no: str, today: dt.date) -> Issue | None:
    """The document rules of a person: None = acceptable without review; a FLAG = imported for manual
    review; a REJECT = not imported."""
    if id_type == identity.PRC_ID:
        try:
            compact = identity.validate_prc_id(id_no)
        except CustodyError as exc:
            return Issue(REJECT, "INVALID_DOCUMENT", exc.detail or exc.message)
        born = identity.birth_date(compact)
        if born > today:
            return Issue(REJECT, "INVALID_DOCUMENT", "idCardNo has a birth date in the future")
        if today < identity.adulthood_date(born):
            return Issue(REJECT, "UNDER_AGE", "the holder is under 18: move the balance and holdings to a guardian "
                                              "or relative and close the user first")
        return None
    if id_type in REVIEWED_DOCUMENTS:
        try:
            identity.validate_other_id(id_no)
        except CustodyError as exc:
            return Issue(REJECT, "INVALID_DOCUMENT", exc.detail or exc.message)
        return _flag("REVIEW_REQUIRED", f"{id_type}: activation needs the bank's manual review")
    return Issue(REJECT, "DOCUMENT_TYPE", f"idCardType {id_type[:24]!r} cannot be imported: change the document "
                                          "or move everything to another user and close this one")


@dataclass(frozen=True)
class CardVerdict:
    card_no: str
    bankcode: str | None
    valid: bool
    issue: Issue | None  # REJECT (bad data) or FLAG (card invalid)


def check_personal_card(card: str, bankcode: str) -> CardVerdict:
    """A person's debit card: malformed → rejected; of an unsupported bank → imported, card invalid."""
    digits = card.replace(" ", "")
    if not digits.isdigit() or not bins.MIN_CARD_LEN <= len(digits) <= bins.MAX_CARD_LEN:
        return CardVerdict(digits, None, False, Issue(REJECT, "INVALID_CARD", "bankcardNo must have 16-19 digits"))
    if not luhn.is_valid(digits):
        return CardVerdict(digits, None, False, Issue(REJECT, "INVALID_CARD", "bankcardNo fails the Luhn check digit"))
    entry = bins.lookup_bin(digits)
    given = bankcode or None
    known_given = given if given in bins.BANK_CODES else None
    if entry is None:
        why = f"bankcode {given[:8]!r} is not a supported bank" if given and not known_given else \
            "the card's bank is not supported (unknown BIN)"
        return CardVerdict(digits, known_given, False, _flag("CARD_INVALID", f"{why}: the user must change the "
                                                                              "card when activating"))
    if entry.card_type != "DEBIT":
        return CardVerdict(digits, entry.bankcode, False,
                           _flag("CARD_INVALID", "a credit card cannot be bound: the user must change the card "
                                                 "when activating"))
    if given and given != entry.bankcode:
        return CardVerdict(digits, entry.bankcode, False,
                           _flag("CARD_INVALID", f"bankcode {given[:8]!r} disagrees with the card's bank "
                                                 f"({entry.bankcode}): the user must change the card when activating"))
    return CardVerdict(digits, entry.bankcode, True, None)


def check_corporate_account(account: str, bankcode: str) -> CardVerdict:
    digits = account.replace(" ", "")
    if not digits.isdigit() or not bins.MIN_CORPORATE_ACCOUNT_LEN <= len(digits) <= bins.MAX_CORPORATE_ACCOUNT_LEN:
        return CardVerdict(digits, None, False, Issue(REJECT, "INVALID_CARD", "bankcardNo of an enterprise must "
                                                      "have 8-32 digits"))
    if not bankcode:
        return CardVerdict(digits, None, False, Issue(REJECT, "MISSING_DATA", "bankcode is missing (required for "
                                                      "an enterprise's account)"))
    if bankcode not in bins.BANK_CODES:
        return CardVerdict(digits, None, False, _flag("CARD_INVALID", f"bankcode {bankcode[:8]!r} is not a "
                                                      "supported bank: the user must change the account when activating"))
    return CardVerdict(digits, bankcode, True, None)


_REQUIRED = (("platformUserNo", "platformUserNo"), ("userType", "userType"), ("userRole", "userRole"),
             ("name", "name"), ("idCardNo", "document number (idCardNo)"), ("bankcardNo", "card number (bankcardNo)"),
             ("mobile", "mobile"))


def clean_user(row: Mapping[str, str], today: dt.date) -> CleanUser | Rejected:
    """Apply every rule to one users.csv row (values already stripped); `today` is the Beijing date."""
    user_no = row.get("platformUserNo", "")
    for column, label in _REQUIRED:
        if not row.get(column, ""):
            return _reject(user_no, "MISSING_DATA", f"{label} is missing: not imported until the platform "
                                                    "completes the data")
    problem = check_user_no(user_no)
    if problem:
        return _reject(user_no, "INVALID_DATA", problem)
    user_type = row["userType"].upper()
    if user_type not in ("PERSONAL", "ORGANIZATION"):
        return _reject(user_no, "INVALID_DATA", "userType must be PERSONAL or ORGANIZATION")
    roles = PERSONAL_ROLES if user_type == "PERSONAL" else ENTERPRISE_ROLES
    role = row["userRole"].upper()
    if role not in roles:
        return _reject(user_no, "INVALID_DATA", f"userRole must be one of {', '.join(roles)} for {user_type}")
    try:
        name = identity.validate_name(row["name"], field="name", max_len=100 if user_type == "ORGANIZATION" else 50)
        mobile = identity.validate_mobile(row["mobile"])
    except CustodyError as exc:
        return _reject(user_no, "INVALID_DATA", exc.detail or exc.message)
    flags: list[Issue] = []
    id_type_text = row.get("idCardType", "").upper()
    if user_type == "PERSONAL":
        id_type: str | None = id_type_text or identity.PRC_ID
        assert id_type is not None
        doc = check_person_document(id_type, row["idCardNo"], today)
        if doc is not None and doc.outcome == REJECT:
            return Rejected(user_no, doc)
        if doc is not None:
            flags.append(doc)
        # the document passed its checks above: only normalise it here
        id_no = ric.compact(row["idCardNo"]).upper() if id_type == identity.PRC_ID else \
            row["idCardNo"].strip().upper()
        card = check_personal_card(row["bankcardNo"], row.get("bankcode", "").upper())
    else:
        if id_type_text:
            return _reject(user_no, "DOCUMENT_TYPE", "an enterprise's document is its unified social credit code: "
                                                     "leave idCardType empty")
        id_type = None
        try:
            id_no = identity.validate_uscc(row["idCardNo"], field="idCardNo")
        except CustodyError as exc:
            return _reject(user_no, "INVALID_DOCUMENT", exc.detail or exc.message)
        card = check_corporate_account(row["bankcardNo"], row.get("bankcode", "").upper())
    if card.issue is not None and card.issue.outcome == REJECT:
        return Rejected(user_no, card.issue)
    if card.issue is not None:
        flags.append(card.issue)
    quick_pay = user_type == "PERSONAL" and card.valid and card.bankcode in QUICK_PAY_BANKS
    if user_type == "PERSONAL" and card.valid and not quick_pay:
        flags.append(_flag("NO_QUICK_PAY", f"quick pay is not available for {card.bankcode} cards: the user "
                                           "activates with quick recharge unavailable"))
    return CleanUser(user_no, user_type, role, name, id_type, id_no, card.card_no, card.bankcode, mobile, card.valid,
                     quick_pay, any(f.code == "REVIEW_REQUIRED" for f in flags), tuple(flags))


# ---------------------------------------------------------------- balances, projects, shares


@dataclass(frozen=True)
class Amount:
    fen: int | None
    problem: str | None


def parse_amount(text: str, column: str, *, allow_zero: bool = False) -> Amount:
    """Yuan with at most 2 decimals, exactly (no float); the reason when it is not."""
    if not text:
        return Amount(None, f"{column} is missing")
    try:
        return Amount(parse_yuan(text, field=column, allow_zero=allow_zero), None)
    except AmountError as exc:
        return Amount(None, str(exc))


REPAYMENT_WAYS = ("ONE_TIME_SERVICING", "FIRSEINTREST_LASTPRICIPAL", "FIXED_PAYMENT_MORTGAGE", "FIXED_BASIS_MORTGAGE")
MAX_PERIOD = 10_000


@dataclass(frozen=True)
class CleanProject:
    project_no: str
    borrower_user_no: str
    project_name: str | None
    amount_fen: int
    annual_rate: str | None
    repayment_way: str | None
    period: int | None


def clean_project(row: Mapping[str, str]) -> CleanProject | Issue:
    project_no, borrower = row.get("projectNo", ""), row.get("borrowerPlatformUserNo", "")
    if not project_no or not borrower:
        return Issue(REJECT, "MISSING_DATA", "projectNo and borrowerPlatformUserNo are required")
    if len(project_no) > MAX_NO_LEN or len(borrower) > MAX_NO_LEN:
        return Issue(REJECT, "INVALID_DATA", f"projectNo / borrowerPlatformUserNo longer than {MAX_NO_LEN}")
    amount = parse_amount(row.get("projectAmount", ""), "projectAmount")
    if amount.fen is None:
        return Issue(REJECT, "INVALID_AMOUNT", amount.problem or "projectAmount is invalid")
    rate = row.get("annualInterestRate", "") or None
    if rate is not None and not _plain_rate(rate):
        return Issue(REJECT, "INVALID_DATA", "annualInterestRate must be a plain decimal such as 0.085")
    way = row.get("repaymentWay", "").upper() or None
    if way is not None and way not in REPAYMENT_WAYS:
        return Issue(REJECT, "INVALID_DATA", f"repaymentWay must be one of {', '.join(REPAYMENT_WAYS)}")
    period_text = row.get("projectPeriod", "")
    period = None
    if period_text:
        if not period_text.isdigit() or not 0 < int(period_text) <= MAX_PERIOD:
            return Issue(REJECT, "INVALID_DATA", "projectPeriod must be a positive whole number of days")
        period = int(period_text)
    name = row.get("projectName", "") or None
    return CleanProject(project_no, borrower, name[:100] if name else None, amount.fen, rate, way, period)


def _plain_rate(text: str) -> bool:
    head, _, tail = text.partition(".")
    return head.isdigit() and (tail == "" or tail.isdigit()) and len(text) <= 16


@dataclass(frozen=True)
class CleanShare:
    project_no: str
    holder_user_no: str
    share_fen: int


def clean_share(row: Mapping[str, str]) -> CleanShare | Issue:
    project_no, holder = row.get("projectNo", ""), row.get("platformUserNo", "")
    if not project_no or not holder:
        return Issue(REJECT, "MISSING_DATA", "projectNo and platformUserNo are required")
    amount = parse_amount(row.get("share", ""), "share")
    if amount.fen is None:
        return Issue(REJECT, "INVALID_AMOUNT", amount.problem or "share is invalid")
    return CleanShare(project_no, holder, amount.fen)
