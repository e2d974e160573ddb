"""Reconciliation integration fixtures: the check-file tests' `CustodyDay` builder (loaded from
tests/support/checkfiles_builder.py), console operators for the four-eyes adjustments,
and the ledger audit after each test."""

from __future__ import annotations

import checkfiles_builder as builder  # tests/support (pytest `pythonpath`)
import pytest
from argon2 import PasswordHasher

from cunguan.console import operators
from cunguan.db import ledger_audit
from cunguan.db.tx import run_in_transaction


@pytest.fixture
def day_env(engine, monkeypatch):
    builder.cheap_hashers(monkeypatch)
    env = builder.CustodyDay(engine)
    builder.stamp_postings_with(monkeypatch, env.clock)
    yield env
    assert ledger_audit.audit(engine) == []


@pytest.fixture
def staff(engine, day_env, monkeypatch):
    """One operator per console role plus a second reviewer: {username: Operator}."""
    monkeypatch.setattr(operators, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    made = run_in_transaction(engine, lambda conn: [
        operators.create_operator(conn, day_env.clock, username=name, password="reconcile-pass-1", role=role)
        for name, role in (("viewer", "operator"), ("rev-a", "reviewer"), ("rev-b", "reviewer"), ("boss", "admin"))])
    return {op.username: op for op in made}
