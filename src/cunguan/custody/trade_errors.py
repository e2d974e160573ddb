"""Typed refusals of the trade core (projects, freezes, shares, sales, trades), each with its Lanmao
errorCode (protocol §4.2). The field-level and user errors of `user_errors` (100002, 100007-100013) are
reused as they are; this module adds the codes 100014, 100015, 100019 and the named refusals whose
Chinese text the gem observed (§4.3): "标的当前不能变更为:X", "冻结金额不足", "冻结订单不存在",
"债权出让订单已结束", "债权出让订单不存在".

`call_code` follows §4.3 where the gem saw the outcome: MODIFY_PROJECT and CANCEL_DEBENTURE_SALE
refusals were observed as P (pending), so they answer code "0" + status INIT; the rest answer "1" (F).
Every refusal is raised before anything is written, or inside the transaction that then rolls back.
"""

from __future__ import annotations

from cunguan.custody import errors as E
from cunguan.custody.user_errors import BusinessRefused, CustodyUserError, InvalidField, QueryTargetNotFound

__all__ = [
    "BusinessRefused", "FreezeInsufficient", "FreezeNotFound", "InsufficientBalance", "InvalidField",
    "ProjectNotFound", "ProjectStateMismatch", "ProjectStatusNotAllowed", "ProjectTypeMismatch",
    "SaleEnded", "SaleNotFound", "ShareInsufficient", "CreditorCheckFailed", "Oversubscribed",
]


class InsufficientBalance(CustodyUserError):
    """The payer's available balance does not cover the amount (100014 余额不足)."""

    code = E.INSUFFICIENT_BALANCE
    reason = "INSUFFICIENT_BALANCE"


class FreezeInsufficient(CustodyUserError):
    """A freeze order has less left than asked (unfreeze, cancel, or a trade consuming it): 100014,
    with the vendor's text 冻结金额不足."""

    code = E.INSUFFICIENT_BALANCE
    reason = "FREEZE_INSUFFICIENT"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(f"冻结金额不足：{detail}", field=field)


class FreezeNotFound(QueryTargetNotFound):
    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(f"冻结订单不存在：{detail}", field=field)

    reason = "FREEZE_NOT_FOUND"


class ProjectNotFound(QueryTargetNotFound):
    reason = "PROJECT_NOT_FOUND"


class ProjectStateMismatch(CustodyUserError):
    """The project's status does not allow the operation (100015 标的状态与业务不匹配)."""

    code = E.PROJECT_STATE_MISMATCH
    reason = "PROJECT_STATE_MISMATCH"


class ProjectTypeMismatch(CustodyUserError):
    """The project's or the freeze order's type does not fit the operation (100019)."""

    code = E.PROJECT_TYPE_MISMATCH
    reason = "TYPE_MISMATCH"


class ProjectStatusNotAllowed(BusinessRefused):
    """MODIFY_PROJECT to a status the machine does not allow from here ("标的当前不能变更为:X")."""

    reason = "PROJECT_STATUS_NOT_ALLOWED"
    call_code = "0"

    def __init__(self, target: str, why: str) -> None:
        super().__init__(f"标的当前不能变更为:{target}（{why}）", field="status")


class SaleNotFound(QueryTargetNotFound):
    reason = "SALE_NOT_FOUND"
    call_code = "0"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(f"债权出让订单不存在：{detail}", field=field)


class SaleEnded(BusinessRefused):
    reason = "SALE_ENDED"
    call_code = "0"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(f"债权出让订单已结束：{detail}", field=field)


class ShareInsufficient(BusinessRefused):
    """Not enough (unlocked, unsold, unreserved) share for the sale or purchase (100008)."""

    reason = "SHARE_INSUFFICIENT"


class CreditorCheckFailed(BusinessRefused):
    """The creditor relationship check: principal repaid above the holder's share (100008)."""

    reason = "CREDITOR_CHECK_FAILED"


class Oversubscribed(BusinessRefused):
    """A bid would make the project raise more than its amount (100008)."""

    reason = "OVERSUBSCRIBED"
