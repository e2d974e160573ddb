"""Direct user-service e2e fixtures: a strict simulated card bank, cheap argon2, and users registered
through the business layer (the direct services under test come after)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from cunguan.clock import Clock
from cunguan.custody import users
from cunguan.custody.card_verifier import SimulatedCardBank
from cunguan.custody.sample_identities import make_card, make_prc_id
from cunguan.db.tx import run_in_transaction

PLATFORM_NO = "6000000001"
PASSWORD = "abc12345"


@pytest.fixture(autouse=True)
def _cheap_argon2(fast_hasher):
    """Cheap argon2 parameters (tests/e2e/conftest.py): these tests exercise flows, not the hash cost."""


class Seeder:
    def __init__(self, engine, bank: SimulatedCardBank) -> None:
        self.engine, self.bank = engine, bank
        self.seq = itertools.count(1)

    def card(self, name: str, id_card_no: str, mobile: str) -> str:
        card = make_card(serial=9000 + next(self.seq))
        self.bank.add_card(card, real_name=name, id_card_no=id_card_no, mobile=mobile)
        return card

    def register(self, user_no: str, *, role: str = "INVESTOR", auth_list: str | None = None,
                 platform_no: str = PLATFORM_NO) -> users.PersonalRegisterRequest:
        n = next(self.seq)
        name, id_no, mobile = "王五", make_prc_id(dt.date(1985, 3, 4), seq=200 + n), f"136{n:08d}"
        req = users.PersonalRegisterRequest(
            request_no=f"SEED-{user_no}", platform_user_no=user_no, user_role=role, real_name=name,
            id_card_no=id_no, bankcard_no=self.card(name, id_no, mobile), mobile=mobile, password=PASSWORD,
            auth_list=auth_list, fail_time="20291231" if auth_list else None)
        run_in_transaction(self.engine, lambda c: users.personal_register(c, Clock(), platform_no, req))
        return req


@pytest.fixture
def seed(engine, bank) -> Seeder:
    return Seeder(engine, bank)
