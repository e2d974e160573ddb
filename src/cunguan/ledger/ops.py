"""Ledger operations (commands) and their per-operation results.

Keys are global strings composed by the caller as "{platform}:{scope}:{key}", which makes them unique
per platform and scope without the ledger knowing what a platform is.
"""

from __future__ import annotations

from dataclasses import dataclass

from cunguan.ledger.errors import LedgerError


@dataclass(frozen=True, slots=True)
class Transfer:
    """Move `amount_fen` from `debit` to `credit`. With `freeze_key`, the money comes out of that freeze
    (which must be on the debit account) instead of the available balance."""

    debit: int
    credit: int
    amount_fen: int
    biz_type: str
    ref: str
    key: str | None = None
    freeze_key: str | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """Freeze `amount_fen` of `account`'s available balance under `key` (the freeze's identity)."""

    account: int
    amount_fen: int
    key: str
    ref: str


@dataclass(frozen=True, slots=True)
class Release:
    """Give back `amount_fen` of a freeze to the available balance (all that remains when None)."""

    freeze_key: str
    amount_fen: int | None = None
    key: str | None = None
    ref: str = ""


Op = Transfer | Hold | Release


@dataclass(slots=True)
class OpResult:
    ok: bool
    posting_seq: int | None = None
    freeze_id: int | None = None
    freeze_key: str | None = None
    amount_fen: int | None = None
    replayed: bool = False
    error: LedgerError | None = None
