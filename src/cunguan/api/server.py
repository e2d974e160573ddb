"""Running the server: HTTP worker processes, the ASYNC runner's process, and the other background work
in the process that starts them.

`run(...)` (what `cunguan serve` and the benchmarks call) is a small supervisor:
- **this process** runs the background workers but one — NOTIFY delivery, the money worker, the custody
  fee check (the app lifespan, `api.background`) and, when asked, the collection scheduler — and serves
  no HTTP;
- **one runner process** runs the ASYNC_TRANSACTION runner alone (the same app lifespan with only that
  worker on): it is the one long CPU-bound job, and beside the notifications and the HTTP requests it
  got a third less done (measured on the 2-core machine);
- **`workers` HTTP processes** (spawned, so nothing of this process's threads or connections is
  inherited) each serve the whole app with its background workers switched off, on a socket of their
  own bound to the same address with `SO_REUSEPORT`, so the kernel spreads connections over them (one
  shared listening socket let one process accept all 32 connections of a load).
A child that dies is started again.

Why processes: Python runs one thread at a time per process, and the runner's chunks, the HTTP
requests and the notifications together need more than one core. Everything they share goes through
the database (SQLite: one writer at a time, see `db.engine`'s writer gate; PostgreSQL: row locks), so
their correctness never depends on being in one process. SIGTERM / SIGINT stop the children first (the
runner finishes its chunk), then the background workers here.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("cunguan.server")

BACKGROUND_SWITCHES = ("CUNGUAN_NOTIFY_WORKER", "CUNGUAN_MONEY_WORKER", "CUNGUAN_ASYNC_WORKER", "CUNGUAN_FEE_WORKER",
                       "CUNGUAN_STATS_WORKER", "CUNGUAN_CHECKPOINT_WORKER")
"""The background workers an HTTP worker process must not run (they run in the supervisor)."""
MAX_WORKERS = 16


def default_workers() -> int:
    """HTTP processes when none are asked for: one per core, at most 8. Decision: a request's CPU (its
    signature above all) is spent in its HTTP process, so one process serves about one core's worth;
    measured (`cunguan bench sync`, 2 cores, 32 clients) 1 process 682-720/s on SQLite, 434/s on
    PostgreSQL; 2 processes 1,037-1,060/s and 493-516/s. More processes than cores only add SQLite
    writers waiting at the writer gate."""
    return max(1, min(os.cpu_count() or 1, 8))
RESTART_PAUSE_S = 1.0


def bind(host: str, port: int, *, listen: bool = True) -> socket.socket:
    """A socket bound to (host, port) that other processes may bind to as well (`SO_REUSEPORT`)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(2048)
    return sock


PROCESS_NAMES = {"supervisor": "cunguan-serve", "http": "cunguan-http", "runner": "cunguan-runner"}
"""What `ps -o comm`, `top` and /proc/<pid>/comm show for each of the server's processes (≤ 15 bytes):
spawned children are all `python` otherwise, and an operator (or a benchmark sorting CPU by role,
`benchmarks.server.CpuByRole`) could not tell the runner from an HTTP worker."""


def name_process(role: str) -> None:
    """Give this process its role's name (Linux: /proc/self/comm; elsewhere nothing happens)."""
    try:
        with open("/proc/self/comm", "w") as fh:
            fh.write(PROCESS_NAMES[role])
    except OSError:  # pragma: no cover - not Linux
        pass


def runner_process(db_url: str, base_url: str, env: Mapping[str, str]) -> None:
    """The ASYNC runner's process (a spawn target): the app's lifespan with only the runner switched on,
    until SIGTERM."""
    name_process("runner")
    os.environ.update(env)
    for name in BACKGROUND_SWITCHES:
        os.environ[name] = "on" if name == "CUNGUAN_ASYNC_WORKER" else "off"
    from cunguan.api.app import create_app
    from cunguan.db.engine import background_writers, create_engine

    background_writers()
    app = create_app(create_engine(db_url), base_url=base_url)
    asyncio.run(_live(app))


async def _live(app, *, on_start: Callable[[], None] | None = None, on_tick: Callable[[], None] | None = None,
                on_stop: Callable[[], None] | None = None) -> None:
    """Run `app`'s lifespan (its background workers) until SIGTERM / SIGINT; `on_start` once it is up,
    `on_tick` every RESTART_PAUSE_S, `on_stop` when a signal came, before the lifespan ends."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with app.router.lifespan_context(app):
        try:
            if on_start is not None:
                on_start()
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), RESTART_PAUSE_S)
                except TimeoutError:
                    pass
                if on_tick is not None and not stop.is_set():
                    on_tick()
        finally:
            if on_stop is not None:
                on_stop()


def http_worker(db_url: str, host: str, port: int, base_url: str, env: Mapping[str, str], log_level: str) -> None:
    """One HTTP worker process (the spawn target): the app on its own SO_REUSEPORT socket."""
    name_process("http")
    os.environ.update(env)
    for name in BACKGROUND_SWITCHES:
        os.environ[name] = "off"
    import uvicorn

    from cunguan.api.app import create_app
    from cunguan.db.engine import create_engine

    app = create_app(create_engine(db_url), base_url=base_url)
    sock = bind(host, port)  # once the app is built: a connection the kernel gives this socket is served soon

    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False))
    server.run(sockets=[sock])


def run(db_url: str, host: str, port: int, *, workers: int = 1, base_url: str | None = None,
        log_level: str = "info", env: Mapping[str, str] | None = None,
        extra_background: Callable[[], Callable[[], None]] | None = None,
        on_ready: Callable[[list[int]], None] | None = None,
        runner_target: Callable[[str, str, Mapping[str, str]], None] = runner_process) -> None:
    """Serve until SIGTERM / SIGINT (see the module docstring). `env`: variables for the HTTP workers
    on top of this process's; `extra_background()` starts more background work here and returns its
    stop function; `on_ready(pids)` is called once the children are started. `CUNGUAN_ASYNC_WORKER=off`
    starts no runner process; `runner_target` is its spawn target (a module-level function that ends by
    calling `runner_process`: the benchmarks' profiling one)."""
    assert 1 <= workers <= MAX_WORKERS, workers
    name_process("supervisor")
    from cunguan.api import background
    from cunguan.api.app import create_app
    from cunguan.db.engine import background_writers, create_engine

    background_writers()  # this process's jobs wait for the writer gate without shortening the runner's chunks
    base_url = base_url or f"http://{host}:{port}"
    probe = bind(host, port, listen=False)  # fail here, not in every worker, when the address is taken
    runner_on = background.switch_on(os.environ, "async")
    os.environ["CUNGUAN_ASYNC_WORKER"] = "off"  # this process: everything but the runner
    app = create_app(create_engine(db_url), base_url=base_url)
    context = multiprocessing.get_context("spawn")
    child_env = dict(env or {})
    starts = [(http_worker, (db_url, host, port, base_url, child_env, log_level), "cunguan-http")] * workers
    if runner_on:
        starts.append((runner_target, (db_url, base_url, child_env), "cunguan-async-runner"))

    def start_child(i: int):
        target, args_, name = starts[i]
        proc = context.Process(target=target, args=args_, name=name, daemon=False)
        proc.start()
        return proc

    procs: list = []

    def start_all() -> None:
        procs.extend(start_child(i) for i in range(len(starts)))
        probe.close()
        if on_ready is not None:
            on_ready([p.pid for p in procs])

    def restart_dead() -> None:
        for i, proc in enumerate(procs):
            if not proc.is_alive():
                log.error("%s %s exited with %s; starting another", proc.name, proc.pid, proc.exitcode)
                procs[i] = start_child(i)

    stop_extra = extra_background() if extra_background is not None else None
    try:
        asyncio.run(_live(app, on_start=start_all, on_tick=restart_dead, on_stop=lambda: _stop_workers(procs)))
    finally:
        _stop_workers(procs)
        if stop_extra is not None:
            stop_extra()


def _stop_workers(procs) -> None:
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    deadline = time.monotonic() + 30
    for proc in procs:
        proc.join(max(0.1, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join(5)
