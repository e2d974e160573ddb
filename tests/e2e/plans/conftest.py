"""Plans e2e fixtures: the live server and a real LanmaoClient (tests/e2e/conftest.py); users registered
through the business layer (trade password, authorizations), funded from the platform's custody cash
account (test-only), balances read from the ledger."""

from __future__ import annotations

import pytest
from custody_world import PLATFORM_NO, World  # tests/support


@pytest.fixture(autouse=True)
def _cheap_argon2(fast_hasher):
    """Cheap argon2 parameters (tests/e2e/conftest.py)."""


@pytest.fixture
def client(make_lanmao_platform):
    return make_lanmao_platform(PLATFORM_NO)


@pytest.fixture
def world(engine, bank) -> World:
    return World(engine, bank)
