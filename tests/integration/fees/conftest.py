"""Custody-fee integration fixtures: a platform on a fresh database, a fixed clock that the ledger's
posting timestamps follow too, and a way to put custody money on a virtual account."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from cunguan.client import signing
from cunguan.clock import BEIJING, FixedClock
from cunguan.custody import custody_fees, platforms
from cunguan.db import ledger_store
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer

P1 = "6000000001"


@pytest.fixture(scope="session")
def fees_public_key_pem() -> str:
    return signing.public_key_pem(signing.generate_private_key())


def beijing(y: int, m: int, d: int, hh: int = 10) -> dt.datetime:
    return dt.datetime(y, m, d, hh, tzinfo=BEIJING)


@dataclass
class FeeWorld:
    engine: object
    clock: FixedClock

    def at(self, when: dt.datetime) -> None:
        self.clock.set(when)

    def platform(self, platform_no: str = P1, key_pem: str = "") -> platforms.Platform:
        return run_in_transaction(self.engine, lambda conn: platforms.create_platform(
            conn, custody_fees.now_us(self.clock), platform_no=platform_no, name="测试平台",
            notify_url="http://127.0.0.1:9/notify", public_key_pem=key_pem))

    def custody_in(self, platform_no: str, amount_fen: int, user_no: str = "SYS_GENERATE_002") -> None:
        """Money arriving in custody (as a recharge would book it): debit the custody cash account,
        credit a virtual account of the platform."""
        def work(conn):
            platform = platforms.get_platform(conn, platform_no)
            acct = platforms.system_account(conn, platform_no, user_no)
            ledger_store.apply(conn, [Transfer(platform.custody_account_id, acct.account_id, amount_fen,
                                               "TEST_RECHARGE", f"test:{amount_fen}")])
        run_in_transaction(self.engine, work)

    def custody_state(self, platform_no: str) -> list[tuple[int, int, int]]:
        """(id, balance, frozen) of the custody cash account and every system account."""
        with self.engine.connect() as conn:
            platform = platforms.get_platform(conn, platform_no)
            ids = [platform.custody_account_id] + [platforms.system_account(conn, platform_no, n).account_id
                                                   for n in platforms.SYSTEM_ACCOUNTS]
            return [(i, *ledger_store.get_balance(conn, i)) for i in ids]

    def configure(self, platform_no: str = P1, **kw):
        return run_in_transaction(self.engine, lambda conn: custody_fees.configure(
            conn, self.clock, platform_no=platform_no, **kw))

    def deposit(self, amount_fen: int, ref: str, platform_no: str = P1):
        return run_in_transaction(self.engine, lambda conn: custody_fees.deposit(
            conn, self.clock, platform_no=platform_no, amount_fen=amount_fen, ref=ref))

    def run(self, **kw) -> custody_fees.RunReport:
        return custody_fees.run_due(self.engine, self.clock, **kw)

    def own(self, platform_no: str = P1) -> int:
        with self.engine.connect() as conn:
            return custody_fees.own_balance(conn, platform_no)[0]

    def income(self) -> int:
        with self.engine.connect() as conn:
            row = ledger_store.find_account(conn, custody_fees.FEE_INCOME)
            return 0 if row is None else int(row["balance_fen"])

    def charges(self, platform_no: str = P1) -> list[custody_fees.Charge]:
        with self.engine.connect() as conn:
            return list(reversed(custody_fees.charges(conn, platform_no)))


@pytest.fixture
def world(engine, monkeypatch, fees_public_key_pem) -> FeeWorld:
    clock = FixedClock(beijing(2026, 10, 1, 2))
    # The ledger stamps postings with the wall clock; here it follows the test's clock, so that the
    # day-end balances the fee is computed from fall on the days the test means.
    monkeypatch.setattr(ledger_store, "now_us", lambda: custody_fees.now_us(clock))
    w = FeeWorld(engine, clock)
    w.platform(P1, fees_public_key_pem)
    return w
