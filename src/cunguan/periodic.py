"""A tick repeated in a daemon thread until stopped: the shape of every background loop (fees,
collection, money, planner statistics). A failed tick is logged and the loop goes on — the next tick
retries — because one database hiccup must not end a worker that lives as long as the server."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

Stop = Callable[..., None]


def every(interval_s: float, tick: Callable[[], object], *, name: str, log: logging.Logger) -> Stop:
    """Call `tick()` now and then every `interval_s` seconds; a truthy result (more work waiting)
    calls it again at once. Returns `stop(timeout_s=30)`, which lets the tick in hand finish."""
    assert interval_s > 0
    stopped = threading.Event()

    def loop() -> None:
        while not stopped.is_set():
            busy = False
            try:
                busy = bool(tick())
            except Exception:  # noqa: BLE001 - see the module's docstring
                log.exception("%s tick failed", name)
            if not busy:
                stopped.wait(interval_s)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()

    def stop(timeout_s: float = 30.0) -> None:
        stopped.set()
        thread.join(timeout_s)

    return stop
