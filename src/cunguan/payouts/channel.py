"""The one interface withdrawals use to pay money out to a card or account.

Two routes: BANK_OWN (the beneficiary is at our bank: an internal transfer) and INTERBANK (another
bank, through the clearing systems). `remit` answers at once: ACCEPTED (the money is on its way; the
result comes later, by `query`), REJECTED (refused with a code; nothing was paid, the withdrawal can be
rolled back at once), or UNKNOWN (timed out: never submit a *new* order — query this one; resubmitting
the *same* order number is safe, the channel never pays an order twice). An accepted payout can still
FAIL later (the beneficiary bank returns it: closed account, name mismatch, ...): the withdrawal
service then returns the money by BACKROLL_RECHARGE with rollbackType REMITFAIL (protocol §5.5).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from cunguan.money import MAX_FEN


class Route(StrEnum):
    BANK_OWN = "BANK_OWN"  # 本行
    INTERBANK = "INTERBANK"  # 跨行


class RemitType(StrEnum):
    """Protocol §3.17 `remitType`."""

    NORMAL = "NORMAL"  # T1 出款
    NORMAL_URGENT = "NORMAL_URGENT"  # 普通 T0 出款
    URGENT = "URGENT"  # 实时 T0 出款


class RemitAnswer(StrEnum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"


class RemitStatus(StrEnum):
    """What `query` says. REMITING keeps the protocol's spelling (§3.18)."""

    REMITING = "REMITING"
    SUCCESS = "SUCCESS"
    FAIL = "FAIL"  # accepted, then failed: the money comes back
    REJECTED = "REJECTED"  # refused at submission
    NOT_FOUND = "NOT_FOUND"  # never received (a timed-out submission that was lost): safe to resubmit


class RejectCode(StrEnum):
    """Refusals at submission."""

    INVALID_ACCOUNT = "RJ01"
    BANK_NOT_SUPPORTED = "RJ02"
    OVER_LIMIT = "RJ03"
    NOT_WORKING_TIME = "RJ04"  # URGENT corporate payout outside working time (→ protocol 100018)
    ROUTE_MISMATCH = "RJ05"
    CHANNEL_BUSY = "RJ09"


class FailCode(StrEnum):
    """Failures after acceptance (the beneficiary bank returns the money)."""

    ACCOUNT_NOT_FOUND = "RF01"
    NAME_MISMATCH = "RF02"
    ACCOUNT_FROZEN = "RF03"
    ACCOUNT_CLOSED = "RF04"
    RETURNED_OTHER = "RF09"


CODE_TEXT: dict[str, str] = {
    RejectCode.INVALID_ACCOUNT: "收款账号格式错误",
    RejectCode.BANK_NOT_SUPPORTED: "不支持的收款银行",
    RejectCode.OVER_LIMIT: "超过单笔出款限额",
    RejectCode.NOT_WORKING_TIME: "当前时间不受理加急对公出款",
    RejectCode.ROUTE_MISMATCH: "本行通道不能向他行账户出款",
    RejectCode.CHANNEL_BUSY: "出款通道繁忙",
    FailCode.ACCOUNT_NOT_FOUND: "收款账户不存在",
    FailCode.NAME_MISMATCH: "收款户名不符",
    FailCode.ACCOUNT_FROZEN: "收款账户已冻结",
    FailCode.ACCOUNT_CLOSED: "收款账户已销户",
    FailCode.RETURNED_OTHER: "收款行退汇",
}

_ACCOUNT_RE = re.compile(r"^[0-9]{8,32}$")
MAX_ORDER_NO_LEN = 50
MAX_NAME_LEN = 100


class PayoutError(Exception):
    """Base of the payout channel's typed errors."""


class InvalidPayoutOrder(PayoutError):
    """An order that cannot be sent at all (says which field); nothing was submitted."""


class PayoutOrderConflict(PayoutError):
    """The same order number was submitted again with other content: refused, nothing paid."""


@dataclass(frozen=True, slots=True)
class PayoutOrder:
    order_no: str  # ours, unique: the channel pays it at most once
    account_no: str
    account_name: str
    bank_code: str
    amount_fen: int
    route: Route
    remit_type: RemitType
    corporate: bool = False

    def __post_init__(self) -> None:
        try:  # accept the wire strings, keep enums inside
            object.__setattr__(self, "route", Route(self.route))
            object.__setattr__(self, "remit_type", RemitType(self.remit_type))
        except ValueError:
            raise InvalidPayoutOrder("route must be BANK_OWN/INTERBANK, remit_type NORMAL/NORMAL_URGENT/URGENT") from None

    def validate(self) -> None:
        if not self.order_no or len(self.order_no) > MAX_ORDER_NO_LEN:
            raise InvalidPayoutOrder(f"order_no must be 1..{MAX_ORDER_NO_LEN} characters")
        if not isinstance(self.amount_fen, int) or isinstance(self.amount_fen, bool):
            raise InvalidPayoutOrder("amount_fen must be an integer")
        if not 0 < self.amount_fen <= MAX_FEN:
            raise InvalidPayoutOrder("amount_fen must be greater than 0")
        if not self.account_name or len(self.account_name) > MAX_NAME_LEN:
            raise InvalidPayoutOrder(f"account_name must be 1..{MAX_NAME_LEN} characters")
        if not self.account_no or len(self.account_no) > 40:
            raise InvalidPayoutOrder("account_no is required")
        if not self.bank_code or len(self.bank_code) > 8:
            raise InvalidPayoutOrder("bank_code is required")

    @property
    def account_well_formed(self) -> bool:
        return bool(_ACCOUNT_RE.match(self.account_no))


@dataclass(frozen=True, slots=True)
class RemitResult:
    answer: RemitAnswer
    code: str | None = None
    message: str = ""
    duplicate: bool = False  # this order number had been received before
    expected_at: dt.datetime | None = None  # when an accepted payout is due to be paid


@dataclass(frozen=True, slots=True)
class PayoutQueryResult:
    status: RemitStatus
    order_no: str
    amount_fen: int | None = None
    reason_code: str | None = None
    reason: str = ""
    completed_at: dt.datetime | None = None


class PayoutChannel(Protocol):
    def remit(self, order: PayoutOrder) -> RemitResult: ...

    def query(self, order_no: str) -> PayoutQueryResult: ...


def route_for(bank_code: str, own_bank_code: str) -> Route:
    """BANK_OWN when the beneficiary banks with us, else INTERBANK."""
    return Route.BANK_OWN if bank_code == own_bank_code else Route.INTERBANK
