"""PostgreSQL pooled connections are pinged only after sitting idle (PG_PING_AFTER_IDLE_S), not on
every checkout: a connection whose server session died while idle is replaced, not handed out."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

import cunguan.db.engine as engine_module
from cunguan.db.tx import run_in_transaction


def pid_now(engine) -> int:
    return run_in_transaction(engine, lambda c: c.exec_driver_sql("SELECT pg_backend_pid()").scalar())


def kill_pooled(engine):
    """Return the pid of a connection now idle in the pool, its server session killed, and the still
    checked-out connection that killed it (so the next checkout must hand out the dead one)."""
    victim, killer = engine.connect(), engine.connect()
    pid = victim.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    victim.commit()
    victim.close()
    killer.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
    killer.commit()
    return pid, killer


def test_idle_connection_whose_session_died_is_replaced(engine, db_kind, monkeypatch):
    if db_kind == "sqlite":
        # No server session to lose; an invalidated pooled connection is still replaced transparently.
        with engine.connect() as c:
            c.invalidate()
        assert run_in_transaction(engine, lambda c: c.exec_driver_sql("SELECT 1").scalar()) == 1
        return
    monkeypatch.setattr(engine_module, "PG_PING_AFTER_IDLE_S", 0.0)
    pid, killer = kill_pooled(engine)
    try:
        assert pid_now(engine) != pid  # pinged, found dead, replaced: no error reached the caller
    finally:
        killer.close()


def test_recently_used_connection_is_not_pinged(engine, db_kind, monkeypatch):
    """The trade-off, made visible: within the idle window there is no ping, so a session killed in that
    window costs one failed transaction (the pool then replaces the connection)."""
    if db_kind == "sqlite":
        with engine.connect() as c:
            assert c.exec_driver_sql("SELECT 1").scalar() == 1
        return
    monkeypatch.setattr(engine_module, "PG_PING_AFTER_IDLE_S", 3600.0)
    pid, killer = kill_pooled(engine)
    try:
        with pytest.raises(DBAPIError):
            pid_now(engine)
        assert pid_now(engine) != pid
    finally:
        killer.close()
