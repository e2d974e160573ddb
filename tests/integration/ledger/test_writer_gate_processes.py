"""SQLite's writer gate across processes (`db.engine.WriterGate`: a thread lock, then `flock` on the
lock file): a writer in another process makes ours wait for it — without meeting SQLite's busy
handler — and a process that dies holding the gate lets it go; the holder sees who queues behind it
(`waiting`), unless they are background writers. Always on a SQLite file of its own (the gate exists
only for SQLite)."""

from __future__ import annotations

import multiprocessing
import os
import threading
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


def _database(tmp_path):
    """(url, engine, a spawn context, its pipe's ends) for a table `t` in a SQLite file of the test's."""
    url = f"sqlite:///{tmp_path / 'gate.sqlite3'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, who TEXT)"))
    context = multiprocessing.get_context("spawn")
    return url, engine, context, *context.Pipe(duplex=False)


def _run(tmp_path, *, die: bool) -> tuple[float, list[str]]:
    url, engine, context, receive, send = _database(tmp_path)
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


# ---------------------------------------------------------------- who waits (`WriterGate.waiting`)


def _queue_for_gate(url: str, conn_send, background: bool) -> None:
    from cunguan.db.engine import background_writers

    if background:
        background_writers()
    engine = create_engine(url)
    conn_send.send("queuing")
    with engine.begin() as conn:  # waits for the parent's gate
        conn.execute(sa.text("INSERT INTO t (who) VALUES ('child')"))
    conn_send.send("written")


def _write_once(engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT 1")


def _seen_waiting(gate, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while not gate.waiting():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _waiting_seen(tmp_path, *, background: bool) -> tuple[bool, bool, bool]:
    """(waiting before the child queued, while it queued, after it wrote), the parent holding the gate."""
    url, engine, context, receive, send = _database(tmp_path)
    gate = _writer_gate(str(tmp_path / "gate.sqlite3"))
    holder = engine.connect()
    holder.begin()  # BEGIN IMMEDIATE: this process holds the gate
    child = context.Process(target=_queue_for_gate, args=(url, send, background))
    try:
        before = gate.waiting()
        child.start()
        assert receive.poll(60) and receive.recv() == "queuing"
        during = _seen_waiting(gate, 1.0 if background else 10.0)  # a child that announces does so at once
        holder.commit()
        holder.close()
        assert receive.poll(60) and receive.recv() == "written"
        after = gate.waiting()
    finally:
        child.join(30)
    engine.dispose()
    return before, during, after


def test_a_writer_queued_in_another_process_is_seen_waiting(tmp_path):
    assert _waiting_seen(tmp_path, background=False) == (False, True, False)


def test_background_writers_queue_without_being_seen(tmp_path):
    assert _waiting_seen(tmp_path, background=True) == (False, False, False)


def test_a_thread_of_this_process_queued_is_seen_waiting(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'gate.sqlite3'}")
    gate = _writer_gate(str(tmp_path / "gate.sqlite3"))
    holder = engine.connect()
    holder.begin()
    queued = threading.Thread(target=_write_once, args=(engine,))
    assert gate.waiting() is False
    queued.start()
    assert _seen_waiting(gate, 10.0)
    holder.commit()
    holder.close()
    queued.join(10)
    assert gate.waiting() is False
    engine.dispose()
