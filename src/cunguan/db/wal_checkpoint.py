"""SQLite: the WAL checkpoints taken off the writers' path.

SQLite's default has the commit that takes the write-ahead log past 1,000 pages checkpoint it on the
spot: copy those pages into the database file and fsync it, inside that commit, while its writer still
holds the write lock (and our writer gate, `db.engine`). Under the ASYNC runner's load that was every
few chunks, and every acceptance or SYNC request queued behind the writer waited for it too.

So the server's supervisor runs this job (`start_background`): every `INTERVAL_S` a PASSIVE checkpoint
from a connection of its own. PASSIVE takes no write lock — writers go on committing meanwhile — and
copies what no reader still needs; the first write after a complete checkpoint starts the log again
from its beginning, so the file stays the size of a few seconds of writes. Every connection still
checkpoints by itself past `AUTOCHECKPOINT_PAGES` (`db.engine` sets it): the bound for a process that
runs no job (a CLI command, a test) or a job that falls behind. PostgreSQL checkpoints on its own.

Measured (`cunguan bench async --details 100000`, SQLite, two A/B pairs): acceptances answered faster —
p50 375-379 ms, was 421-500; the accept stage 9.7-9.8 s, was 10.9-11.7 — and throughput unchanged
within noise: the runner's own commits were not slowed much by their checkpoints.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from sqlalchemy.engine import Engine

from cunguan import periodic

log = logging.getLogger("cunguan.db.wal_checkpoint")

INTERVAL_S = 0.5
AUTOCHECKPOINT_PAGES = 16_000
"""64 MiB of 4 KiB pages: well above what the writers add between two of the job's checkpoints."""


class Checkpoint(NamedTuple):
    """What `PRAGMA wal_checkpoint` reports: the log's frames and how many are now in the database."""

    busy: bool
    log_frames: int
    checkpointed: int


def checkpoint(engine: Engine) -> Checkpoint | None:
    """One PASSIVE checkpoint (None on PostgreSQL). On the DB-API connection directly: through
    SQLAlchemy the statement would begin a transaction, and ours begin IMMEDIATE (the write lock)."""
    if engine.dialect.name != "sqlite":
        return None
    raw = engine.raw_connection()
    try:
        busy, frames, done = raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        raw.close()
    return Checkpoint(bool(busy), int(frames), int(done))


def start_background(engine: Engine, *, interval_s: float = INTERVAL_S) -> periodic.Stop | None:
    """The job on SQLite (None on PostgreSQL: nothing to do)."""
    if engine.dialect.name != "sqlite":
        return None

    def tick() -> None:  # nothing truthy: `periodic.every` would call a truthy tick again at once
        checkpoint(engine)

    return periodic.every(interval_s, tick, name="cunguan-wal-checkpoint", log=log)
