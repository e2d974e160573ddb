"""The engine factory: SQLite (embedded default) or PostgreSQL, always durable.

Durability is not a setting: every SQLite connection runs WAL with `synchronous=FULL`, every PostgreSQL
connection runs with `synchronous_commit=on`, and a server with `fsync=off` is refused, so a commit
that returned is on disk. SQLite write transactions begin IMMEDIATE (the write lock is taken up front,
so two writers never deadlock on a lock upgrade); read-only work can ask for a deferred begin with
`conn.execution_options(sqlite_deferred=True)`.

SQLite writers queue on a writer gate per database file (`_writer_gate`) before BEGIN IMMEDIATE: a
Python lock for the threads of one process, then an exclusive `flock` on `<database>-writer-lock` for
the processes (`cunguan serve --workers N`, the background process, a CLI command). Without it, N
writers that want the write lock all meet SQLite's busy handler, which sleeps in steps of 1..100 ms:
the lock sat idle while its waiters slept, and a 32-client load showed p99 in seconds (two server
processes without the file lock: p99 2 s). A blocked `flock` wakes the moment the holder lets go, and
the kernel drops the lock of a process that dies. A writer that does not take the gate (the sqlite3
shell) still meets SQLite's own lock and busy timeout, so correctness never depends on the gate.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import create_engine as _sa_create_engine
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import QueuePool

from cunguan.db.reads import install_read_guard
from cunguan.db.wal_checkpoint import AUTOCHECKPOINT_PAGES

DEFAULT_SQLITE_PATH = Path("var") / "cunguan.sqlite3"
ENV_URL = "CUNGUAN_DATABASE_URL"


class DurabilityError(RuntimeError):
    """The database is configured to lose acknowledged commits; Cunguan refuses to run on it."""


def database_url(explicit: str | None = None) -> str:
    """The URL to use: explicit, else $CUNGUAN_DATABASE_URL, else the embedded SQLite file."""
    if explicit:
        return normalize_url(explicit)
    env = os.environ.get(ENV_URL)
    if env:
        return normalize_url(env)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str | None = None, *, pool_size: int = 8) -> Engine:
    url = database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, pool_size)
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(url, pool_size)
    raise ValueError(f"unsupported database: {parsed.get_backend_name()} (use sqlite or postgresql)")


SQLITE_BUSY_TIMEOUT_S = 30
_gates: dict[str, WriterGate] = {}
_gates_lock = threading.Lock()


class WriterGate:
    """One database file's writer gate: this process's threads queue on `lock`, then the processes on
    an exclusive `flock` of the lock file (kept open for the process's life; `os.getpid()` guards a
    forked child, which must open its own description of the file).

    `waiting()` tells the holder whether another writer, of any process, is queued behind it right now,
    so that the ASYNC runner can keep its chunks short only while someone waits (`custody.async_runner`).
    A writer that finds the gate taken holds a shared `flock` on `{path}-writer-wait` until it gets
    the gate (one per process, counted over its threads); `waiting()` tries an exclusive lock on that
    file through a description of its own, without blocking. The writers of a process marked
    `background_writers()` queue without announcing it: the server's supervisor polls for work every
    half second from several jobs, each beginning a write transaction, and one of them was waiting at
    the end of every chunk the runner took (measured: 298 of 298 chunks of a 100,000-detail run)."""

    def __init__(self, path: str) -> None:
        self.lock_path = f"{path}-writer-lock"
        self.wait_path = f"{path}-writer-wait"
        self.lock = threading.Lock()
        self._fds: dict[str, int] = {}
        self._pid = 0
        self._queued = 0
        self._queued_lock = threading.Lock()

    def _file(self, role: str = "gate") -> int | None:
        """The process's descriptions: `gate` (the lock file), `queued` and `probe` (the wait file)."""
        if fcntl is None:  # pragma: no cover - not on Linux: SQLite's busy handler alone between processes
            return None
        if self._pid != os.getpid():
            self._fds, self._pid, self._queued = {}, os.getpid(), 0
        fd = self._fds.get(role)
        if fd is None:
            path = self.lock_path if role == "gate" else self.wait_path
            fd = self._fds[role] = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return fd

    @contextmanager
    def _waiting_in_line(self) -> Iterator[None]:
        if not _announce_queued:
            yield
            return
        fd = self._file("queued")
        with self._queued_lock:
            self._queued += 1
            if self._queued == 1 and fd is not None:
                fcntl.flock(fd, fcntl.LOCK_SH)  # waits at most for a `waiting()` probe to let go
        try:
            yield
        finally:
            with self._queued_lock:
                self._queued -= 1
                if self._queued == 0 and fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def acquire(self, timeout_s: float) -> bool:
        if not self.lock.acquire(blocking=False):
            with self._waiting_in_line():
                if not self.lock.acquire(timeout=timeout_s):
                    return False
        try:
            fd = self._file()
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    with self._waiting_in_line():
                        fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self.lock.release()
            raise
        return True

    def release(self) -> None:
        try:
            fd = self._fds.get("gate")
            if fd is not None and self._pid == os.getpid():
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self.lock.release()

    def waiting(self) -> bool:
        """Whether a writer (another thread, another process) is queued for the gate now."""
        fd = self._file("probe")
        if fd is None:  # pragma: no cover - not on Linux
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False


def _writer_gate(path: str) -> WriterGate:
    """The writer gate of a database file (shared by every engine on that file in this process)."""
    key = os.path.realpath(path)
    with _gates_lock:
        gate = _gates.get(key)
        if gate is None:
            gate = _gates[key] = WriterGate(key)
        return gate


_announce_queued = True


def background_writers() -> None:
    """Mark this process's writers as background work (the server's supervisor and ASYNC runner): they
    wait for the writer gate without asking the runner to keep its chunks short (`WriterGate`)."""
    global _announce_queued
    _announce_queued = False


_PG_BLOCKED_BY_US = ("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted "
                     "AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))")


def writers_waiting(conn: Connection) -> bool:
    """Whether another transaction waits for this one now. SQLite: a writer queued for the file's
    writer gate, which this transaction holds (`WriterGate.waiting`). PostgreSQL: a backend waiting for
    a lock this connection's backend holds — the rows it wrote, the ledger chain's head above all
    (`pg_blocking_pids`; `pg_locks`, unlike `pg_stat_activity`, shows every role's waits)."""
    if is_sqlite(conn.engine):
        return _writer_gate(conn.engine.url.database or "").waiting()
    return bool(conn.exec_driver_sql(_PG_BLOCKED_BY_US).scalar())


def _gated_connection_class(gate: WriterGate) -> type[sqlite3.Connection]:
    class GatedConnection(sqlite3.Connection):
        """Holds the file's writer gate from BEGIN IMMEDIATE until its COMMIT or ROLLBACK returned
        (SQLAlchemy's commit, rollback and the pool's reset-on-return all end here)."""

        _gate_held = False

        def take_gate(self) -> None:
            if not gate.acquire(SQLITE_BUSY_TIMEOUT_S):
                raise sqlite3.OperationalError("database is locked (this process's other writers held it)")
            self._gate_held = True

        def drop_gate(self) -> None:
            if self._gate_held:
                self._gate_held = False
                gate.release()

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self.drop_gate()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self.drop_gate()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self.drop_gate()

    return GatedConnection


def _sqlite_engine(url: str, path: str | None, pool_size: int) -> Engine:
    if not path or path == ":memory:":
        raise ValueError("an in-memory SQLite database is not durable; give a file path")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = _sa_create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S,
                      "factory": _gated_connection_class(_writer_gate(path))},
        # Pooled: a fresh connection per transaction costs about a millisecond (open, pragmas, schema
        # parse, cold page cache). The single writer is kept by BEGIN IMMEDIATE + busy_timeout.
        poolclass=QueuePool, pool_size=pool_size, max_overflow=pool_size,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")  # the server checkpoints: db/wal_checkpoint
        (sync,) = cur.execute("PRAGMA synchronous").fetchone()
        (mode,) = cur.execute("PRAGMA journal_mode").fetchone()
        cur.close()
        if int(sync) < 2 or str(mode).lower() != "wal":
            raise DurabilityError(f"SQLite must run WAL with synchronous=FULL (got {mode}, {sync})")

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - exercised by every test
        if conn.get_execution_options().get("sqlite_deferred", False):
            conn.exec_driver_sql("BEGIN")
            return
        dbapi_conn = conn.connection.dbapi_connection
        dbapi_conn.take_gate()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            dbapi_conn.drop_gate()
            raise

    install_read_guard(engine)
    return engine


PG_PING_AFTER_IDLE_S = 1.0
"""A pooled PostgreSQL connection is pinged before use only when it sat idle in the pool longer than
this. `pool_pre_ping` pinged on every checkout: one more round trip per transaction (~5 % of a batch
of 100 here) to guard against a server that went away in between, which for a connection returned a
moment ago is next to impossible. A failed ping (or a connection psycopg already knows is closed)
makes the pool replace the connection, as pre-ping did."""


def _postgres_engine(url: str, pool_size: int) -> Engine:
    engine = _sa_create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"options": "-c synchronous_commit=on -c timezone=UTC"},
    )

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record):  # pragma: no cover - exercised by every PG test
        record.info["cunguan_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record, _proxy):  # pragma: no cover - exercised by every PG test
        if dbapi_conn.closed:
            raise DisconnectionError("connection closed")
        idle_since = record.info.get("cunguan_idle_since")
        if idle_since is not None and time.monotonic() - idle_since <= PG_PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # noqa: BLE001 - any failure means: use another connection
            raise DisconnectionError(f"ping failed: {exc}") from exc

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every PG test
        with dbapi_conn.cursor() as cur:
            cur.execute("SHOW synchronous_commit")
            (sync,) = cur.fetchone()
            cur.execute("SHOW fsync")
            (fsync,) = cur.fetchone()
        dbapi_conn.commit()
        if sync not in ("on", "remote_write", "remote_apply") or fsync != "on":
            raise DurabilityError(f"PostgreSQL must run synchronous_commit=on, fsync=on (got {sync}, {fsync})")

    install_read_guard(engine)
    return engine
