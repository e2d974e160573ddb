"""Seed-scenario fixtures (custody.md §Scenarios): the live server (tests/e2e/conftest.py) with its money
and notification workers, the app and the platform client on one fixed clock the tests move, a platform
site that receives the bank's CALLBACKs and NOTIFYs over HTTP (`site`), and `w` (scenario_kit.World):
users, funding, balances, shares, the received notifications, the closing checks.

The money worker ticks every 50 ms here (CUNGUAN_MONEY_INTERVAL_S, read when the app is built) so the
payment simulator's confirmations arrive quickly; the notification worker polls every second, so each
test waits for its notifications once, at the end, where it can."""

from __future__ import annotations

import pytest

from cunguan.client.platform_site import PlatformSite
from cunguan.clock import FixedClock

from .scenario_kit import PLATFORM_NO, START, World


@pytest.fixture(autouse=True)
def _fast_workers(monkeypatch, fast_hasher):
    monkeypatch.setenv("CUNGUAN_MONEY_INTERVAL_S", "0.05")
    monkeypatch.setenv("CUNGUAN_NOTIFY_POLL_S", "0.05")


@pytest.fixture
def site():
    s = PlatformSite("scenario-site")
    yield s
    s.close()


@pytest.fixture
def clock(live_server) -> FixedClock:
    c = FixedClock(START)
    live_server.app.state.clock = c
    return c


@pytest.fixture
def client(make_lanmao_platform, site, clock):
    c = make_lanmao_platform(PLATFORM_NO, notify_url=f"{site.url}/notify")
    c.now = clock.now
    return c


@pytest.fixture
def w(engine, bank, site, client, clock, live_server) -> World:
    world = World(engine, bank, site, client, clock, live_server)
    yield world
    world.close()
