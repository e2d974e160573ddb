"""Check-file integration fixtures: a `CustodyDay` (checkfiles_builder.py) on the test database, with
postings stamped by the test clock, the first invariant and the ledger audit checked after each test."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from cunguan.db import ledger_audit


def load_builder():
    name = "cunguan_tests_checkfiles_builder"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("checkfiles_builder.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


builder = load_builder()


@pytest.fixture
def day_env(engine, monkeypatch):
    builder.cheap_hashers(monkeypatch)
    env = builder.CustodyDay(engine)
    builder.stamp_postings_with(monkeypatch, env.clock)
    yield env
    assert ledger_audit.audit(engine) == []
