"""Start-up wiring of the user services: the card verifier setting and the delivery worker switch."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from cunguan.api import background
from cunguan.api.app import create_app
from cunguan.api.lanmao import user_handlers
from cunguan.custody import card_verifier
from cunguan.custody.card_verifier import SimulatedCardBank


def _notify_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("cunguan-notify-") and t.is_alive())


def test_verifier_setting():
    assert user_handlers.verifier_from_env({}).auto_enrol is True
    assert user_handlers.verifier_from_env({"CUNGUAN_CARD_VERIFIER": "simulator-strict"}).auto_enrol is False
    assert user_handlers.verifier_from_env({"CUNGUAN_CARD_VERIFIER": "none"}) is None
    with pytest.raises(ValueError, match="CUNGUAN_CARD_VERIFIER"):
        user_handlers.verifier_from_env({"CUNGUAN_CARD_VERIFIER": "real-bank"})


def test_configured_verifier_is_kept(engine):
    previous = card_verifier.configured()
    mine = SimulatedCardBank()
    card_verifier.configure(mine)
    try:
        create_app(engine)
        assert card_verifier.configured() is mine
        card_verifier.configure(None)
        create_app(engine)
        assert isinstance(card_verifier.configured(), SimulatedCardBank)
        assert card_verifier.configured() is not mine
    finally:
        card_verifier.configure(previous)


def test_worker_runs_with_the_app_unless_disabled(engine, monkeypatch):
    before = _notify_threads()
    app = create_app(engine)
    with TestClient(app):
        assert _notify_threads() == before + 2
    assert _notify_threads() == before
    app = create_app(engine)
    app.state.notify_worker = False
    with TestClient(app):
        assert _notify_threads() == before
    monkeypatch.setenv("CUNGUAN_NOTIFY_WORKER", "off")
    with TestClient(create_app(engine)):
        assert _notify_threads() == before
    with pytest.raises(ValueError, match="CUNGUAN_NOTIFY_WORKER"):
        background.worker_enabled(create_app(engine), {"CUNGUAN_NOTIFY_WORKER": "maybe"}, "notify")
