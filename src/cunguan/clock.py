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


EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
"""Stored times are integer microseconds since this moment (`*_us` columns): exact, engine-neutral."""
WIRE_TIME_FORMAT = "%Y%m%d%H%M%S"


def to_us(when: dt.datetime) -> int:
    """An aware datetime → integer UTC microseconds (exact: no float arithmetic)."""
    assert when.tzinfo is not None
    return (when - EPOCH) // dt.timedelta(microseconds=1)


def from_us(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=int(us))


def now_us(clock: Clock) -> int:
    """The clock's time as integer UTC microseconds."""
    return to_us(clock.now())


def wire_time(us: int | None) -> str | None:
    """Stored UTC microseconds → the wire's Beijing `yyyyMMddHHmmss` (None stays None)."""
    return None if us is None else from_us(us).astimezone(BEIJING).strftime(WIRE_TIME_FORMAT)
