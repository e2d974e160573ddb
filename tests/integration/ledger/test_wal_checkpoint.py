"""SQLite's WAL checkpoints off the writers' path (`db/wal_checkpoint`): connections leave the log to the
job up to a bound, the job's PASSIVE checkpoint copies the log into the database file while a writer
holds the write lock, and the app runs the job for its lifespan. PostgreSQL has no job."""

from __future__ import annotations

import os
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from cunguan.api.app import create_app
from cunguan.db import wal_checkpoint

pytestmark = pytest.mark.db

_ROWS = 3_000


def _write(engine, first: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO custody_requests (platform_no, request_no, service_name, outcome, created_us) "
                          "VALUES ('6000000001', :n, 'ASYNC_TRANSACTION', :o, 0)"),
                     [{"n": f"R{first + i:08d}", "o": "x" * 1000} for i in range(_ROWS)])


def _file_size(engine) -> int:
    return os.path.getsize(engine.url.database)


def test_connections_leave_the_log_to_the_job_up_to_the_bound(engine, db_kind):
    if db_kind != "sqlite":
        assert wal_checkpoint.checkpoint(engine) is None and wal_checkpoint.start_background(engine) is None
        return
    with engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
    assert pages == wal_checkpoint.AUTOCHECKPOINT_PAGES
    before = _file_size(engine)
    for first in (0, _ROWS):  # past SQLite's default bound of 1,000 pages
        _write(engine, first)
    assert _file_size(engine) == before, "a commit checkpointed the log itself"


def test_a_passive_checkpoint_runs_while_a_writer_holds_the_lock(engine, db_kind):
    _write(engine, 0)
    results: list[wal_checkpoint.Checkpoint | None] = []
    with engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE, the write lock and this process's writer gate
        conn.execute(text("UPDATE custody_requests SET outcome = 'y' WHERE request_no = 'R00000001'"))
        worker = threading.Thread(target=lambda: results.append(wal_checkpoint.checkpoint(engine)))
        worker.start()
        worker.join(10)
        assert not worker.is_alive(), "the checkpoint waited for the writer"
    (done,) = results
    if db_kind != "sqlite":
        assert done is None
        return
    assert done is not None and not done.busy
    assert done.log_frames > 0 and done.checkpointed == done.log_frames


def _job_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "cunguan-wal-checkpoint"]


def test_the_app_checkpoints_in_the_background_on_sqlite(engine, db_kind):
    app = create_app(engine)
    for name in ("notify", "money", "async", "fee", "stats"):
        setattr(app.state, f"{name}_worker", False)
    with TestClient(app):
        if db_kind != "sqlite":
            assert _job_threads() == []
            return
        assert len(_job_threads()) == 1
        before = _file_size(engine)
        _write(engine, 0)
        deadline = time.monotonic() + 10
        while _file_size(engine) == before:  # only a checkpoint writes pages into the database file
            assert time.monotonic() < deadline, "no checkpoint within 10 s"
            time.sleep(0.05)
    assert _job_threads() == []


def test_the_job_checkpoints_once_per_interval(engine, db_kind, monkeypatch):
    calls: list[float] = []
    real = wal_checkpoint.checkpoint
    monkeypatch.setattr(wal_checkpoint, "checkpoint", lambda e: calls.append(time.monotonic()) or real(e))
    stop = wal_checkpoint.start_background(engine, interval_s=0.2)
    if db_kind != "sqlite":
        assert stop is None and calls == []
        return
    time.sleep(0.7)
    stop()
    assert 2 <= len(calls) <= 5, f"{len(calls)} checkpoints in 0.7 s at one per 0.2 s"
