"""Check-file integration fixtures: a `CustodyDay` (checkfiles_builder.py) on the test database, with
postings stamped by the test clock, the first invariant and the ledger audit checked after each test."""

from __future__ import annotations

import checkfiles_builder as builder  # tests/support (pytest `pythonpath`)
import pytest

from cunguan.db import ledger_audit


@pytest.fixture
def day_env(engine, monkeypatch):
    builder.cheap_hashers(monkeypatch)
    env = builder.CustodyDay(engine)
    builder.stamp_postings_with(monkeypatch, env.clock)
    yield env
    assert ledger_audit.audit(engine) == []
