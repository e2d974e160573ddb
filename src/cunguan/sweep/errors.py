"""Typed collection errors. Each has a stable `code` the API maps to an HTTP answer; messages are
safe to show to the customer (no account numbers beyond the last four digits)."""

from __future__ import annotations


class SweepError(Exception):
    code = "SWEEP_ERROR"
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(SweepError):
    code = "NOT_FOUND"
    http_status = 404


class InvalidInput(SweepError):
    code = "INVALID_INPUT"
    http_status = 422


class AccountNotEligible(SweepError):
    code = "ACCOUNT_NOT_ELIGIBLE"


class AgreementRefused(SweepError):
    """The other bank refused signing/renewing; `reject_code` is its RJxx code."""

    code = "AGREEMENT_REFUSED"

    def __init__(self, message: str, reject_code: str | None = None) -> None:
        super().__init__(message)
        self.reject_code = reject_code


class AgreementUnusable(SweepError):
    code = "AGREEMENT_UNUSABLE"


class RuleExists(SweepError):
    code = "RULE_EXISTS"
    http_status = 409


class RuleNotModifiable(SweepError):
    code = "RULE_NOT_MODIFIABLE"
    http_status = 409


class AccountInUse(SweepError):
    code = "ACCOUNT_IN_USE"
    http_status = 409


class Cooldown(SweepError):
    code = "COOLDOWN"
    http_status = 429

    def __init__(self, seconds_remaining: int) -> None:
        super().__init__(f"a manual collection was started recently; try again in {seconds_remaining} seconds")
        self.seconds_remaining = seconds_remaining
