"""ASYNC_TRANSACTION on the Lanmao wire (protocol §2.5), and its background runner.

The handler accepts the batch (custody/async_batches: validate, store, one transaction) and answers
the envelope at once; the runner (custody/async_runner) settles the details and queues the NOTIFY.
`install(app)` runs the runner for the app's lifetime (the app lifespan, like the notification
delivery worker), configured from the environment:

| env | default | meaning |
|---|---|---|
| `CUNGUAN_ASYNC_WORKER` | `on` | `off` runs no runner in this process (tests, or a separate `cunguan async run-once` loop) |
| `CUNGUAN_ASYNC_THREADS` | `1` | runner threads (1..8). On SQLite one is enough (writers are serialised); on PostgreSQL threads take disjoint chunks |
| `CUNGUAN_ASYNC_CHUNK` | `5000` | most details per chunk transaction (the runner sizes chunks to take ~0.15 s while other writers wait, ~0.6 s while none do: async_runner.TARGET_CHUNK_S, UNCONTENDED_CHUNK_S) |

`app.state.async_worker = False` (set before start-up) also disables it; `app.state.async_executor`
replaces the chunk executor (read per chunk; tests, a batched executor).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from cunguan.api import background
from cunguan.api.lanmao.context import ServiceContext
from cunguan.api.lanmao.registry import Registry
from cunguan.custody import async_batches, async_runner
from cunguan.settings import int_setting

log = logging.getLogger("cunguan.lanmao.async")


def async_transaction(ctx: ServiceContext, req: dict[str, Any]) -> dict[str, Any]:
    accepted = async_batches.accept(ctx.engine, ctx.clock, ctx.platform_no, ctx.key_serial, req)
    async_runner.wake()
    return accepted.wire()


def register(registry: Registry) -> None:
    registry.register(async_batches.SERVICE_NAME, async_transaction)


# ---------------------------------------------------------------- start-up


def install(app: FastAPI, env: Mapping[str, str] | None = None) -> None:
    """Run the ASYNC_TRANSACTION runner between start-up and shutdown (settings read now)."""
    env = os.environ if env is None else env
    threads = int_setting(env, "CUNGUAN_ASYNC_THREADS", 1, 1, async_runner.MAX_THREADS)
    chunk = int_setting(env, "CUNGUAN_ASYNC_CHUNK", async_runner.MAX_CHUNK, 1, async_runner.MAX_CHUNK)

    def start(a: FastAPI) -> background.Stop:
        def executor(conn, clock, platform_no, items):  # looked up per chunk: tests may set it late
            chosen = getattr(a.state, "async_executor", None) or async_runner.execute_chunk
            return chosen(conn, clock, platform_no, items)

        return async_runner.start_background(a.state.engine, background.AppClock(a), threads=threads,
                                             executor=executor, chunk_size=chunk)

    background.run_during_lifespan(app, env, "async", start)
