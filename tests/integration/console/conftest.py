"""Console integration fixtures: the real app behind FastAPI's TestClient on the test database, one
operator per role, a platform key, and builders for what the console shows (an enterprise waiting for
review, a person with a PRC ID, a failed notification)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from cunguan.api.app import create_app
from cunguan.clock import UTC, FixedClock
from cunguan.console import operators
from cunguan.custody import enterprise, passwords, platforms, users
from cunguan.custody.card_verifier import SimulatedCardBank
from cunguan.custody.sample_identities import make_card, make_prc_id, make_uscc
from cunguan.db.tx import run_in_transaction
from cunguan.notify import delivery, outbox

P1 = "6000000001"
PASSWORD = "console-pass-1"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def fast_hashers(monkeypatch):
    """Cheap argon2 parameters: the tests exercise the logic, not the hash cost."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(operators, "HASHER", cheap)
    monkeypatch.setattr(passwords, "HASHER", cheap)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2026, 11, 23, 4, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def public_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture
def staff(engine, clock) -> dict[str, operators.Operator]:
    """One operator per role, username = role name."""
    def make(conn):
        return {role: operators.create_operator(conn, clock, username=role, password=PASSWORD, role=role)
                for role in ("operator", "reviewer", "admin")}
    return run_in_transaction(engine, make)


class Console:
    """A TestClient with helpers for login and CSRF tokens."""

    def __init__(self, app) -> None:
        self.client = TestClient(app, follow_redirects=False)

    def login(self, username: str, password: str = PASSWORD):
        page = self.client.get("/console/login")
        token = CSRF_RE.search(page.text).group(1)
        return self.client.post("/console/login", data={"username": username, "password": password,
                                                        "csrf_token": token})

    def csrf(self, path: str = "/console/") -> str:
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        return CSRF_RE.search(page.text).group(1)

    def get(self, path: str, **kw):
        return self.client.get(path, **kw)

    def post(self, path: str, **kw):
        return self.client.post(path, **kw)


@pytest.fixture
def app(engine, clock):
    application = create_app(engine)
    application.state.clock = clock
    return application


@pytest.fixture
def console(app) -> Console:
    return Console(app)


@pytest.fixture
def as_role(app, staff):
    """`as_role("reviewer")` -> a Console logged in with that role."""
    def login(role: str) -> Console:
        c = Console(app)
        resp = c.login(role)
        assert resp.status_code == 303, resp.text
        return c
    return login


@pytest.fixture
def platform(engine, public_key_pem) -> str:
    run_in_transaction(engine, lambda conn: platforms.create_platform(
        conn, 1, platform_no=P1, name="懒猫金服", notify_url="http://127.0.0.1:9/notify",
        public_key_pem=public_key_pem))
    return P1


def register_enterprise(engine, clock, user_no: str, platform_no: str = P1) -> enterprise.EnterpriseRegisterRequest:
    req = enterprise.EnterpriseRegisterRequest(
        request_no=f"EREG-{user_no}", platform_user_no=user_no, enterprise_name="懒猫科技有限公司",
        bank_license="J1000012345601", legal="李四", id_card_type="PRC_ID",
        legal_id_card_no=make_prc_id(dt.date(1980, 5, 6), seq=7), contact="王五", contact_phone="010-88886666",
        user_role="BORROWERS", bankcard_no="110060149018000012345", bankcode="COMM", password="abc12345",
        unified_code=make_uscc())
    run_in_transaction(engine, lambda conn: enterprise.enterprise_register(conn, clock, platform_no, req))
    return req


def register_person(engine, clock, user_no: str, seq: int = 1, platform_no: str = P1) -> users.PersonalRegisterRequest:
    bank = SimulatedCardBank()
    id_no, card, mobile = make_prc_id(dt.date(1990, 1, 1), seq=seq), make_card(serial=seq), f"138{seq:08d}"
    bank.add_card(card, real_name="张三", id_card_no=id_no, mobile=mobile)
    req = users.PersonalRegisterRequest(
        request_no=f"REG-{user_no}", platform_user_no=user_no, user_role="INVESTOR", real_name="张三",
        id_card_no=id_no, bankcard_no=card, mobile=mobile, password="abc12345", check_type="LIMIT",
        user_limit_type="ID_CARD_NO_UNIQUE")
    run_in_transaction(engine, lambda conn: users.personal_register(conn, clock, platform_no, req, verifier=bank))
    return req


class _Refusing:
    def send(self, claimed):
        return delivery.SendResult(delivered=False, http_status=500, excerpt="platform down")


def failed_notification(engine, clock, platform_no: str = P1) -> int:
    """A notification whose one attempt failed after its delivery window: status FAILED."""
    nid = run_in_transaction(engine, lambda conn: outbox.enqueue(
        conn, platform_no=platform_no, service_name="RECHARGE", notify_url="http://127.0.0.1:9/notify",
        resp_data={"requestNo": "R-1", "status": "SUCCESS"}, key_serial="1", clock=clock, biz_ref="R-1"))
    late = FixedClock(clock.now() + dt.timedelta(hours=25))
    claimed = delivery.claim_one(engine, late)
    assert claimed is not None and claimed.id == nid
    assert delivery.attempt(engine, _Refusing(), claimed, late) == "FAILED"
    return nid
