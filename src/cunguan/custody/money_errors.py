"""Typed refusals of the money services (recharge, withdraw, advance), each with its Lanmao code.

100014..100018 are the vendor codes of §4.2; the texts of CONFIRM/CANCEL/INTERCEPT_WITHDRAW are the
observed messages of §4.3, sent verbatim (clients match on them), followed by nothing of ours.
"""

from __future__ import annotations

from cunguan.custody import errors as E
from cunguan.custody.user_errors import BusinessRefused, CustodyUserError, QueryTargetNotFound


class InsufficientBalance(CustodyUserError):
    """100014 余额不足: available (or, for NORMAL withdrawals, settled) money does not cover it."""

    code = E.INSUFFICIENT_BALANCE
    reason = "INSUFFICIENT_BALANCE"


class AdvanceAccountShort(CustodyUserError):
    """100016: the platform's advance account SYS_GENERATE_007 (or the bank's advance line) is short."""

    code = E.ADVANCE_ACCOUNT_SHORT
    reason = "ADVANCE_ACCOUNT_SHORT"


class NoAdvanceAccount(CustodyUserError):
    """100017: T0 withdrawal of unsettled money, and the platform has no advance enabled."""

    code = E.NO_ADVANCE_ACCOUNT
    reason = "NO_ADVANCE_ACCOUNT"


class UrgentCorporateClosed(CustodyUserError):
    """100018: an URGENT corporate withdrawal outside working time."""

    code = E.URGENT_CORPORATE_CLOSED
    reason = "URGENT_CORPORATE_CLOSED"


class PaymentRouteRefused(CustodyUserError):
    """The payment cloud refuses the route: unknown / not enabled company or way (100006), a bank the
    company does not serve (100012), a request it cannot send (100002)."""

    reason = "PAYMENT_ROUTE"

    def __init__(self, code: str, detail: str, *, field: str | None = None) -> None:
        self.code = code
        super().__init__(detail, field=field)


class _Verbatim:
    """Errors whose message is exactly the observed vendor text (§4.3)."""

    text = ""

    def __init__(self, detail: str | None = None, *, field: str | None = None) -> None:
        super().__init__(detail or self.text, field=field)  # type: ignore[call-arg]
        self.message = self.text  # clients match on the exact text


class WithdrawRecordNotFound(_Verbatim, QueryTargetNotFound):
    text = "提现记录不存在"
    call_code = "0"  # observed as P by the gem (§4.3)


class FrozenOrderShort(_Verbatim, BusinessRefused):
    """CONFIRM_WITHDRAW of a withdrawal that is no longer waiting (already confirmed or cancelled)."""

    text = "冻结订单可用金额不足"
    reason = "ALREADY_CONFIRMED"
    call_code = "0"


class FrozenAmountShort(_Verbatim, BusinessRefused):
    """CANCEL_WITHDRAW after the freeze is gone (cancelled, confirmed, paid)."""

    text = "冻结金额不足"
    reason = "FREEZE_GONE"


class FreezeOrderNotFound(_Verbatim, QueryTargetNotFound):
    text = "冻结订单不存在"


class WithdrawOrderNotFound(_Verbatim, QueryTargetNotFound):
    text = "提现订单不存在"


class WithdrawNotAccept(_Verbatim, BusinessRefused):
    text = "提现订单状态不为ACCEPT"
    reason = "NOT_ACCEPT"
