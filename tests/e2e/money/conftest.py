"""Money e2e fixtures: the real app on uvicorn with its money worker running (simulated payment
companies and payout channel), the app and the platform client on one fixed clock that tests move,
a tiny platform site receiving CALLBACKs (/return) and NOTIFYs (/notify), users registered through
the custody user service."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
from collections.abc import Iterator

import pytest

from cunguan.client.platform_site import PlatformSite
from cunguan.clock import BEIJING, FixedClock
from cunguan.custody import users
from cunguan.custody.sample_identities import make_card, make_prc_id
from cunguan.db import ledger_audit
from cunguan.db.tx import run_in_transaction

PLATFORM_NO = "6000000001"
PASSWORD = "abc12345"
START = dt.datetime(2026, 11, 23, 12, 0, tzinfo=BEIJING)  # Monday, a working day


@pytest.fixture(autouse=True)
def _cheap_argon2(fast_hasher):
    """Cheap argon2 (tests/e2e/conftest.py): these tests exercise flows, not the hash cost."""


class Site(PlatformSite):
    def wait_notify(self, service: str, match, timeout_s: float = 15.0) -> dict:  # type: ignore[override]
        """The respData of the first NOTIFY of `service` for which `match(respData)` holds."""
        return json.loads(self.wait(service, match, timeout_s)["respData"])


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site("money-site")
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


class Seeder:
    def __init__(self, engine, bank, clock) -> None:
        self.engine, self.bank, self.clock = engine, bank, clock
        self.seq = itertools.count(1)

    def user(self, user_no: str, *, auth_list: str | None = None) -> str:
        n = next(self.seq)
        name, id_no, mobile = "孙七", make_prc_id(dt.date(1986, 6, 7), seq=400 + n), f"137{n:08d}"
        card = make_card(serial=8000 + n)
        self.bank.add_card(card, real_name=name, id_card_no=id_no, mobile=mobile)
        req = users.PersonalRegisterRequest(
            request_no=f"SEED-{user_no}", platform_user_no=user_no, user_role="INVESTOR", real_name=name,
            id_card_no=id_no, bankcard_no=card, mobile=mobile, password=PASSWORD, auth_list=auth_list,
            fail_time="20291231" if auth_list else None)
        run_in_transaction(self.engine, lambda c: users.personal_register(c, self.clock, PLATFORM_NO, req,
                                                                          verifier=self.bank))
        return user_no


@pytest.fixture
def seed(engine, bank, clock) -> Seeder:
    return Seeder(engine, bank, clock)


def wait_for(condition, timeout_s: float = 15.0, what: str = "condition"):
    """Poll an asynchronous outcome (the server's money worker runs in its own thread)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached within {timeout_s} s"
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def _audit_clean(engine):
    yield
    assert ledger_audit.audit(engine) == []
