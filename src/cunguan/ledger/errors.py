"""Typed ledger errors. Each carries a stable `code` that adapters map to wire error codes, and the
index of the operation in its batch (`index`) when it came from a batch."""

from __future__ import annotations


class LedgerError(Exception):
    code = "LEDGER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.index: int | None = None

    def at(self, index: int) -> LedgerError:
        self.index = index
        return self


class BadAmount(LedgerError):
    code = "BAD_AMOUNT"


class SameAccount(LedgerError):
    code = "SAME_ACCOUNT"


class UnknownAccount(LedgerError):
    code = "UNKNOWN_ACCOUNT"


class UnknownFreeze(LedgerError):
    code = "UNKNOWN_FREEZE"


class CurrencyMismatch(LedgerError):
    code = "CURRENCY_MISMATCH"


class InsufficientAvailable(LedgerError):
    code = "INSUFFICIENT_AVAILABLE"


class InsufficientFrozen(LedgerError):
    code = "INSUFFICIENT_FROZEN"


class FreezeAccountMismatch(LedgerError):
    code = "FREEZE_ACCOUNT_MISMATCH"


class BatchTooLarge(LedgerError):
    code = "BATCH_TOO_LARGE"


class DuplicateKey(LedgerError):
    """The key was used before for a different operation (a true repeat is replayed, not refused)."""

    code = "DUPLICATE_KEY"
