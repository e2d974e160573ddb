"""Lanmao call-status and system error codes (protocol §4.2) and the typed errors that carry them.

A business or transport refusal raises a `CustodyError` subclass; the wire adapter turns it into the
error envelope (`code`, `status "INIT"`, `errorCode`, `errorMessage`). `call_code` says what the
platform's client will conclude (§1.6): `"1"` = definite failure (F), `"0"` = not processed, try
again or query (P). `message` names the field at fault; it never quotes secrets or full card / ID
numbers. Other rooms may keep their own error classes: the adapter maps any exception with a
six-digit `code` and a `message` the same way (see `api/lanmao/errors.py`).
"""

from __future__ import annotations

SYSTEM_ERROR = "100001"
BAD_JSON = "100002"
BAD_SIGNATURE = "100003"
PLATFORM_NOT_FOUND = "100004"
PLATFORM_UNAVAILABLE = "100005"
SERVICE_NOT_OPEN = "100006"
NOT_FOUND = "100007"
REFUSED = "100008"
USER_NOT_FOUND = "100009"
USER_UNAVAILABLE = "100010"
NOT_PERMITTED = "100011"
BANK_NOT_SUPPORTED = "100012"
DUPLICATE_REQUEST_NO = "100013"
INSUFFICIENT_BALANCE = "100014"
PROJECT_STATE_MISMATCH = "100015"
ADVANCE_ACCOUNT_SHORT = "100016"
NO_ADVANCE_ACCOUNT = "100017"
URGENT_CORPORATE_CLOSED = "100018"
PROJECT_TYPE_MISMATCH = "100019"
IN_PROGRESS = "100020"

CODE_TEXT: dict[str, str] = {
    SYSTEM_ERROR: "系统错误",
    BAD_JSON: "JSON 参数格式错误",
    BAD_SIGNATURE: "签名验证失败",
    PLATFORM_NOT_FOUND: "平台编号不存在",
    PLATFORM_UNAVAILABLE: "平台状态异常",
    SERVICE_NOT_OPEN: "业务未开通",
    NOT_FOUND: "查询对象不存在",
    REFUSED: "业务受理失败",
    USER_NOT_FOUND: "用户不存在",
    USER_UNAVAILABLE: "用户账户不可用",
    NOT_PERMITTED: "该用户无此操作权限",
    BANK_NOT_SUPPORTED: "非常抱歉，暂不支持此银行",
    DUPLICATE_REQUEST_NO: "请求流水号重复",
    INSUFFICIENT_BALANCE: "余额不足",
    PROJECT_STATE_MISMATCH: "标的状态与业务不匹配",
    ADVANCE_ACCOUNT_SHORT: "平台垫资账户可用余额不足，请联系平台处理",
    NO_ADVANCE_ACCOUNT: "平台未开通垫资账户，请联系处理",
    URGENT_CORPORATE_CLOSED: "当前时间不受理加急对公提现",
    PROJECT_TYPE_MISMATCH: "标的类型与业务不匹配",
    IN_PROGRESS: "交易处理中，请勿重试",
}


def describe(code: str, detail: str | None = None) -> str:
    """The vendor's text for a code, with our precise detail after it: `签名验证失败：keySerial ...`."""
    text = CODE_TEXT.get(code, CODE_TEXT[SYSTEM_ERROR])
    return f"{text}：{detail}" if detail else text


class CustodyError(Exception):
    """A refused request, with its wire error code. Nothing the request touched is committed."""

    code = SYSTEM_ERROR
    call_code = "1"

    def __init__(self, detail: str | None = None, *, field: str | None = None, message: str | None = None) -> None:
        self.detail = detail
        self.field = field
        self.message = message if message is not None else describe(self.code, detail)
        super().__init__(self.message)


class InvalidRequest(CustodyError):
    """Malformed envelope, reqData, field type or value (100002)."""

    code = BAD_JSON


class BadSignature(CustodyError):
    code = BAD_SIGNATURE


class PlatformNotFound(CustodyError):
    code = PLATFORM_NOT_FOUND


class PlatformUnavailable(CustodyError):
    code = PLATFORM_UNAVAILABLE


class ServiceNotOpen(CustodyError):
    """Unknown serviceName, a service posted to the wrong endpoint, or one not yet available (100006)."""

    code = SERVICE_NOT_OPEN


class NotFound(CustodyError):
    code = NOT_FOUND


class Refused(CustodyError):
    code = REFUSED


class UserNotFound(CustodyError):
    code = USER_NOT_FOUND


class DuplicateRequestNo(CustodyError):
    code = DUPLICATE_REQUEST_NO


class SystemError_(CustodyError):
    """An unexpected failure; the message carries only a correlation id."""

    code = SYSTEM_ERROR


# ---- platform administration (CLI / console); not wire-facing but typed the same way


class PlatformExists(Refused):
    pass


class KeyExists(Refused):
    pass


class InvalidPlatformData(InvalidRequest):
    pass
