"""The split: the spec's worked examples exactly, and properties against independent computations."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cunguan.money import yuan
from cunguan.sweep.split import Mode, SplitLimits, largest_amount, split


@pytest.mark.parametrize(
    ("balance", "expected", "left"),
    [
        (200_000, [50_000, 50_000, 50_000, 49_960], 40),
        (130_000, [50_000, 50_000, 29_970], 30),
        (40_000, [39_990], 10),
        (10, [], 10),
        (2_600_000, [50_000] * 50, 100_000),
    ],
)
def test_sweep_spec_full_examples(balance: int, expected: list[int], left: int) -> None:
    result = split(Mode.FULL, yuan(balance))
    assert list(result.transfers_fen) == [yuan(x) for x in expected]
    assert result.left_fen == yuan(left)
    assert result.wanted_fen == yuan(balance)


def test_sweep_spec_fixed_far_below_balance() -> None:
    result = split(Mode.FIXED, yuan(500_000), yuan(130_000))
    assert list(result.transfers_fen) == [yuan(50_000), yuan(50_000), yuan(30_000)]
    assert result.left_fen == yuan(370_000)


def test_sweep_retain_far_below_balance() -> None:
    result = split(Mode.RETAIN, yuan(500_000), yuan(370_000))
    assert list(result.transfers_fen) == [yuan(50_000), yuan(50_000), yuan(30_000)]


def test_sweep_nothing_when_wanted_not_positive() -> None:
    assert split(Mode.RETAIN, yuan(1_000), yuan(1_000)).transfers_fen == ()
    assert split(Mode.RETAIN, yuan(1_000), yuan(2_000)).wanted_fen == yuan(-1_000)
    assert split(Mode.FIXED, yuan(1_000), 0).transfers_fen == ()
    assert split(Mode.FULL, 0).transfers_fen == ()
    assert split(Mode.FULL, 1_000).transfers_fen == ()  # 10.00: only the reserve


def test_sweep_fixed_limited_by_reserve() -> None:
    # F = balance: the reserve must still stay behind.
    assert split(Mode.FIXED, yuan(100), yuan(100)).transfers_fen == (yuan(90),)


def _bank_full(balance_fen: int) -> list[int]:
    """The bank's own description for FULL: a gross step of 50,010 per transfer."""
    step = yuan(50_010)
    n = math.ceil(balance_fen / step) if balance_fen > 0 else 0
    n = min(n, 50)
    if n == 0:
        return []
    parts = [yuan(50_000)] * (n - 1)
    last = min(balance_fen - step * (n - 1) - yuan(10), yuan(50_000))
    if last > 0:
        parts.append(last)
    return parts


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0, max_value=yuan(3_000_000)))
def test_sweep_full_matches_bank_description(balance_fen: int) -> None:
    assert list(split(Mode.FULL, balance_fen).transfers_fen) == _bank_full(balance_fen)


def _brute_force(balance: int, want: int, limits: SplitLimits) -> int:
    best = 0
    for s in range(0, max(0, want) + 1):
        n = math.ceil(s / limits.per_transfer_cap_fen)
        if s <= limits.per_transfer_cap_fen * limits.max_transfers and balance - s >= limits.reserve_per_transfer_fen * n:
            best = s
    return best


small_limits = st.builds(
    SplitLimits,
    per_transfer_cap_fen=st.integers(1, 40),
    max_transfers=st.integers(1, 6),
    reserve_per_transfer_fen=st.integers(0, 8),
)


@settings(max_examples=500, deadline=None)
@given(
    limits=small_limits,
    balance=st.integers(-20, 300),
    mode=st.sampled_from(list(Mode)),
    amount=st.integers(0, 300),
)
def test_sweep_split_is_the_largest_allowed(limits: SplitLimits, balance: int, mode: Mode, amount: int) -> None:
    result = split(mode, balance, amount, limits)
    want = {Mode.FULL: balance, Mode.RETAIN: balance - amount, Mode.FIXED: amount}[mode]
    assert result.total_fen == _brute_force(balance, want, limits)
    assert len(result.transfers_fen) <= limits.max_transfers
    assert all(0 < t <= limits.per_transfer_cap_fen for t in result.transfers_fen)
    assert result.left_fen >= limits.reserve_per_transfer_fen * len(result.transfers_fen) or not result.transfers_fen
    # cap-sized transfers first, the last one the remainder
    assert all(t == limits.per_transfer_cap_fen for t in result.transfers_fen[:-1])


@settings(max_examples=400, deadline=None)
@given(
    balance=st.integers(0, yuan(4_000_000)),
    mode=st.sampled_from(list(Mode)),
    amount=st.integers(0, yuan(4_000_000)),
)
def test_sweep_split_default_limits_properties(balance: int, mode: Mode, amount: int) -> None:
    result = split(mode, balance, amount)
    n = len(result.transfers_fen)
    assert n <= 50
    assert all(0 < t <= yuan(50_000) for t in result.transfers_fen)
    assert result.left_fen >= yuan(10) * n
    assert result.total_fen <= max(result.wanted_fen, 0)
    # no larger amount satisfies the rules: one fen more breaks a rule
    bigger = result.total_fen + 1
    n_big = math.ceil(bigger / yuan(50_000))
    assert bigger > result.wanted_fen or n_big > 50 or balance - bigger < yuan(10) * n_big
    assert largest_amount(balance, result.wanted_fen) == result.total_fen
