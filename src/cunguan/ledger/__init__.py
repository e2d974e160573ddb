"""The double-entry core, pure: operations, typed errors, the in-memory planner that applies a batch
to loaded account and freeze states, the posting hash chain and the audit checks. Storage lives in
`cunguan.db.ledger_store`; this package imports nothing of ours but `money`."""

from cunguan.ledger.errors import (
    BadAmount,
    BatchTooLarge,
    CurrencyMismatch,
    DuplicateKey,
    FreezeAccountMismatch,
    InsufficientAvailable,
    InsufficientFrozen,
    LedgerError,
    SameAccount,
    UnknownAccount,
    UnknownFreeze,
)
from cunguan.ledger.ops import Hold, Op, OpResult, Release, Transfer

__all__ = [
    "BadAmount",
    "BatchTooLarge",
    "CurrencyMismatch",
    "DuplicateKey",
    "FreezeAccountMismatch",
    "Hold",
    "InsufficientAvailable",
    "InsufficientFrozen",
    "LedgerError",
    "Op",
    "OpResult",
    "Release",
    "SameAccount",
    "Transfer",
    "UnknownAccount",
    "UnknownFreeze",
]
