"""SQLite's writer gate across processes (`db.engine.WriterGate`: a thread lock, then `flock` on the
lock file): a writer in another process makes ours wait for it — without meeting SQLite's busy
handler — and a process that dies holding the gate lets it go. Always on a SQLite file of its own
(the gate exists only for SQLite)."""

from __future__ import annotations

import multiprocessing
import os
import time

import sqlalchemy as sa

from cunguan.db.engine import _writer_gate, create_engine

HOLD_S = 0.6


def _hold_gate(url: str, conn_send, die: bool) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:  # BEGIN IMMEDIATE: the gate, then SQLite's write lock
        conn.execute(sa.text("INSERT INTO t (who) VALUES ('child')"))
        conn_send.send("held")
        time.sleep(HOLD_S)
        if die:
            os._exit(1)  # no commit, no unlock: the kernel drops the flock with the process


def _run(tmp_path, *, die: bool) -> tuple[float, list[str]]:
    url = f"sqlite:///{tmp_path / 'gate.sqlite3'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, who TEXT)"))
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_hold_gate, args=(url, send, die))
    child.start()
    try:
        assert receive.poll(60) and receive.recv() == "held"
        gate = _writer_gate(str(tmp_path / "gate.sqlite3"))
        started = time.monotonic()
        assert gate.acquire(30)  # without the file lock this returned at once (another process holds it)
        waited = time.monotonic() - started
        gate.release()
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO t (who) VALUES ('parent')"))
    finally:
        child.join(30)
    with engine.connect() as conn:
        order = list(conn.execute(sa.text("SELECT who FROM t ORDER BY id")).scalars())
    engine.dispose()
    return waited, order


def test_a_writer_in_another_process_is_waited_for(tmp_path):
    waited, order = _run(tmp_path, die=False)
    assert waited >= HOLD_S * 0.8, waited  # it waited for the child's commit ...
    assert waited < HOLD_S + 2.0, waited  # ... and took the gate as soon as the child let go
    assert order == ["child", "parent"]


def test_a_process_dying_with_the_gate_releases_it(tmp_path):
    waited, order = _run(tmp_path, die=True)
    assert HOLD_S * 0.8 <= waited < HOLD_S + 2.0, waited
    assert order == ["parent"]  # the dead writer's insert never committed
