"""Trade-core integration set-up: a platform, users created straight through the user store (active,
with ledger accounts), money put on them from the platform's custody cash account (the recharge room
is not needed for that), and an `env` helper that runs services in one transaction, reads balances and
rows, and proves that a refusal wrote nothing."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cunguan.clock import UTC, FixedClock
from cunguan.custody import authorizations, platforms, pre_transactions, projects, trades, user_store
from cunguan.custody.errors import CustodyError
from cunguan.db import ledger_audit, ledger_store
from cunguan.db.tables.custody_trades import TABLES
from cunguan.db.tables.custody_users import custody_authorizations, custody_requests
from cunguan.db.tables.ledger import freezes, postings
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer
from cunguan.money import parse_yuan

P1 = "6000000001"
P2 = "6000000002"

PEM = None


def _pem() -> bytes:
    global PEM
    if PEM is None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        PEM = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return PEM


def fen(yuan: str | int) -> int:
    return parse_yuan(str(yuan))


class Env:
    def __init__(self, engine, clock) -> None:
        self.engine, self.clock, self.platform_no = engine, clock, P1
        self._n = 0

        def setup(conn):
            for no in (P1, P2):
                platforms.create_platform(conn, 1, platform_no=no, name=f"平台{no}",
                                          notify_url=f"http://127.0.0.1:9/n/{no}", public_key_pem=_pem())
        run_in_transaction(engine, setup)

    # -- set-up helpers

    def user(self, user_no: str, *, role: str = "INVESTOR", active: bool = True, platform_no: str = P1,
             fund: str | int | None = None) -> str:
        def work(conn):
            user_store.create_user(
                conn, 1, platform_no=platform_no, platform_user_no=user_no, user_type="PERSONAL", user_role=role,
                name="测试", id_card_type="PRC_ID", id_card_no=None, personal_id_unique=False, mobile=None,
                bankcard_no=None, bankcode=None, access_type="FULL_CHECKED", audit_status="PASSED",
                active_status="ACTIVATED" if active else "DEACTIVATED", request_no=None)
        run_in_transaction(self.engine, work)
        if fund is not None:
            self.fund(user_no, fund, platform_no=platform_no)
        return user_no

    def account_id(self, user_no: str, platform_no: str = P1) -> int:
        code = platforms.system_account_code(platform_no, user_no) if user_no.startswith("SYS_GENERATE_") \
            else user_store.ledger_code(platform_no, user_no)
        with self.engine.connect() as conn:
            return ledger_store.account_ids(conn, [code])[code]

    def fund(self, user_no: str, yuan: str | int, *, platform_no: str = P1) -> None:
        """Test-only top-up: custody cash account (may overdraw) → the user's virtual account."""
        self._n += 1
        with self.engine.connect() as conn:
            cash = ledger_store.account_ids(conn, [platforms.custody_account_code(platform_no)])
        op = Transfer(cash[platforms.custody_account_code(platform_no)], self.account_id(user_no, platform_no),
                      fen(yuan), "TEST_FUND", f"fund-{self._n}")
        run_in_transaction(self.engine, lambda conn: ledger_store.apply(conn, [op]))

    def grant(self, user_no: str, auth_type: str, cap: str | None = None, fail_date: dt.date | None = None) -> None:
        def work(conn):
            user = user_store.get_user(conn, P1, user_no)
            terms = authorizations.AuthTerms((auth_type,), fail_date, fen(cap) if cap else None)
            authorizations.grant(conn, user, terms, f"AUTH-{user_no}-{auth_type}", 1)
        run_in_transaction(self.engine, work)

    # -- running services

    def run(self, fn, req, platform_no: str = P1):
        return run_in_transaction(self.engine, lambda conn: fn(conn, self.clock, platform_no, req))

    def trade(self, request_no: str, trade: dict, platform_no: str = P1):
        return run_in_transaction(self.engine, lambda conn: trades.execute(conn, self.clock, platform_no, request_no,
                                                                           trade))

    def establish(self, project_no: str, borrower: str, amount: str | int, **extra):
        req = {"requestNo": f"EST-{project_no}", "platformUserNo": borrower, "projectNo": project_no,
               "projectAmount": str(amount), "projectName": f"标的{project_no}", "projectType": "STANDARDPOWDER",
               "annnualInterestRate": "0.12", "repaymentWay": "ONE_TIME_SERVICING", "projectPeriod": 90, **extra}
        return self.run(projects.establish_project, req)

    def modify(self, project_no: str, status: str, request_no: str | None = None):
        self._n += 1
        return self.run(projects.modify_project, {"requestNo": request_no or f"MOD-{project_no}-{self._n}",
                                                  "projectNo": project_no, "status": status})

    def bid(self, request_no: str, investor: str, project_no: str, amount: str | int, *,
            marketing: str | None = None, biz_type: str = "TENDER", **extra):
        req = pre_transactions.UserPreTransactionRequest(
            request_no=request_no, platform_user_no=investor, biz_type=biz_type, amount=str(amount),
            project_no=project_no, pre_marketing_amount=marketing, **extra)
        return self.run(pre_transactions.user_pre_transaction, req)

    def freeze_order(self, request_no: str, payer: str, project_no: str, amount: str | int, biz_type: str, **extra):
        return self.bid(request_no, payer, project_no, amount, biz_type=biz_type, **extra)

    # -- reading

    def balance(self, user_no: str, platform_no: str = P1) -> tuple[int, int]:
        with self.engine.connect() as conn:
            return ledger_store.get_balance(conn, self.account_id(user_no, platform_no))

    def available(self, user_no: str) -> int:
        b, f = self.balance(user_no)
        return b - f

    def read(self, work):
        with self.engine.connect() as conn:
            return work(conn)

    def project(self, project_no: str) -> dict:
        return self.read(lambda c: projects.get_project(c, P1, project_no))

    def order(self, request_no: str) -> dict:
        return self.read(lambda c: pre_transactions.load_orders(c, P1, [request_no])[request_no])

    def holdings(self, project_no: str) -> dict[str, tuple[int, int]]:
        from cunguan.custody import shares

        return self.read(lambda c: shares.project_holdings(c, P1, project_no))

    def sale(self, sale_no: str) -> dict:
        from cunguan.custody import debentures

        return self.read(lambda c: debentures.find_sale(c, P1, sale_no))

    def snapshot(self) -> dict:
        def work(conn):
            out = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES}
            out["postings"] = conn.execute(select(func.count()).select_from(postings)).scalar_one()
            out["freezes"] = [tuple(r) for r in conn.execute(select(freezes.c.key, freezes.c.consumed_fen,
                                                                    freezes.c.released_fen).order_by(freezes.c.id))]
            out["requests"] = conn.execute(select(func.count()).select_from(custody_requests)).scalar_one()
            out["auth_used"] = conn.execute(select(func.coalesce(func.sum(custody_authorizations.c.used_fen), 0))) \
                .scalar_one()
            from cunguan.db.tables.custody_trades import (
                custody_debenture_sales,
                custody_projects,
                custody_shares,
            )

            out["projects"] = [tuple(r) for r in conn.execute(select(custody_projects).order_by(custody_projects.c.id))]
            out["shares"] = [tuple(r) for r in conn.execute(select(custody_shares).order_by(custody_shares.c.id))]
            out["sales"] = [tuple(r) for r in conn.execute(select(custody_debenture_sales)
                                                          .order_by(custody_debenture_sales.c.id))]
            return out
        return self.read(work)

    def refused(self, code: str, fn, *args, text: str | None = None, field: str | None = None) -> CustodyError:
        """Run `fn(*args)`, expect a CustodyError with `code`, and prove nothing was written."""
        before = self.snapshot()
        with pytest.raises(CustodyError) as info:
            fn(*args)
        err = info.value
        assert err.code == code, (err.code, err.message)
        if text is not None:
            assert text in err.message, err.message
        if field is not None:
            assert err.field == field, (err.field, err.message)
        assert self.snapshot() == before, "a refused request wrote something"
        return err

    def audit_clean(self) -> None:
        assert ledger_audit.audit(self.engine) == []


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2026, 11, 23, 4, 0, tzinfo=UTC))


@pytest.fixture
def env(engine, clock) -> Env:
    return Env(engine, clock)


@pytest.fixture
def raised(env):
    """A REPAYING project R1 (borrower B, 1000.00) fully released to I1 (600) and I2 (400)."""
    env.user("B", role="BORROWERS")
    env.user("I1", fund=1000)
    env.user("I2", fund=1000)
    env.establish("R1", "B", 1000)
    env.bid("BID-1", "I1", "R1", 600)
    env.bid("BID-2", "I2", "R1", 400)
    env.trade("REL-R1", {"tradeType": "TENDER", "projectNo": "R1", "details": [
        {"bizType": "TENDER", "freezeRequestNo": "BID-1", "sourcePlatformUserNo": "I1", "targetPlatformUserNo": "B",
         "amount": "600"},
        {"bizType": "TENDER", "freezeRequestNo": "BID-2", "amount": "400"}]})
    env.modify("R1", "REPAYING")
    return env


@contextlib.contextmanager
def no_change(env: Env):
    before = env.snapshot()
    yield
    assert env.snapshot() == before


D = Decimal
