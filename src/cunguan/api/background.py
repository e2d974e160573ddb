"""Background workers that live as long as the app: the NOTIFY delivery threads, the money worker,
the ASYNC_TRANSACTION runner, the custody fee check, the planner statistics on PostgreSQL. Each room
says how to start its worker (a function returning `stop()`); this module runs it between start-up
and shutdown, on the app's clock, and reads the one on/off switch every worker has
(`CUNGUAN_<NAME>_WORKER`, or `app.state.<name>_worker = False` set before start-up, which tests use)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from cunguan.clock import Clock
from cunguan.db import statistics, wal_checkpoint

log = logging.getLogger("cunguan.background")

Stop = Callable[[], None]
_ON, _OFF = ("on", "1", "true"), ("off", "0", "false")


class AppClock(Clock):
    """The app's clock (`app.state.clock`, which tests may set or move), else the wall clock."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def now(self):
        clock = getattr(self.app.state, "clock", None)
        return clock.now() if clock is not None else super().now()


def worker_enabled(app: Any, env: Mapping[str, str], name: str) -> bool:
    """`name` is e.g. "notify": `app.state.notify_worker` False wins, else `CUNGUAN_NOTIFY_WORKER` (on)."""
    if getattr(app.state, f"{name}_worker", True) is False:
        return False
    return switch_on(env, name)


def switch_on(env: Mapping[str, str], name: str) -> bool:
    """`CUNGUAN_<NAME>_WORKER` read as on (the default) or off."""
    variable = f"CUNGUAN_{name.upper()}_WORKER"
    value = (env.get(variable) or "on").strip().lower()
    if value not in _ON + _OFF:
        raise ValueError(f"{variable} must be on or off (got {value!r})")
    return value in _ON


def run_during_lifespan(app: FastAPI, env: Mapping[str, str], name: str, start: Callable[[FastAPI], Stop]) -> None:
    """Call `start(app)` at start-up (when the worker is enabled) and its `stop()` at shutdown, around
    whatever lifespan the app already has."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        stop = start(a) if worker_enabled(a, env, name) else None
        if stop is not None:
            log.info("%s worker started", name)
        try:
            async with inner(a) as state:
                yield state
        finally:
            if stop is not None:
                await run_in_threadpool(stop)

    app.router.lifespan_context = lifespan


def install_statistics(app: FastAPI, env: Mapping[str, str]) -> None:
    """The planner-statistics job (`db/statistics`; PostgreSQL only) as the "stats" worker."""
    run_during_lifespan(app, env, "stats", lambda a: statistics.start_background(a.state.engine))


def install_checkpoints(app: FastAPI, env: Mapping[str, str]) -> None:
    """SQLite's WAL checkpoints off the writers' path (`db/wal_checkpoint`) as the "checkpoint" worker."""
    run_during_lifespan(app, env, "checkpoint", lambda a: wal_checkpoint.start_background(a.state.engine))
