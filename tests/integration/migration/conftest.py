"""Shared set-up of the migration integration tests: a fixed clock (2026-11-23, Beijing noon), the
platform 6000000001 with its custody and system accounts, a copy of samples/migration, a strict
simulated card bank (helpers in migration_support.py)."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # migration_support.py is imported by plain name (tests, crash subprocess)
    sys.path.insert(0, str(HERE))

from migration_support import P1, SAMPLES  # noqa: E402

from cunguan.client import signing  # noqa: E402
from cunguan.clock import UTC, FixedClock  # noqa: E402
from cunguan.custody import passwords, platforms  # noqa: E402
from cunguan.custody.card_verifier import SimulatedCardBank  # noqa: E402
from cunguan.db.tx import run_in_transaction  # noqa: E402


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch):
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def platform_pem() -> str:
    return signing.public_key_pem(signing.generate_private_key())


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2026, 11, 23, 4, 0, tzinfo=UTC))


@pytest.fixture
def platform(engine, platform_pem) -> str:
    run_in_transaction(engine, lambda conn: platforms.create_platform(
        conn, 1, platform_no=P1, name="存量平台", notify_url="http://127.0.0.1:9/notify", public_key_pem=platform_pem))
    return P1


@pytest.fixture
def sample_dir(tmp_path) -> Path:
    target = tmp_path / "migration"
    shutil.copytree(SAMPLES, target)
    return target


@pytest.fixture
def bank() -> SimulatedCardBank:
    return SimulatedCardBank()


