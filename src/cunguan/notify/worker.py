"""The delivery worker as a background thread pool, for the server process (or a separate process).

Each thread loops `run_once` with its own HTTP client. When a pass finds nothing due, the thread
sleeps `poll_interval_s` (so a new notification goes out within about that long); when a pass fails
on the database, the thread logs it and waits `error_pause_s` instead of dying. Several threads and
several processes may run at once: claims make that safe (see notify.delivery).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine

from cunguan.clock import Clock
from cunguan.notify.delivery import DEFAULT_BATCH, HttpSender, Sender, run_once
from cunguan.notify.payload import Signer

log = logging.getLogger(__name__)

MAX_THREADS = 16


def start_background(engine: Engine, signer: Signer, clock: Clock, *, threads: int = 2,
                     poll_interval_s: float = 1.0, error_pause_s: float = 5.0, batch: int = DEFAULT_BATCH,
                     sender_factory: Callable[[], Sender] | None = None) -> Callable[[], None]:
    """Start `threads` delivery threads; return `stop()`, which asks them to finish the attempt in
    hand and waits for them (bounded by the HTTP timeouts)."""
    assert 1 <= threads <= MAX_THREADS, threads
    assert poll_interval_s > 0 and error_pause_s > 0
    stop_event = threading.Event()

    def make_sender() -> Sender:
        return sender_factory() if sender_factory is not None else HttpSender(signer)

    def loop() -> None:
        sender = make_sender()
        try:
            while not stop_event.is_set():
                try:
                    stats = run_once(engine, sender, clock, batch)
                except Exception:  # noqa: BLE001 - a worker must outlive a database hiccup
                    log.exception("notification delivery pass failed; pausing %.1fs", error_pause_s)
                    stop_event.wait(error_pause_s)
                    continue
                if stats.attempted < batch:
                    stop_event.wait(poll_interval_s)
        finally:
            close = getattr(sender, "close", None)
            if close is not None:
                close()

    workers = [threading.Thread(target=loop, name=f"cunguan-notify-{i}", daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()

    def stop(timeout_s: float = 30.0) -> None:
        stop_event.set()
        for worker in workers:
            worker.join(timeout_s)

    return stop
