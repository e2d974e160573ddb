"""Bank-hosted page e2e fixtures: the real app on uvicorn (`live_server`), a strict simulated card bank,
a tiny platform web site on 127.0.0.1 (serves the auto-posting gateway form, receives the browser's
CALLBACK on /return and the server NOTIFY on /notify), and headless Chromium driven by Playwright."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from cunguan.client.platform_site import PlatformSite
from cunguan.clock import BEIJING, Clock
from cunguan.custody import users
from cunguan.custody.card_verifier import SimulatedCardBank
from cunguan.custody.sample_identities import make_card, make_prc_id
from cunguan.db.tables.notify import notify_outbox
from cunguan.db.tx import run_in_transaction
from cunguan.notify import sms_gateway

PLATFORM_NO = "6000000001"
PASSWORD = "abc12345"


@pytest.fixture(autouse=True)
def _cheap_argon2(fast_hasher):
    """Cheap argon2 parameters (tests/e2e/conftest.py): these tests exercise flows, not the hash cost."""


@pytest.fixture
def site() -> Iterator[PlatformSite]:
    s = PlatformSite("user-pages-site")
    yield s
    s.close()


@pytest.fixture
def client(make_lanmao_platform, site):
    return make_lanmao_platform(PLATFORM_NO, notify_url=f"{site.url}/notify")


@pytest.fixture
def browse(chromium) -> Callable[[Callable[[Page], Any]], Any]:
    """`browse(scenario)` runs `scenario(page)` in a fresh context of the session's shared Chromium."""

    def run(scenario: Callable[[Page], Any]) -> Any:
        context = chromium.new_context(locale="zh-CN")
        try:
            page = context.new_page()
            page.set_default_timeout(10_000)
            return scenario(page)
        finally:
            context.close()

    return run


@dataclass
class Person:
    user_no: str
    name: str
    id_card_no: str
    card: str
    mobile: str


@dataclass
class Helpers:
    engine: object
    bank: SimulatedCardBank
    site: PlatformSite
    seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    def person(self, user_no: str) -> Person:
        n = next(self.seq)
        p = Person(user_no, "李四", make_prc_id(dt.date(1988, 5, 6), seq=100 + n), make_card(serial=5000 + n),
                   f"139{n:08d}")
        self.bank.add_card(p.card, real_name=p.name, id_card_no=p.id_card_no, mobile=p.mobile)
        return p

    def registered(self, user_no: str) -> Person:
        """A user registered through the business layer (the pages under test come after)."""
        p = self.person(user_no)
        req = users.PersonalRegisterRequest(
            request_no=f"SEED-{user_no}", platform_user_no=user_no, user_role="INVESTOR", real_name=p.name,
            id_card_no=p.id_card_no, bankcard_no=p.card, mobile=p.mobile, password=PASSWORD)
        run_in_transaction(self.engine, lambda c: users.personal_register(c, Clock(), PLATFORM_NO, req,
                                                                          verifier=self.bank))
        return p

    def sms_code(self, mobile: str) -> str:
        with self.engine.connect() as conn:
            code = sms_gateway.latest_code(conn, mobile)
        assert code is not None, f"no SMS to {mobile}"
        return code

    def notify_rows(self, request_no: str) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(notify_outbox).where(
                notify_outbox.c.biz_ref == request_no)).mappings()]

    @staticmethod
    def expired_in(minutes: int) -> str:
        return (dt.datetime.now(BEIJING) + dt.timedelta(minutes=minutes)).strftime("%Y%m%d%H%M%S")


@pytest.fixture
def h(engine, bank, site) -> Helpers:
    return Helpers(engine, bank, site)
