"""Working days from chinese_calendar: weekends, public holidays, make-up working weekends (real
2025/2026 dates), and a typed error outside the calendar's known years."""

from __future__ import annotations

import datetime as dt

import pytest

from cunguan.calendar_cn import (
    CalendarUnavailable,
    add_working_days,
    is_working_day,
    next_working_day,
    working_day_on_or_after,
)

D = dt.date


@pytest.mark.parametrize(("day", "working"), [
    (D(2026, 11, 23), True),  # Monday
    (D(2026, 11, 21), False),  # Saturday
    (D(2025, 10, 1), False),  # National Day
    (D(2025, 10, 11), True),  # make-up working Saturday after National Day 2025
    (D(2025, 9, 28), True),  # make-up working Sunday before National Day 2025
    (D(2026, 2, 14), True),  # make-up working Saturday before Spring Festival 2026
    (D(2026, 2, 16), False),  # Spring Festival 2026 (a Monday)
    (D(2026, 1, 1), False),  # New Year's Day
])
def test_payments_working_day(day, working):
    assert is_working_day(day) is working


def test_payments_next_working_day_over_weekend_holiday_and_makeup():
    assert next_working_day(D(2026, 11, 20)) == D(2026, 11, 23)  # Fri -> Mon
    assert next_working_day(D(2025, 9, 30)) == D(2025, 10, 9)  # National Day week
    assert next_working_day(D(2025, 10, 10)) == D(2025, 10, 11)  # Fri -> make-up Saturday
    assert next_working_day(D(2025, 9, 26)) == D(2025, 9, 28)  # Fri -> make-up Sunday
    assert next_working_day(D(2026, 2, 14)) == D(2026, 2, 24)  # Spring Festival 2026


def test_payments_working_day_on_or_after_and_add():
    assert working_day_on_or_after(D(2026, 11, 23)) == D(2026, 11, 23)
    assert working_day_on_or_after(D(2025, 10, 3)) == D(2025, 10, 9)
    assert add_working_days(D(2025, 10, 9), 2) == D(2025, 10, 11)


def test_payments_calendar_refuses_unknown_years():
    with pytest.raises(CalendarUnavailable):
        is_working_day(D(2003, 6, 2))
    with pytest.raises(AssertionError):
        is_working_day(dt.datetime(2026, 11, 23, 10, 0))  # a datetime is not a business date
