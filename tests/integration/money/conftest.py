"""Money integration fixtures: a fixed clock (Monday 2026-11-23, 12:00 Beijing), platform P1 with its
accounts, personal users registered through the custody user service, a MoneyRuntime of simulated
payment companies and payout channel on the test database, and helpers that read balances, count rows
and check the first invariant and the ledger audit after every test."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from cunguan.clock import BEIJING, FixedClock
from cunguan.custody import authorizations, money_runtime, passwords, platforms, recharges, users, withdrawals
from cunguan.custody.card_verifier import SimulatedCardBank
from cunguan.custody.sample_identities import make_card, make_prc_id
from cunguan.custody.user_store import get_user
from cunguan.db import ledger_audit, ledger_store
from cunguan.db.tables import custody_money
from cunguan.db.tables.custody_users import custody_requests
from cunguan.db.tables.ledger import accounts, freezes, postings
from cunguan.db.tables.notify import notify_outbox
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer

P1 = "6000000001"
START = dt.datetime(2026, 11, 23, 12, 0, tzinfo=BEIJING)  # a Monday, a working day


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch):
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


class Money:
    def __init__(self, engine, clock: FixedClock) -> None:
        self.engine, self.clock = engine, clock
        self.bank = SimulatedCardBank()
        self.seq = itertools.count(1)
        self.rt = money_runtime.set_runtime(engine, money_runtime.MoneyRuntime(engine, clock))
        run_in_transaction(engine, lambda c: platforms.create_platform(
            c, 1, platform_no=P1, name="测试平台", notify_url="http://127.0.0.1:9/notify", public_key_pem=_PEM))

    # ---------------------------------------------------------------- set-up

    def user(self, user_no: str, *, auth_list: str | None = None) -> str:
        n = next(self.seq)
        name, id_no, mobile = "赵六", make_prc_id(dt.date(1988, 2, 3), seq=300 + n), f"139{n:08d}"
        card = make_card(serial=7000 + n)
        self.bank.add_card(card, real_name=name, id_card_no=id_no, mobile=mobile)
        req = users.PersonalRegisterRequest(
            request_no=f"REG-{user_no}", platform_user_no=user_no, user_role="INVESTOR", real_name=name,
            id_card_no=id_no, bankcard_no=card, mobile=mobile, password="abc12345", auth_list=auth_list,
            fail_time="20291231" if auth_list else None)
        self.tx(lambda c: users.personal_register(c, self.clock, P1, req, verifier=self.bank))
        return user_no

    def tx(self, work):
        return run_in_transaction(self.engine, work)

    def read(self, work):
        with self.engine.connect() as conn:
            return work(conn)

    def recharge_request(self, user_no: str, request_no: str, amount: str = "100", **kw) -> recharges.RechargeRequest:
        fields = dict(request_no=request_no, platform_user_no=user_no, amount=amount, expect_pay_company="YEEPAY",
                      recharge_way="WEB")
        fields.update(kw)
        return recharges.RechargeRequest(**fields)

    def recharge(self, user_no: str, request_no: str, amount: str, **kw) -> recharges.RechargeResult:
        req = self.recharge_request(user_no, request_no, amount, **kw)
        return self.tx(lambda c: recharges.recharge(c, self.clock, P1, req))

    def funded(self, user_no: str, amount: str, *, settle: bool = True, request_no: str | None = None) -> None:
        """Recharge and let the company confirm it; with `settle`, the settlement day comes and goes
        (the clock moves to the next working day 09:00, then back is never needed: tests move forward)."""
        self.recharge(user_no, request_no or f"FUND-{user_no}-{next(self.seq)}", amount)
        self.rt.run_until_idle()
        if settle:
            self.next_working_day()
            self.rt.run_until_idle()

    def next_working_day(self, at: dt.time = dt.time(12, 0)) -> None:
        from cunguan.calendar_cn import next_working_day

        day = next_working_day(self.clock.beijing_date())
        self.clock.set(dt.datetime.combine(day, at, BEIJING))

    def fund_system(self, user_no: str, fen: int) -> None:
        """The platform pays money of its own into one of its system accounts (outside the API)."""
        def work(c):
            platform = platforms.get_platform(c, P1)
            account = platforms.system_account(c, P1, user_no)
            ledger_store.apply(c, [Transfer(platform.custody_account_id, account.account_id, fen, "PLATFORM_FUNDING",
                                            f"funding:{user_no}")], atomic=True)
        self.tx(work)

    def authorize(self, user_no: str, auth_list: str, amount: str | None = None) -> None:
        self.tx(lambda c: authorizations.grant(c, get_user(c, P1, user_no), authorizations.AuthTerms(
            tuple(auth_list.split(",")), None, None if amount is None else recharges.amount_fen(amount, "amount")),
            f"AUTH-{user_no}-{next(self.seq)}", 1))

    def withdraw(self, user_no: str, request_no: str, amount: str, withdraw_type: str | None = "NORMAL", **kw):
        req = withdrawals.WithdrawRequest(request_no, user_no, amount, withdraw_type, **kw)
        return self.tx(lambda c: withdrawals.withdraw(c, self.clock, P1, req))

    # ---------------------------------------------------------------- reading

    def balance(self, user_no: str) -> tuple[int, int]:
        """(balance, frozen) in fen of a user or system account."""
        def work(c):
            if user_no.startswith("SYS_GENERATE_"):
                account = platforms.system_account(c, P1, user_no)
                return account.balance_fen, account.frozen_fen
            return ledger_store.get_balance(c, get_user(c, P1, user_no).ledger_account_id)
        return self.read(work)

    def custody_cash(self) -> int:
        return self.read(lambda c: ledger_store.get_balance(c, platforms.get_platform(c, P1).custody_account_id)[0])

    def recharge_row(self, request_no: str) -> dict:
        return self.read(lambda c: recharges.find_recharge(c, P1, request_no))

    def withdrawal(self, request_no: str) -> dict:
        return self.read(lambda c: withdrawals.find_withdrawal(c, P1, request_no))

    def unsettled(self, user_no: str) -> int:
        return self.read(lambda c: recharges.unsettled_fen(c, P1, user_no))

    def notifies(self, service_name: str, biz_ref: str | None = None) -> list[dict]:
        import json

        stmt = select(notify_outbox).where(notify_outbox.c.service_name == service_name).order_by(notify_outbox.c.id)
        if biz_ref is not None:
            stmt = stmt.where(notify_outbox.c.biz_ref == biz_ref)
        return self.read(lambda c: [json.loads(r["resp_data"]) for r in c.execute(stmt).mappings()])

    def snapshot(self) -> dict[str, int]:
        tables = [t for t in custody_money.metadata.sorted_tables if t.name.startswith("custody_")
                  and t.name in {x.name for x in _MONEY_TABLES}]
        tables += [custody_requests, postings, freezes, notify_outbox, accounts]

        def work(c):
            out = {t.name: c.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}
            out["balances"] = c.execute(select(func.sum(accounts.c.balance_fen))).scalar_one()
            out["frozen"] = c.execute(select(func.sum(accounts.c.frozen_fen))).scalar_one()
            out["used_auth"] = c.execute(select(func.coalesce(func.sum(
                authorizations.custody_authorizations.c.used_fen), 0))).scalar_one()
            return out
        return self.read(work)

    def invariant_total(self) -> int:
        """Σ the platform's virtual accounts + its custody cash account: 0 at every commit."""
        def work(c):
            rows = c.execute(select(accounts.c.code, accounts.c.balance_fen)).all()
            return sum(int(b) for code, b in rows if code.startswith((f"U:{P1}:", f"P:{P1}:")))
        return self.read(work)


_MONEY_TABLES = (custody_money.custody_recharges, custody_money.custody_withdrawals, custody_money.custody_backrolls,
                 custody_money.custody_advances, custody_money.custody_withdraw_intercepts,
                 custody_money.custody_settlement_files, custody_money.custody_money_settings)


def _make_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


_PEM = _make_pem()


@pytest.fixture
def money(engine, clock):
    m = Money(engine, clock)
    yield m
    assert ledger_audit.audit(engine) == []
    assert m.invariant_total() == 0


@pytest.fixture
def nothing_written(money):
    import contextlib

    @contextlib.contextmanager
    def guard():
        before = money.snapshot()
        yield
        assert money.snapshot() == before

    return guard
