"""Chinese working days (工作日), from the maintained `chinese_calendar` package, never a hand list.

A working day is what the State Council's yearly schedule says: Monday–Friday unless a public holiday,
plus the make-up working weekends (调休上班, e.g. Saturday 2025-10-11). Business dates here are
Beijing dates (see cunguan.clock).

Limit: the package only knows the years whose schedule has been published (1.11: 2004–2026). A date
outside that range raises `CalendarUnavailable` instead of guessing from weekdays — a guessed T+1 date
would move money on a holiday; the fix is upgrading the package when the next schedule is out.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar

MAX_SCAN_DAYS = 40
"""Longest run of consecutive non-working days we accept before declaring the calendar broken (the
longest real one, Spring Festival plus weekends, is 9–10 days)."""


class CalendarUnavailable(LookupError):
    """The holiday schedule for this date's year is not known to the installed calendar package."""

    def __init__(self, day: dt.date) -> None:
        super().__init__(f"no holiday schedule for {day.year} (upgrade chinesecalendar)")
        self.day = day


def is_working_day(day: dt.date) -> bool:
    """True on a working day (including a make-up working weekend), False on a weekend or holiday."""
    assert isinstance(day, dt.date) and not isinstance(day, dt.datetime), "a Beijing date, not a datetime"
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        raise CalendarUnavailable(day) from None


def next_working_day(day: dt.date) -> dt.date:
    """The first working day strictly after `day` (T+1 in working days)."""
    return add_working_days(day, 1)


def working_day_on_or_after(day: dt.date) -> dt.date:
    """`day` itself if it is a working day, else the next one."""
    return day if is_working_day(day) else next_working_day(day)


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The n-th working day after `day` (n ≥ 1); `day` itself does not count."""
    assert n >= 1
    current = day
    for _ in range(n):
        for _scan in range(MAX_SCAN_DAYS):
            current += dt.timedelta(days=1)
            if is_working_day(current):
                break
        else:  # pragma: no cover - only with a corrupt calendar
            raise CalendarUnavailable(current)
    return current
