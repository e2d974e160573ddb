"""Shared set-up of the custody-user integration tests: a fixed clock, a simulated card bank, and a
`svc` helper that runs a service in one transaction and registers people with valid data."""

from __future__ import annotations

import datetime as dt
import inspect
import itertools
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from cunguan.clock import UTC, FixedClock
from cunguan.custody import enterprise, passwords, users
from cunguan.custody.card_verifier import SimulatedCardBank
from cunguan.custody.sample_identities import make_card, make_prc_id, make_uscc
from cunguan.db.tables import custody_users as tables
from cunguan.db.tables.ledger import accounts
from cunguan.db.tx import run_in_transaction

P1 = "6000000001"
P2 = "6000000002"
PASSWORD = "abc12345"


@dataclass(frozen=True)
class Person:
    user_no: str
    name: str
    id_card_no: str
    card: str
    mobile: str


@pytest.fixture(autouse=True)
def fast_hasher(monkeypatch):
    """Cheap argon2 parameters: the tests exercise the logic, not the hash cost."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2026, 11, 23, 4, 0, tzinfo=UTC))  # 12:00 in Beijing


@pytest.fixture
def bank() -> SimulatedCardBank:
    return SimulatedCardBank()


class Svc:
    def __init__(self, engine, clock, bank) -> None:
        self.engine, self.clock, self.bank = engine, clock, bank
        self._seq = itertools.count(1)

    def __call__(self, fn, req, platform_no: str = P1, **kw):
        if "verifier" in inspect.signature(fn).parameters:
            kw.setdefault("verifier", self.bank)
        return run_in_transaction(self.engine, lambda c: fn(c, self.clock, platform_no, req, **kw))

    def read(self, work):
        with self.engine.connect() as conn:
            return work(conn)

    def new_person(self, user_no: str, *, born: dt.date = dt.date(1990, 1, 1), bin_prefix: str = "622202",
                   on_bank: bool = True) -> Person:
        n = next(self._seq)
        person = Person(user_no, "张三" + "丰" * (n % 3), make_prc_id(born, seq=n), make_card(bin_prefix, serial=n),
                        f"138{n:08d}")
        if on_bank:
            self.bank.add_card(person.card, real_name=person.name, id_card_no=person.id_card_no, mobile=person.mobile)
        return person

    def register_request(self, person: Person, *, request_no: str | None = None, role: str = "INVESTOR",
                         **overrides) -> users.PersonalRegisterRequest:
        fields = dict(request_no=f"REG-{person.user_no}" if request_no is None else request_no, platform_user_no=person.user_no,
                      user_role=role, real_name=person.name, id_card_no=person.id_card_no,
                      bankcard_no=person.card, mobile=person.mobile, password=PASSWORD,
                      check_type="LIMIT", user_limit_type="ID_CARD_NO_UNIQUE")
        fields.update(overrides)
        return users.PersonalRegisterRequest(**fields)

    def register(self, user_no: str, *, platform_no: str = P1, role: str = "INVESTOR", **overrides):
        person = self.new_person(user_no)
        result = self(users.personal_register, self.register_request(person, role=role, **overrides),
                      platform_no=platform_no)
        return person, result

    def enterprise_request(self, user_no: str, **overrides) -> enterprise.EnterpriseRegisterRequest:
        n = next(self._seq)
        fields = dict(request_no=f"EREG-{user_no}", platform_user_no=user_no, enterprise_name="懒猫科技有限公司",
                      bank_license="J1000012345601", legal="李四", id_card_type="PRC_ID",
                      legal_id_card_no=make_prc_id(dt.date(1980, 5, 6), seq=n), contact="王五",
                      contact_phone="010-88886666", user_role="BORROWERS", bankcard_no="110060149018000012345",
                      bankcode="COMM", password=PASSWORD, unified_code=make_uscc())
        fields.update(overrides)
        return enterprise.EnterpriseRegisterRequest(**fields)

    def snapshot(self) -> dict[str, int]:
        """Row counts of every custody-user table and of the ledger accounts."""
        def count(conn):
            out = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                   for t in tables.metadata.sorted_tables if t.name.startswith("custody_")
                   and t.name in {x.name for x in _MY_TABLES}}
            out["accounts"] = conn.execute(select(func.count()).select_from(accounts)).scalar_one()
            return out
        return self.read(count)


_MY_TABLES = (tables.custody_users, tables.custody_enterprises, tables.custody_user_reviews,
              tables.custody_card_changes, tables.custody_passwords, tables.custody_authorizations,
              tables.custody_entrust_pay, tables.custody_requests)


@pytest.fixture(scope="session")
def platform_key_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture
def svc(engine, clock, bank) -> Svc:
    return Svc(engine, clock, bank)


@pytest.fixture
def platforms_on(svc, platform_key_pem):
    """Create platforms P1 and P2 (platforms room) for tests that need their notify URLs."""
    from cunguan.custody import platforms

    def create(conn):
        for no in (P1, P2):
            platforms.create_platform(conn, 1, platform_no=no, name=f"平台{no}",
                                      notify_url=f"http://127.0.0.1:9/notify/{no}", public_key_pem=platform_key_pem)

    run_in_transaction(svc.engine, create)


@pytest.fixture
def assert_nothing_written(svc):
    """Use as: `with assert_nothing_written(): ...` around a call that must be refused."""
    import contextlib

    @contextlib.contextmanager
    def guard():
        before = svc.snapshot()
        yield
        assert svc.snapshot() == before

    return guard
