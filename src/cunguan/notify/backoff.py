"""When to try a notification again: exponential backoff with jitter, capped, bounded by a deadline.

Nominal delays after the n-th failed attempt: 15 s, 30 s, 1 min, 2 min, 4 min, 8 min, 16 min, 32 min,
then 1 h forever. Jitter only ever shortens a delay (by up to `JITTER_RATIO`), so the nominal values
are upper bounds and the 1 h cap is strict; it spreads the retries of many notifications that failed
together (a platform outage) so they do not all come back in the same second.
"""

from __future__ import annotations

import random
from collections.abc import Callable

FIRST_DELAY_US = 15 * 1_000_000
MAX_DELAY_US = 3600 * 1_000_000
JITTER_RATIO = 0.2
DELIVERY_WINDOW_US = 24 * 3600 * 1_000_000
"""A notification is retried until 24 hours after it was enqueued, then it is FAILED (dead)."""


def nominal_delay_us(failures: int) -> int:
    """The un-jittered delay after `failures` failed attempts (failures >= 1)."""
    assert failures >= 1, failures
    # 2**(failures-1) grows without bound; stop doubling once past the cap.
    exponent = min(failures - 1, 32)
    return min(MAX_DELAY_US, FIRST_DELAY_US * (2**exponent))


def retry_delay_us(failures: int, rand: Callable[[], float] = random.random) -> int:
    """The jittered delay: nominal × (1 − JITTER_RATIO × u), u uniform in [0, 1)."""
    nominal = nominal_delay_us(failures)
    u = rand()
    assert 0.0 <= u <= 1.0, u
    delay = nominal - int(nominal * JITTER_RATIO * u)
    assert 0 < delay <= MAX_DELAY_US
    return delay


def next_attempt_us(*, now_us: int, failures: int, deadline_us: int,
                    rand: Callable[[], float] = random.random) -> int | None:
    """When to try next after a failure at `now_us`, or None when the deadline has passed (the
    notification is dead). A retry that would land after the deadline is moved to the deadline, so
    the last try happens at the end of the window rather than up to an hour before it."""
    if now_us >= deadline_us:
        return None
    return min(now_us + retry_delay_us(failures, rand), deadline_us)
