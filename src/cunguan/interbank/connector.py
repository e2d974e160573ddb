"""The one interface our bank uses to reach other banks over IBPS (超级网银).

Collection logic talks only to `InterbankConnector`; the simulator implements it, and a real IBPS
front-end adapter could replace it without touching the collection code. Every call answers with a
result object rather than raising: a reject carries its RJxx code, and a debit whose outcome is unknown
(timeout) comes back as `DebitStatus.UNKNOWN` and must be resolved with `query_debit`, never re-sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class RejectCode(StrEnum):
    NO_ACCOUNT = "RJ01"
    NAME_MISMATCH = "RJ02"
    INSUFFICIENT = "RJ03"
    OVER_LIMIT = "RJ04"
    NO_AGREEMENT = "RJ06"
    BEYOND_AGREEMENT = "RJ07"
    ACCOUNT_ABNORMAL = "RJ11"
    PARTICIPANT_CLOSED = "RJ19"
    OTHER = "RJ90"


REJECT_TEXT = {
    RejectCode.NO_ACCOUNT: "no such account",
    RejectCode.NAME_MISMATCH: "account name does not match",
    RejectCode.INSUFFICIENT: "insufficient balance",
    RejectCode.OVER_LIMIT: "over the IBPS per-transfer limit",
    RejectCode.NO_AGREEMENT: "no valid agreement",
    RejectCode.BEYOND_AGREEMENT: "beyond the agreement (dates or limits)",
    RejectCode.ACCOUNT_ABNORMAL: "account abnormal",
    RejectCode.PARTICIPANT_CLOSED: "participant closed",
    RejectCode.OTHER: "other error",
}

IBPS_PER_TRANSFER_CAP_FEN = 5_000_000
"""50,000.00 CNY: the IBPS cap for one online-banking debit."""


class DebitStatus(StrEnum):
    SUCCESS = "SUCCESS"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"  # timed out: query until it resolves


@dataclass(frozen=True, slots=True)
class AgreementLimits:
    per_txn_fen: int = IBPS_PER_TRANSFER_CAP_FEN
    daily_fen: int = 250_000_000
    monthly_fen: int = 2_000_000_000
    daily_count: int = 100
    monthly_count: int = 1_000


@dataclass(frozen=True, slots=True)
class SignRequest:
    """Sign the query and the payment agreement for one other-bank account, naming our payee account."""

    bank_no: str
    account_no: str
    holder_name: str
    payee_account_no: str
    payee_name: str
    start: dt.date
    end: dt.date
    limits: AgreementLimits = AgreementLimits()


@dataclass(frozen=True, slots=True)
class SignResult:
    ok: bool
    code: str | None = None
    message: str = ""
    query_agreement_no: str | None = None
    payment_agreement_no: str | None = None
    names_payee: bool = True
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass(frozen=True, slots=True)
class CallResult:
    ok: bool
    code: str | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class BalanceResult:
    ok: bool
    balance_fen: int = 0
    code: str | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class DebitResult:
    status: DebitStatus
    code: str | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class DebitRequest:
    """One online-banking debit (D200-style): `serial` is ours and unique; re-sending it is a bug."""

    serial: str
    payment_agreement_no: str
    amount_fen: int
    payee_account_no: str


class InterbankConnector(Protocol):
    def sign_agreements(self, req: SignRequest) -> SignResult: ...

    def renew_payment_agreement(self, payment_agreement_no: str, new_end: dt.date) -> CallResult: ...

    def cancel_agreement(self, agreement_no: str) -> CallResult: ...

    def query_balance(self, query_agreement_no: str) -> BalanceResult: ...

    def debit(self, req: DebitRequest) -> DebitResult: ...

    def query_debit(self, serial: str) -> DebitResult: ...
