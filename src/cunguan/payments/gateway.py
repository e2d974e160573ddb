"""The payment cloud (支付云): one interface for every payment company, and the router between them.

The recharge service talks only to `PaymentCloud`; each company of protocol §3.14 sits behind a
`PaymentCompany` adapter (today: the simulator, one instance per company code). The shape follows
how these companies really work:
- `start` hands the payment over and answers at once whether it was *accepted*; the money result comes
  later, asynchronously, by notification — or by `query`. A start that timed out answers `UNKNOWN`:
  the payment may or may not exist on their side, and only `query` tells (never start it again with a
  new order number; restarting the *same* order number is safe, the company charges once).
- quick pay (SWIFT) needs the card's bank code, card number and the phone reserved at the bank;
  online banking (WEB) takes `payType` B2C/B2B and optionally the bank code (absent: the company's
  cashier page lets the payer choose).
- notifications are signed; `parse_notification` verifies and parses one, and a consumer must treat a
  repeat of the same (company, order, status) idempotently: companies re-send.

Routing errors are typed so the Lanmao adapter can map them: an unknown / not-enabled company or way →
100006 (业务未开通), a bank the company does not serve → 100012 (暂不支持此银行).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from cunguan.money import MAX_FEN


class PayCompany(StrEnum):
    """Protocol §3.14 (`expectPayCompany` / `payCompany`)."""

    YEEPAY = "YEEPAY"
    FUIOU = "FUIOU"
    ALLINPAY = "ALLINPAY"
    CHINAGPAY = "CHINAGPAY"
    TFTPAY = "TFTPAY"
    UCFPAY = "UCFPAY"
    BAOFOO = "BAOFOO"
    REAPAL = "REAPAL"
    BILL99 = "BILL99"
    LIANLIAN = "LIANLIAN"
    SUMAPAY = "SUMAPAY"
    NEWPAY = "NEWPAY"
    BFBPAY = "BFBPAY"
    UMPAY = "UMPAY"
    GOPAY = "GOPAY"


class RechargeWay(StrEnum):
    """The ways a payment company can carry money in (§3.13; BANK/BACKROLL/PROXY are not theirs)."""

    SWIFT = "SWIFT"  # 快捷 quick pay
    WEB = "WEB"  # 网银 online banking


class PayType(StrEnum):
    B2C = "B2C"  # 个人网银
    B2B = "B2B"  # 企业网银


class StartAnswer(StrEnum):
    ACCEPTED = "ACCEPTED"  # the result comes by notification / query
    REJECTED = "REJECTED"  # refused at once, with a channel error code; no money moved
    UNKNOWN = "UNKNOWN"  # timed out: query to learn the truth


class PayStatus(StrEnum):
    """Protocol §3.15 `rechargeStatus` (PENDDING with its double D), plus NOT_FOUND for a query about
    an order the company never received (a start that timed out before reaching them)."""

    SUCCESS = "SUCCESS"
    FAIL = "FAIL"
    PENDDING = "PENDDING"
    ERROR = "ERROR"
    NOT_FOUND = "NOT_FOUND"


class ChannelError(StrEnum):
    """Channel error codes the companies report (`channelErrorCode`); the texts are theirs."""

    INSUFFICIENT_BALANCE = "CE01"
    CARD_FROZEN = "CE02"
    EXCEEDS_LIMIT = "CE03"
    CARD_INFO_MISMATCH = "CE04"
    CARD_NOT_SUPPORTED = "CE05"
    USER_CANCELLED = "CE06"
    RISK_REJECTED = "CE07"
    CHANNEL_SYSTEM_ERROR = "CE99"


CHANNEL_ERROR_TEXT: dict[ChannelError, str] = {
    ChannelError.INSUFFICIENT_BALANCE: "卡余额不足",
    ChannelError.CARD_FROZEN: "卡已冻结或挂失",
    ChannelError.EXCEEDS_LIMIT: "超过银行卡单笔或单日限额",
    ChannelError.CARD_INFO_MISMATCH: "银行卡信息或预留手机号不符",
    ChannelError.CARD_NOT_SUPPORTED: "暂不支持该银行卡",
    ChannelError.USER_CANCELLED: "用户取消支付",
    ChannelError.RISK_REJECTED: "交易存在风险，已拒绝",
    ChannelError.CHANNEL_SYSTEM_ERROR: "支付通道系统异常",
}

BANK_CODES = frozenset({
    "ABOC", "BKCH", "CIBK", "EVER", "FJIB", "GDBK", "HXBK", "ICBK", "MSBC",
    "PCBC", "PSBC", "SZDB", "SPDB", "BJCN", "CMBC", "COMM", "BOSH", "BKNB",
})
"""Protocol §3.22 bank codes."""

MAX_ORDER_NO_LEN = 50
_CARD_RE = re.compile(r"^[0-9]{12,19}$")
_MOBILE_RE = re.compile(r"^1[0-9]{10}$")


# ---------------------------------------------------------------- errors


class PaymentCloudError(Exception):
    """Base of the payment cloud's typed errors. `wire_code` hints the protocol error code."""

    wire_code = "100001"


class UnknownPayCompany(PaymentCloudError):
    """The code is not a payment company of §3.14."""

    wire_code = "100006"


class PayCompanyNotEnabled(PaymentCloudError):
    """A §3.14 company, but the bank has no connection to it."""

    wire_code = "100006"


class PayWayNotSupported(PaymentCloudError):
    """The company does not offer this way (SWIFT / WEB) or this payType."""

    wire_code = "100006"


class BankNotSupported(PaymentCloudError):
    """The company does not serve this bank for this way."""

    wire_code = "100012"


class InvalidPayRequest(PaymentCloudError):
    """A request that cannot be sent (missing card for SWIFT, bad amount, ...); says which field."""

    wire_code = "100002"


class OrderNoConflict(PaymentCloudError):
    """The same order number was started again with other content (amount, card, way)."""

    wire_code = "100013"


class NotificationRejected(PaymentCloudError):
    """A notification that fails its signature or is malformed: it must be ignored."""


# ---------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class PayRequest:
    """One top-up to carry in. `order_no` is ours (the recharge requestNo) and unique per company."""

    order_no: str
    amount_fen: int
    way: RechargeWay
    bankcode: str | None = None
    card_no: str | None = None  # SWIFT only
    mobile: str | None = None  # SWIFT only
    pay_type: PayType | None = None  # WEB only

    def __post_init__(self) -> None:
        try:  # accept the wire strings, keep enums inside
            object.__setattr__(self, "way", RechargeWay(self.way))
            if self.pay_type is not None:
                object.__setattr__(self, "pay_type", PayType(self.pay_type))
        except ValueError:
            raise PayWayNotSupported("rechargeWay must be SWIFT or WEB, payType B2C or B2B") from None

    def validate(self) -> None:
        """Raise InvalidPayRequest naming the field; routing rules (company, bank) live in the cloud."""
        if not self.order_no or len(self.order_no) > MAX_ORDER_NO_LEN:
            raise InvalidPayRequest(f"order_no must be 1..{MAX_ORDER_NO_LEN} characters")
        if not isinstance(self.amount_fen, int) or isinstance(self.amount_fen, bool):
            raise InvalidPayRequest("amount_fen must be an integer")
        if not 0 < self.amount_fen <= MAX_FEN:
            raise InvalidPayRequest("amount_fen must be greater than 0")
        if self.way is RechargeWay.SWIFT:
            if not self.bankcode:
                raise InvalidPayRequest("bankcode is required for SWIFT")
            if not self.card_no or not _CARD_RE.match(self.card_no):
                raise InvalidPayRequest("card_no must be 12..19 digits for SWIFT")
            if not self.mobile or not _MOBILE_RE.match(self.mobile):
                raise InvalidPayRequest("mobile must be an 11-digit mainland mobile number for SWIFT")
            if self.pay_type is not None:
                raise InvalidPayRequest("pay_type is for WEB only")
        elif self.way is RechargeWay.WEB:
            if self.bankcode and self.pay_type is None:
                raise InvalidPayRequest("pay_type (B2C/B2B) is required for WEB with a bankcode")
            if self.card_no or self.mobile:
                raise InvalidPayRequest("card_no and mobile are for SWIFT only")
        else:  # pragma: no cover - the enum is closed
            raise InvalidPayRequest("way must be SWIFT or WEB")
        if self.bankcode is not None and self.bankcode not in BANK_CODES:
            raise BankNotSupported(f"unknown bank code {self.bankcode!r}")


@dataclass(frozen=True, slots=True)
class StartResult:
    answer: StartAnswer
    company_order_no: str | None = None
    redirect_url: str | None = None  # WEB: where the payer's browser goes next
    error_code: str | None = None
    error_message: str = ""
    duplicate: bool = False  # this order number had been received before


@dataclass(frozen=True, slots=True)
class PayResult:
    """The company's view of one payment (answer to `query`)."""

    status: PayStatus
    order_no: str
    company_order_no: str | None = None
    amount_fen: int | None = None
    fee_fen: int | None = None
    paid_at: dt.datetime | None = None  # UTC, SUCCESS only
    error_code: str | None = None
    error_message: str = ""


@dataclass(frozen=True, slots=True)
class PayNotification:
    """One asynchronous result message from a payment company, as parsed and verified.

    `notify_id` is the same on every copy of a message, so it (or (company, order_no, status)) is the
    consumer's idempotency key; `fields` is the signed wire form, for re-verification or storage.
    """

    company: PayCompany
    notify_id: str
    order_no: str
    company_order_no: str
    status: PayStatus  # SUCCESS or FAIL: only final results are notified
    amount_fen: int
    fee_fen: int
    paid_at: dt.datetime | None
    error_code: str | None
    error_message: str
    fields: Mapping[str, str]


class PaymentCompany(Protocol):
    """One payment company's adapter."""

    @property
    def code(self) -> PayCompany: ...

    def supports(self, way: RechargeWay, pay_type: PayType | None, bankcode: str | None) -> None:
        """Raise PayWayNotSupported / BankNotSupported when this company cannot take it."""

    def start(self, req: PayRequest) -> StartResult: ...

    def query(self, order_no: str) -> PayResult: ...

    def parse_notification(self, fields: Mapping[str, str]) -> PayNotification:
        """Verify the signature and parse; raise NotificationRejected otherwise."""


# ---------------------------------------------------------------- the router


class PaymentCloud:
    """Routes each request to the company the platform chose (`expectPayCompany`)."""

    def __init__(self, companies: Iterable[PaymentCompany] = ()) -> None:
        self._companies: dict[PayCompany, PaymentCompany] = {}
        for company in companies:
            self.register(company)

    def register(self, company: PaymentCompany) -> None:
        assert company.code not in self._companies, f"{company.code} registered twice"
        self._companies[company.code] = company

    @property
    def enabled(self) -> list[PayCompany]:
        return sorted(self._companies)

    def company(self, expect_pay_company: str) -> PaymentCompany:
        try:
            code = PayCompany(expect_pay_company)
        except ValueError:
            raise UnknownPayCompany(f"unknown payment company {str(expect_pay_company)[:20]!r}") from None
        adapter = self._companies.get(code)
        if adapter is None:
            raise PayCompanyNotEnabled(f"payment company {code} is not enabled")
        return adapter

    def route(self, expect_pay_company: str, req: PayRequest) -> PaymentCompany:
        """The adapter that will carry `req`, after checking the request and the company's offer."""
        req.validate()
        adapter = self.company(expect_pay_company)
        adapter.supports(req.way, req.pay_type, req.bankcode)
        return adapter

    def start(self, expect_pay_company: str, req: PayRequest) -> StartResult:
        return self.route(expect_pay_company, req).start(req)

    def query(self, pay_company: str, order_no: str) -> PayResult:
        return self.company(pay_company).query(order_no)

    def parse_notification(self, pay_company: str, fields: Mapping[str, str]) -> PayNotification:
        try:
            adapter = self.company(pay_company)
        except PaymentCloudError as exc:
            raise NotificationRejected(str(exc)) from None
        return adapter.parse_notification(fields)
