"""Console e2e fixtures: the real app on a real uvicorn server on 127.0.0.1 (own fixture, own fresh
database), headless Debian Chromium driven by Playwright (sync API), one operator per role, and
builders for what the pages act on (an enterprise waiting for review, a person, a failed notification)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.sync_api import Browser, Page

from cunguan.api.app import create_app
from cunguan.clock import UTC, FixedClock
from cunguan.console import operators
from cunguan.custody import enterprise, passwords, platforms, users
from cunguan.custody.card_verifier import SimulatedCardBank
from cunguan.custody.sample_identities import make_card, make_prc_id, make_uscc
from cunguan.db.tx import run_in_transaction
from cunguan.notify import delivery, outbox

PASSWORD = "console-pass-1"
P1 = "6000000001"


@pytest.fixture(autouse=True)
def fast_hashers(monkeypatch):
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(operators, "HASHER", cheap)
    monkeypatch.setattr(passwords, "HASHER", cheap)


@pytest.fixture(scope="session")
def console_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass
class ConsoleServer:
    url: str
    engine: object
    clock: FixedClock

    def platform(self, key_pem: bytes, platform_no: str = P1) -> str:
        run_in_transaction(self.engine, lambda conn: platforms.create_platform(
            conn, 1, platform_no=platform_no, name="懒猫金服", notify_url="http://127.0.0.1:9/notify",
            public_key_pem=key_pem))
        return platform_no

    def enterprise(self, user_no: str) -> enterprise.EnterpriseRegisterRequest:
        req = enterprise.EnterpriseRegisterRequest(
            request_no=f"EREG-{user_no}", platform_user_no=user_no, enterprise_name="懒猫科技有限公司",
            bank_license="J1000012345601", legal="李四", id_card_type="PRC_ID",
            legal_id_card_no=make_prc_id(dt.date(1980, 5, 6), seq=7), contact="王五", contact_phone="010-88886666",
            user_role="BORROWERS", bankcard_no="110060149018000012345", bankcode="COMM", password="abc12345",
            unified_code=make_uscc())
        run_in_transaction(self.engine, lambda conn: enterprise.enterprise_register(conn, self.clock, P1, req))
        return req

    def person(self, user_no: str, seq: int = 1) -> users.PersonalRegisterRequest:
        bank = SimulatedCardBank()
        id_no, card, mobile = make_prc_id(dt.date(1990, 1, 1), seq=seq), make_card(serial=seq), f"138{seq:08d}"
        bank.add_card(card, real_name="张三", id_card_no=id_no, mobile=mobile)
        req = users.PersonalRegisterRequest(
            request_no=f"REG-{user_no}", platform_user_no=user_no, user_role="INVESTOR", real_name="张三",
            id_card_no=id_no, bankcard_no=card, mobile=mobile, password="abc12345", check_type="LIMIT",
            user_limit_type="ID_CARD_NO_UNIQUE")
        run_in_transaction(self.engine, lambda conn: users.personal_register(conn, self.clock, P1, req,
                                                                             verifier=bank))
        return req

    def failed_notification(self) -> int:
        nid = run_in_transaction(self.engine, lambda conn: outbox.enqueue(
            conn, platform_no=P1, service_name="RECHARGE", notify_url="http://127.0.0.1:9/notify",
            resp_data={"requestNo": "R-1", "status": "SUCCESS"}, key_serial="1", clock=self.clock, biz_ref="R-1"))
        late = FixedClock(self.clock.now() + dt.timedelta(hours=25))
        claimed = delivery.claim_one(self.engine, late)
        assert claimed is not None and claimed.id == nid
        assert delivery.attempt(self.engine, _Refusing(), claimed, late) == "FAILED"
        return nid


class _Refusing:
    def send(self, claimed):
        return delivery.SendResult(delivered=False, http_status=503, excerpt="maintenance")


@pytest.fixture
def console_server(engine, serve_app) -> Iterator[ConsoleServer]:
    clock = FixedClock(dt.datetime(2026, 11, 23, 4, 0, tzinfo=UTC))
    run_in_transaction(engine, lambda conn: [
        operators.create_operator(conn, clock, username=role, password=PASSWORD, role=role)
        for role in ("operator", "reviewer", "admin")])
    app = create_app(engine)
    app.state.clock = clock
    for worker in ("notify", "money", "async", "fee"):  # the tests drive notifications themselves
        setattr(app.state, f"{worker}_worker", False)
    with serve_app(app) as url:
        app.state.base_url = url
        yield ConsoleServer(url, engine, clock)


@pytest.fixture
def console_page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


def login(page: Page, server: ConsoleServer, username: str) -> None:
    page.goto(f"{server.url}/console/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/console/")
