"""Trade-core e2e fixtures: the live server and a real LanmaoClient (tests/e2e/conftest.py), a tiny
platform site for page CALLBACK / NOTIFY, users registered through the business layer (with a trade
password and authorizations), and test-only funding from the platform's custody cash account."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import pytest

from cunguan.client.platform_site import PlatformSite
from cunguan.clock import BEIJING, Clock
from cunguan.custody import platforms, user_store, users
from cunguan.custody.sample_identities import make_card, make_prc_id
from cunguan.db import ledger_audit, ledger_store
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer
from cunguan.money import parse_yuan

PLATFORM_NO = "6000000001"
PASSWORD = "abc12345"


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


class World:
    def __init__(self, engine, bank) -> None:
        self.engine, self.bank = engine, bank
        self.seq = itertools.count(1)

    def register(self, user_no: str, *, role: str = "INVESTOR", auth_list: str | None = None,
                 fund: str | int | None = None) -> str:
        n = next(self.seq)
        name, id_no, mobile = "赵六", make_prc_id(dt.date(1986, 7, 8), seq=300 + n), f"137{n:08d}"
        card = make_card(serial=7000 + n)
        self.bank.add_card(card, real_name=name, id_card_no=id_no, mobile=mobile)
        req = users.PersonalRegisterRequest(
            request_no=f"SEED-{user_no}", platform_user_no=user_no, user_role=role, real_name=name, id_card_no=id_no,
            bankcard_no=card, mobile=mobile, password=PASSWORD, auth_list=auth_list,
            fail_time="20291231" if auth_list else None)
        run_in_transaction(self.engine, lambda c: users.personal_register(c, Clock(), PLATFORM_NO, req))
        if fund is not None:
            self.fund(user_no, fund)
        return user_no

    def account(self, user_no: str) -> int:
        code = platforms.system_account_code(PLATFORM_NO, user_no) if user_no.startswith("SYS_GENERATE_") \
            else user_store.ledger_code(PLATFORM_NO, user_no)
        with self.engine.connect() as conn:
            return ledger_store.account_ids(conn, [code])[code]

    def fund(self, user_no: str, yuan: str | int) -> None:
        n = next(self.seq)
        with self.engine.connect() as conn:
            code = platforms.custody_account_code(PLATFORM_NO)
            cash = ledger_store.account_ids(conn, [code])[code]
        op = Transfer(cash, self.account(user_no), parse_yuan(str(yuan)), "TEST_FUND", f"e2e-fund-{n}")
        run_in_transaction(self.engine, lambda conn: ledger_store.apply(conn, [op]))

    def balance(self, user_no: str) -> tuple[int, int]:
        with self.engine.connect() as conn:
            return ledger_store.get_balance(conn, self.account(user_no))

    def audit_clean(self) -> None:
        assert ledger_audit.audit(self.engine) == []

    @staticmethod
    def expired_in(minutes: int) -> str:
        return (dt.datetime.now(BEIJING) + dt.timedelta(minutes=minutes)).strftime("%Y%m%d%H%M%S")


@pytest.fixture
def world(engine, bank) -> World:
    return World(engine, bank)
