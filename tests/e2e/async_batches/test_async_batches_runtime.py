"""The runner's start-up wiring: it runs with the app (one thread by default) unless switched off."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from cunguan.api.app import create_app


def _runner_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("cunguan-async-") and t.is_alive())


def test_runner_runs_with_the_app_unless_disabled(engine, monkeypatch):
    before = _runner_threads()
    with TestClient(create_app(engine)):
        assert _runner_threads() == before + 1
    assert _runner_threads() == before
    monkeypatch.setenv("CUNGUAN_ASYNC_THREADS", "3")
    with TestClient(create_app(engine)):
        assert _runner_threads() == before + 3
    assert _runner_threads() == before
    app = create_app(engine)
    app.state.async_worker = False
    with TestClient(app):
        assert _runner_threads() == before
    monkeypatch.setenv("CUNGUAN_ASYNC_WORKER", "off")
    with TestClient(create_app(engine)):
        assert _runner_threads() == before
