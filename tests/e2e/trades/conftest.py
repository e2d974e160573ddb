"""Trade-core e2e fixtures: the live server and a real LanmaoClient (tests/e2e/conftest.py), a tiny
platform site for page CALLBACK / NOTIFY, users registered through the business layer (with a trade
password and authorizations), and test-only funding from the platform's custody cash account."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from custody_world import PLATFORM_NO, World  # tests/support

from cunguan.client.platform_site import PlatformSite


@pytest.fixture(autouse=True)
def _cheap_argon2(fast_hasher):
    """Cheap argon2 parameters (tests/e2e/conftest.py)."""


@pytest.fixture
def site() -> Iterator[PlatformSite]:
    s = PlatformSite("trades-site")
    yield s
    s.close()


@pytest.fixture
def client(make_lanmao_platform, site):
    return make_lanmao_platform(PLATFORM_NO, notify_url=f"{site.url}/notify")


@pytest.fixture
def world(engine, bank) -> World:
    return World(engine, bank)
