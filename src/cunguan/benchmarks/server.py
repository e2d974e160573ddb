"""The server the benchmarks measure: `cunguan serve`'s own supervisor (`api.server.run`) in a
subprocess on 127.0.0.1 — the HTTP worker processes plus the background workers (ASYNC runner,
NOTIFY delivery, money, fees) in the supervisor — and what the benchmarks read off its process tree
from /proc (psutil is not installed): CPU seconds (by role: `CpuByRole`) and resident memory.

`CUNGUAN_BENCH_PROFILE=<file>` makes the runner's process profile the ASYNC runner's chunks with cProfile
and dump the stats to that file as it goes and at exit.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from cunguan.api.server import PROCESS_NAMES

START_TIMEOUT_S = 60.0
ENV_PROFILE = "CUNGUAN_BENCH_PROFILE"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def server_process(url: str, *, workers: int = 1, env: Mapping[str, str] | None = None
                   ) -> Iterator[tuple[subprocess.Popen, int]]:
    """Start the server on a free port, wait until every HTTP worker listens; stop it (SIGTERM: the
    runner finishes its chunk) at the end. Yields (the supervisor process, port).

    Every worker, not the first: the workers bind one by one as their imports finish (a second or
    two), and the clients that connected meanwhile all stayed with the first worker for the whole run
    (the kernel spreads connections over the `SO_REUSEPORT` sockets that exist when they arrive):
    measured with 2 workers, 31 of 32 connections on one of them and ~720 requests/s against ~950/s
    with both serving."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cunguan.benchmarks.server", url, str(port), str(workers)],
                            env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
            if listeners(port) >= workers:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {listeners(port)} of {workers} workers listen")
            time.sleep(0.1)
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def listeners(port: int) -> int:
    """Sockets listening on TCP `port` of this machine (Linux: /proc/net/tcp and tcp6, state 0A)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as fh:
                next(fh)  # the header
                for line in fh:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        count += 1
        except FileNotFoundError:  # pragma: no cover - no IPv6 on this machine
            continue
    return count


def tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    stack.extend(int(x) for x in fh.read().split())
            except OSError:
                pass
    return out


def cpu_s(pid: int) -> float:
    """user+system CPU seconds of the server's process tree: its own cost, whatever else runs."""
    return sum(process_cpu_s(p) or 0.0 for p in tree(pid))


def process_cpu_s(pid: int) -> float | None:
    """user+system CPU seconds of one process (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return ""


class CpuByRole:
    """CPU seconds spent over a window, by role: the server's `supervisor` (NOTIFY delivery and the
    other background work), its `http` workers and the ASYNC `runner` process (told apart by the names
    `api.server.name_process` gives them) and, when the database is a PostgreSQL server on this host,
    the `database` backends serving the run's database (`db_pids`, asked at each sample). Why: on a shared machine the wall-clock rate
    of the same code moves by ±15 % between runs, while the CPU a detail costs each part moves far
    less, and it says which part to work on.

    A sampler thread reads /proc every `interval_s`, so a process that ends mid-run keeps what it had
    used by its last sample; a process first seen mid-run counts from zero."""

    def __init__(self, server_pid: int, db_pids: Callable[[], list[int]] | None = None,
                 interval_s: float = 0.5) -> None:
        self.server_pid, self.db_pids, self.interval_s = server_pid, db_pids, interval_s
        self._start: dict[int, float] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._first = True
        self.sample()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-cpu", daemon=True)
        self._thread.start()

    def _role(self, pid: int) -> str:
        name = _comm(pid)
        # A helper of the supervisor (multiprocessing's resource tracker, named `python`) counts as its.
        return next((role for role, process_name in PROCESS_NAMES.items() if process_name == name), "supervisor")

    def sample(self) -> None:
        pids = [(p, None) for p in tree(self.server_pid)]
        if self.db_pids is not None:
            try:
                pids += [(p, "database") for p in self.db_pids() if _is_postgres(p)]
            except Exception:  # noqa: BLE001 - a failed look-up loses one sample, not the run
                pass
        with self._lock:
            for pid, role in pids:
                cpu = process_cpu_s(pid)
                if cpu is None:
                    continue
                if self._first:
                    self._start[pid] = cpu
                self._last[pid] = (role or self._role(pid), cpu)  # a child names itself once it runs
            self._first = False

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def stop(self) -> dict[str, float]:
        """The CPU seconds of each role since the start (and `total`)."""
        self.sample()
        self._stop.set()
        self._thread.join(5)
        out: dict[str, float] = {}
        with self._lock:
            for pid, (role, cpu) in self._last.items():
                out[role] = out.get(role, 0.0) + cpu - self._start.get(pid, 0.0)
        out["total"] = sum(out.values())
        return out


def _is_postgres(pid: int) -> bool:
    """A backend pid names a PostgreSQL process of this host (not some other process, when the server
    is elsewhere and its pids mean nothing here)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().startswith(b"postgres")
    except OSError:
        return False


def rss_kib(pid: int) -> int:
    """Resident memory of the whole process tree now (sum of VmRSS)."""
    total = 0
    for p in tree(pid):
        try:
            text = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


class RssSampler:
    """The peak of `rss_kib` over the run, sampled in a thread."""

    def __init__(self, pid: int, interval_s: float = 0.2) -> None:
        self.pid, self.interval_s = pid, interval_s
        self.max_rss_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)
        self._thread.start()

    def sample(self) -> None:
        self.max_rss_kib = max(self.max_rss_kib, rss_kib(self.pid))

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def stop(self) -> float:
        """The peak in MiB."""
        self.sample()
        self._stop.set()
        self._thread.join(5)
        return self.max_rss_kib / 1024


def _profile_runner(path: str) -> Callable[[], None]:
    """cProfile every runner chunk (`async_runner.run_chunk`, looked up per chunk by the runner loop);
    returns the function that writes the stats (they are also written every 5 s)."""
    import cProfile

    from cunguan.custody import async_runner

    profiler = cProfile.Profile()
    original = async_runner.run_chunk
    lock = threading.Lock()
    last_dump = [time.monotonic()]

    def profiled(*args, **kwargs):
        with lock:  # one profiler: chunks of several threads are profiled one at a time
            profiler.enable()
            try:
                return original(*args, **kwargs)
            finally:
                profiler.disable()
                if time.monotonic() - last_dump[0] > 5.0:  # the server may be killed: dump as it goes
                    profiler.dump_stats(path)
                    last_dump[0] = time.monotonic()

    async_runner.run_chunk = profiled
    return lambda: profiler.dump_stats(path)


def main(url: str, port: int, workers: int) -> None:
    from cunguan.api import server

    target = profiled_runner_process if os.environ.get(ENV_PROFILE) else server.runner_process
    server.run(url, "127.0.0.1", port, workers=workers, log_level="warning", runner_target=target)


def profiled_runner_process(db_url: str, base_url: str, env) -> None:
    """The runner's process (it is spawned: the profile must be set up in it) with its chunks profiled."""
    from cunguan.api import server

    dump = _profile_runner(os.environ[ENV_PROFILE])
    try:
        server.runner_process(db_url, base_url, env)
    finally:  # a spawned process ends with os._exit: atexit would not run
        dump()


if __name__ == "__main__":  # python -m cunguan.benchmarks.server URL PORT WORKERS
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
