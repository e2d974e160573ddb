"""`periodic.every`, the loop under every background job: a failing tick is logged and the loop goes
on, a busy tick is repeated at once, an idle one waits the interval, and stop() ends the thread."""

from __future__ import annotations

import logging
import threading
import time

from cunguan import periodic


def test_a_failed_tick_is_logged_and_the_next_tick_runs(caplog):
    calls: list[float] = []
    second = threading.Event()

    def tick() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("database went away")
        second.set()

    with caplog.at_level(logging.ERROR, logger="test.periodic"):
        stop = periodic.every(0.01, tick, name="test-periodic", log=logging.getLogger("test.periodic"))
        try:
            assert second.wait(5), "the loop died with its first tick"
        finally:
            stop()
    assert any("test-periodic tick failed" in r.getMessage() and r.exc_info for r in caplog.records)


def test_busy_ticks_repeat_at_once_and_idle_ones_wait_the_interval():
    calls: list[float] = []
    done = threading.Event()

    def tick() -> bool:
        calls.append(time.monotonic())
        if len(calls) == 4:
            done.set()
        return len(calls) < 3  # busy twice, then idle

    stop = periodic.every(0.3, tick, name="test-periodic", log=logging.getLogger("test.periodic"))
    try:
        assert done.wait(5)
    finally:
        stop()
    assert calls[2] - calls[0] < 0.25  # the two busy ticks did not wait
    assert calls[3] - calls[2] >= 0.29  # the idle one did


def test_stop_ends_the_thread():
    stop = periodic.every(0.01, lambda: None, name="test-periodic-stop", log=logging.getLogger("test.periodic"))
    assert any(t.name == "test-periodic-stop" for t in threading.enumerate())
    stop()
    assert not any(t.name == "test-periodic-stop" for t in threading.enumerate())
