"""The injected clock: business code asks a Clock for the time, never the OS directly, so tests and
simulators can move time. Times are stored in UTC; business dates are Beijing dates."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC


class Clock:
    """Wall-clock time in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)

    def beijing_now(self) -> dt.datetime:
        return self.now().astimezone(BEIJING)

    def beijing_date(self) -> dt.date:
        return self.beijing_now().date()


class FixedClock(Clock):
    """A clock that only moves when told to (tests, simulators, demos)."""

    def __init__(self, start: dt.datetime) -> None:
        assert start.tzinfo is not None, "a FixedClock needs an aware datetime"
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def set(self, when: dt.datetime) -> None:
        assert when.tzinfo is not None
        with self._lock:
            self._now = when.astimezone(UTC)

    def advance(self, delta: dt.timedelta) -> None:
        with self._lock:
            self._now += delta


def to_beijing(when: dt.datetime) -> dt.datetime:
    assert when.tzinfo is not None
    return when.astimezone(BEIJING)
