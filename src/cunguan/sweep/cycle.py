"""Execution dates (pure): a monthly day 1–31 with the month-end fallback, or MONTH_END.

Calendar days, not working days (the spec's cycle is a day of the month). Dates are Beijing dates.
"""

from __future__ import annotations

import calendar
import datetime as dt

MONTH_END = 0
"""The stored cycle value for MONTH_END; days 1–31 are stored as themselves."""


def parse_cycle(text: str | int) -> int:
    """'MONTH_END' or a day 1–31 → the stored cycle value; anything else is refused."""
    if isinstance(text, str) and text.strip().upper() == "MONTH_END":
        return MONTH_END
    try:
        day = int(text)
    except (TypeError, ValueError):
        raise ValueError("cycle must be a day 1-31 or MONTH_END") from None
    if not 1 <= day <= 31:
        raise ValueError("cycle must be a day 1-31 or MONTH_END")
    return day


def cycle_label(cycle: int) -> str:
    return "MONTH_END" if cycle == MONTH_END else str(cycle)


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def run_date_in_month(cycle: int, year: int, month: int) -> dt.date:
    """The execution date of a cycle in one month (days past the month's end fall back to its last day)."""
    assert cycle == MONTH_END or 1 <= cycle <= 31
    end = last_day(year, month)
    return dt.date(year, month, end if cycle == MONTH_END else min(cycle, end))


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _prev_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def next_run_on_or_after(cycle: int, day: dt.date) -> dt.date:
    """The first execution date ≥ `day`."""
    candidate = run_date_in_month(cycle, day.year, day.month)
    if candidate >= day:
        return candidate
    return run_date_in_month(cycle, *_next_month(day.year, day.month))


def last_run_on_or_before(cycle: int, day: dt.date) -> dt.date:
    """The latest execution date ≤ `day`."""
    candidate = run_date_in_month(cycle, day.year, day.month)
    if candidate <= day:
        return candidate
    return run_date_in_month(cycle, *_prev_month(day.year, day.month))


def effective_from(created_on: dt.date) -> dt.date:
    """A new rule takes effect from the next calendar day."""
    return created_on + dt.timedelta(days=1)


def is_run_date(cycle: int, day: dt.date) -> bool:
    return run_date_in_month(cycle, day.year, day.month) == day


def warns_short_months(cycle: int) -> bool:
    """Days 29–31 do not exist in every month: the setup page warns about the fallback."""
    return cycle >= 29
