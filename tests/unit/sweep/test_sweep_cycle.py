"""Execution dates: days 29–31 in short months, February of leap and common years, MONTH_END."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cunguan.sweep.cycle import (
    MONTH_END,
    effective_from,
    is_run_date,
    last_run_on_or_before,
    next_run_on_or_after,
    parse_cycle,
    run_date_in_month,
    warns_short_months,
)

D = dt.date


@pytest.mark.parametrize(
    ("cycle", "year", "month", "expected"),
    [
        (5, 2026, 2, D(2026, 2, 5)),
        (28, 2026, 2, D(2026, 2, 28)),
        (29, 2026, 2, D(2026, 2, 28)),  # common year
        (29, 2028, 2, D(2028, 2, 29)),  # leap year
        (30, 2028, 2, D(2028, 2, 29)),
        (31, 2026, 2, D(2026, 2, 28)),
        (31, 2026, 4, D(2026, 4, 30)),
        (31, 2026, 5, D(2026, 5, 31)),
        (30, 2026, 4, D(2026, 4, 30)),
        (MONTH_END, 2026, 2, D(2026, 2, 28)),
        (MONTH_END, 2028, 2, D(2028, 2, 29)),
        (MONTH_END, 2026, 12, D(2026, 12, 31)),
        (MONTH_END, 2026, 11, D(2026, 11, 30)),
    ],
)
def test_sweep_run_date_in_month(cycle: int, year: int, month: int, expected: dt.date) -> None:
    assert run_date_in_month(cycle, year, month) == expected


def test_sweep_next_run_crosses_month_and_year() -> None:
    assert next_run_on_or_after(5, D(2026, 11, 5)) == D(2026, 11, 5)
    assert next_run_on_or_after(5, D(2026, 11, 6)) == D(2026, 12, 5)
    assert next_run_on_or_after(31, D(2026, 12, 31)) == D(2026, 12, 31)
    assert next_run_on_or_after(5, D(2026, 12, 6)) == D(2027, 1, 5)
    assert next_run_on_or_after(30, D(2027, 1, 31)) == D(2027, 2, 28)
    assert next_run_on_or_after(MONTH_END, D(2028, 2, 1)) == D(2028, 2, 29)


def test_sweep_last_run_on_or_before() -> None:
    assert last_run_on_or_before(5, D(2026, 11, 7)) == D(2026, 11, 5)
    assert last_run_on_or_before(5, D(2026, 11, 4)) == D(2026, 10, 5)
    assert last_run_on_or_before(31, D(2026, 3, 1)) == D(2026, 2, 28)
    assert last_run_on_or_before(10, D(2026, 1, 3)) == D(2025, 12, 10)


def test_sweep_new_rule_effective_next_day() -> None:
    created = D(2026, 11, 5)
    start = effective_from(created)
    assert start == D(2026, 11, 6)
    # a rule created on the 5th with execution day 5 first runs next month
    assert next_run_on_or_after(5, start) == D(2026, 12, 5)
    # created on the last day of February (common year), MONTH_END: next run is the end of March
    assert next_run_on_or_after(MONTH_END, effective_from(D(2026, 2, 28))) == D(2026, 3, 31)


def test_sweep_is_run_date() -> None:
    assert is_run_date(31, D(2026, 2, 28))
    assert not is_run_date(31, D(2026, 3, 30))
    assert is_run_date(31, D(2026, 3, 31))
    assert is_run_date(MONTH_END, D(2024, 2, 29))
    assert not is_run_date(MONTH_END, D(2024, 2, 28))


def test_sweep_parse_cycle() -> None:
    assert parse_cycle("MONTH_END") == MONTH_END
    assert parse_cycle("month_end") == MONTH_END
    assert parse_cycle("31") == 31
    assert parse_cycle(1) == 1
    for bad in ("0", "32", "x", "-1", ""):
        with pytest.raises(ValueError):
            parse_cycle(bad)
    assert warns_short_months(29) and not warns_short_months(28) and not warns_short_months(MONTH_END)

cycles = st.sampled_from([MONTH_END, *range(1, 32)])
days = st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 12, 31))


@given(cycles, days)
def test_sweep_next_run_is_the_first_run_date_on_or_after(cycle: int, day: dt.date) -> None:
    nxt = next_run_on_or_after(cycle, day)
    assert nxt >= day and is_run_date(cycle, nxt)
    assert (nxt - day).days <= 31
    probe = day
    while probe < nxt:  # no run date is skipped
        assert not is_run_date(cycle, probe)
        probe += dt.timedelta(days=1)
    assert last_run_on_or_before(cycle, nxt) == nxt


@given(cycles, st.integers(2000, 2100), st.integers(1, 12))
def test_sweep_exactly_one_run_date_per_month(cycle: int, year: int, month: int) -> None:
    first = D(year, month, 1)
    hits = [first + dt.timedelta(days=i) for i in range(31)
            if (first + dt.timedelta(days=i)).month == month and is_run_date(cycle, first + dt.timedelta(days=i))]
    assert hits == [run_date_in_month(cycle, year, month)]
