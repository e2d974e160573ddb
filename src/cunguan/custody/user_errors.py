"""Typed errors of the custody user services, each carrying its Lanmao `errorCode` (protocol §4.2).

They extend the shared `cunguan.custody.errors.CustodyError`, so the wire adapter maps them like any
other: `code` is the errorCode, `message` the vendor text followed by our precise detail (`detail`,
which names the field), `call_code` what the platform's client concludes (§1.6). `reason` is a stable
internal name that tells errors sharing a wire code apart (tests, logs, the operator console).
Messages never contain a full ID or card number.
"""

from __future__ import annotations

from cunguan.custody import errors as E
from cunguan.custody.errors import CustodyError


class CustodyUserError(CustodyError):
    """Base: a refused request. Nothing it touched is written (the caller's transaction rolls back)."""

    code = E.SYSTEM_ERROR
    reason = "SYSTEM_ERROR"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail, field=field)


class InvalidField(CustodyUserError):
    """A field is missing, malformed or out of range (100002 参数格式错误)."""

    code = E.BAD_JSON
    reason = "INVALID_FIELD"


class QueryTargetNotFound(CustodyUserError):
    """The referenced record does not exist (100007 查询对象不存在)."""

    code = E.NOT_FOUND
    reason = "NOT_FOUND"


class BusinessRefused(CustodyUserError):
    """The request is well formed but the business state refuses it (100008 业务受理失败)."""

    code = E.REFUSED
    reason = "REFUSED"


class UserNotFound(CustodyUserError):
    code = E.USER_NOT_FOUND
    reason = "USER_NOT_FOUND"


class UserUnavailable(CustodyUserError):
    """The user exists but is not active (in review, refused, deactivated) (100010)."""

    code = E.USER_UNAVAILABLE
    reason = "USER_UNAVAILABLE"


class NotAuthorized(CustodyUserError):
    """No valid authorization for the operation, or the role may not do it (100011)."""

    code = E.NOT_PERMITTED
    reason = "NOT_AUTHORIZED"


class BankNotSupported(CustodyUserError):
    """The card's bank is not one the custody system works with, or the BIN is unknown (100012)."""

    code = E.BANK_NOT_SUPPORTED
    reason = "BANK_NOT_SUPPORTED"


class DuplicateRequest(CustodyUserError):
    """The requestNo was already used on this platform (100013)."""

    code = E.DUPLICATE_REQUEST_NO
    reason = "DUPLICATE_REQUEST_NO"

    def __init__(self, message: str, *, original_service: str | None = None,
                 original_outcome: str | None = None) -> None:
        super().__init__(message, field="requestNo")
        self.original_service = original_service
        self.original_outcome = original_outcome


# ---- refusals that share 100008 but must be told apart


class UserAlreadyExists(BusinessRefused):
    reason = "USER_EXISTS"


class IdCardNotUnique(BusinessRefused):
    reason = "ID_CARD_NO_NOT_UNIQUE"


class UnderAge(BusinessRefused):
    reason = "UNDER_AGE"


class CardNotAccepted(BusinessRefused):
    """A credit card, or a card of a kind the custody system does not bind."""

    reason = "CARD_NOT_ACCEPTED"


class AlreadyAudited(BusinessRefused):
    """Observed as a P (pending) outcome by the gem (§4.3), so the call status is "0"."""

    reason = "ALREADY_AUDITED"
    call_code = "0"


class WrongState(BusinessRefused):
    """The record is not in a state that allows the operation (e.g. reviewing a PASSED user)."""

    reason = "WRONG_STATE"


class PasswordNotLocked(BusinessRefused):
    reason = "PASSWORD_NOT_LOCKED"


class PasswordLocked(BusinessRefused):
    reason = "PASSWORD_LOCKED"


class PasswordNotSet(BusinessRefused):
    reason = "PASSWORD_NOT_SET"


class IdentityMismatch(BusinessRefused):
    """What the user typed does not match what the custody system holds for them."""

    reason = "IDENTITY_MISMATCH"


# ---- the card's bank says no (four-element check); see card_verifier


class CardNotFound(BusinessRefused):
    reason = "CARD_NOT_FOUND"


class CardHolderMismatch(BusinessRefused):
    reason = "CARD_HOLDER_MISMATCH"


class CardMobileMismatch(BusinessRefused):
    reason = "CARD_MOBILE_MISMATCH"


class CardBankUnavailable(CustodyUserError):
    """The card's bank does not answer (maintenance, outage): retry later; nothing was written."""

    code = E.SYSTEM_ERROR
    reason = "BANK_UNAVAILABLE"
    call_code = "0"
