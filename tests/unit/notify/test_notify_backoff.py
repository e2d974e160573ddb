"""The retry schedule: 15 s doubling to a 1 h cap, jitter that only shortens, a hard 24 h deadline."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cunguan.notify import backoff as B

S = 1_000_000


def test_nominal_schedule_doubles_from_15s_and_caps_at_one_hour():
    got = [B.nominal_delay_us(n) // S for n in range(1, 13)]
    assert got == [15, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600]
    assert B.nominal_delay_us(10_000) == 3600 * S


def test_no_jitter_gives_the_nominal_delay_and_full_jitter_shortens_by_at_most_a_fifth():
    assert B.retry_delay_us(1, rand=lambda: 0.0) == 15 * S
    assert B.retry_delay_us(1, rand=lambda: 1.0) == 12 * S
    assert B.retry_delay_us(20, rand=lambda: 1.0) == 2880 * S


@given(failures=st.integers(1, 500), u=st.floats(0.0, 1.0))
def test_jittered_delay_stays_between_80_and_100_percent_of_nominal(failures, u):
    nominal = B.nominal_delay_us(failures)
    delay = B.retry_delay_us(failures, rand=lambda: u)
    assert nominal * 0.8 <= delay <= nominal <= B.MAX_DELAY_US


def test_retry_is_moved_to_the_deadline_and_none_after_it():
    deadline = 1_000 * S
    assert B.next_attempt_us(now_us=0, failures=1, deadline_us=deadline, rand=lambda: 0.0) == 15 * S
    assert B.next_attempt_us(now_us=990 * S, failures=9, deadline_us=deadline, rand=lambda: 0.0) == deadline
    assert B.next_attempt_us(now_us=deadline, failures=9, deadline_us=deadline) is None
    assert B.next_attempt_us(now_us=deadline + 1, failures=1, deadline_us=deadline) is None


def test_a_day_of_failures_is_a_bounded_number_of_attempts():
    now, failures = 0, 0
    while True:
        failures += 1
        nxt = B.next_attempt_us(now_us=now, failures=failures, deadline_us=B.DELIVERY_WINDOW_US, rand=lambda: 1.0)
        if nxt is None:
            break
        assert nxt > now
        now = nxt
    assert now == B.DELIVERY_WINDOW_US
    # 8 doubling steps (~1 h) then ~23 h of 48-minute (fully jittered) hourly retries, then the last one.
    assert 30 <= failures <= 40
