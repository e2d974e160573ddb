"""Splitting one collection into IBPS debits (pure).

The amount moved, S, is the largest amount with S ≤ W, S ≤ cap × max_transfers and
B − S ≥ reserve × n(S), where n(S) = ceil(S / cap). For a fixed transfer count n, the largest S
that needs at most n transfers is min(W, n × cap, B − reserve × n) — and it is feasible, because it
needs at most n transfers and leaves at least reserve × n behind. So S is the best of these over
n = 1..max_transfers (or 0). All amounts are integer fen.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cunguan.money import yuan


class Mode(StrEnum):
    FULL = "FULL"
    RETAIN = "RETAIN"
    FIXED = "FIXED"


@dataclass(frozen=True, slots=True)
class SplitLimits:
    """The constants of the spec (defaults are the bank's); every one is an explicit limit."""

    per_transfer_cap_fen: int = yuan(50_000)
    max_transfers: int = 50
    reserve_per_transfer_fen: int = yuan(10)

    def __post_init__(self) -> None:
        assert self.per_transfer_cap_fen > 0 and self.max_transfers > 0 and self.reserve_per_transfer_fen >= 0


DEFAULT_LIMITS = SplitLimits()


@dataclass(frozen=True, slots=True)
class Split:
    balance_fen: int
    wanted_fen: int
    transfers_fen: tuple[int, ...]

    @property
    def total_fen(self) -> int:
        return sum(self.transfers_fen)

    @property
    def left_fen(self) -> int:
        return self.balance_fen - self.total_fen


def wanted(mode: Mode, balance_fen: int, amount_fen: int | None) -> int:
    """W: FULL → B; RETAIN → B − R; FIXED → F (may be ≤ 0: nothing to move)."""
    if mode is Mode.FULL:
        return balance_fen
    assert amount_fen is not None and amount_fen >= 0, "RETAIN and FIXED need their amount"
    if mode is Mode.RETAIN:
        return balance_fen - amount_fen
    return amount_fen


def largest_amount(balance_fen: int, wanted_fen: int, limits: SplitLimits = DEFAULT_LIMITS) -> int:
    """S, the largest amount the rules allow (0 when nothing can move)."""
    ceiling = min(wanted_fen, limits.per_transfer_cap_fen * limits.max_transfers)
    if ceiling <= 0:
        return 0
    best = 0
    for n in range(1, limits.max_transfers + 1):
        best = max(best, min(ceiling, n * limits.per_transfer_cap_fen, balance_fen - limits.reserve_per_transfer_fen * n))
        if n * limits.per_transfer_cap_fen >= ceiling:
            break  # more transfers only leave more behind
    return max(best, 0)


def split(mode: Mode, balance_fen: int, amount_fen: int | None = None, limits: SplitLimits = DEFAULT_LIMITS) -> Split:
    """The transfers of one collection: cap-sized ones, the last one the remainder."""
    w = wanted(mode, balance_fen, amount_fen)
    total = largest_amount(balance_fen, w, limits)
    full, rest = divmod(total, limits.per_transfer_cap_fen)
    parts = (limits.per_transfer_cap_fen,) * full + ((rest,) if rest else ())
    assert len(parts) <= limits.max_transfers
    assert balance_fen - total >= limits.reserve_per_transfer_fen * len(parts) or total == 0
    return Split(balance_fen, w, parts)
