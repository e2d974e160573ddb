"""Plans integration set-up: a platform, users created through the user store (active, ledger
accounts, TENDER authorization where asked), test-only funding from the platform's custody cash
account, and an `env` that runs services in one transaction, reads balances and rows, and proves that a
refusal wrote nothing (every custody table, the plan tables, postings, freezes, the request register)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from cunguan.clock import UTC, FixedClock
from cunguan.custody import authorizations, plans, platforms, pre_transactions, projects, trades, user_store
from cunguan.custody.errors import CustodyError
from cunguan.db import ledger_audit, ledger_store
from cunguan.db.tables.custody_plans import TABLES as PLAN_TABLES
from cunguan.db.tables.custody_plans import custody_plan_matches
from cunguan.db.tables.custody_trades import TABLES as TRADE_TABLES
from cunguan.db.tables.custody_users import custody_authorizations, custody_requests
from cunguan.db.tables.ledger import accounts, freezes, postings
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer
from cunguan.money import parse_yuan

P1 = "6000000001"


def fen(yuan: str | int) -> int:
    return parse_yuan(str(yuan))


def _pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


class Env:
    def __init__(self, engine, clock) -> None:
        self.engine, self.clock, self.platform_no = engine, clock, P1
        self._n = 0
        self.funded_fen = 0
        pem = _pem()
        run_in_transaction(engine, lambda conn: platforms.create_platform(
            conn, 1, platform_no=P1, name="平台", notify_url="http://127.0.0.1:9/n", public_key_pem=pem))

    def user(self, user_no: str, *, role: str = "INVESTOR", fund: str | int | None = None,
             auth: str | None = None) -> str:
        def work(conn):
            user_store.create_user(
                conn, 1, platform_no=P1, platform_user_no=user_no, user_type="PERSONAL", user_role=role,
                name="测试", id_card_type="PRC_ID", id_card_no=None, personal_id_unique=False, mobile=None,
                bankcard_no=None, bankcode=None, access_type="FULL_CHECKED", audit_status="PASSED",
                active_status="ACTIVATED", request_no=None)
        run_in_transaction(self.engine, work)
        if fund is not None:
            self.fund(user_no, fund)
        if auth is not None:
            self.grant(user_no, auth)
        return user_no

    def account_id(self, user_no: str) -> int:
        code = platforms.system_account_code(P1, user_no) if user_no.startswith("SYS_GENERATE_") \
            else user_store.ledger_code(P1, user_no)
        with self.engine.connect() as conn:
            return ledger_store.account_ids(conn, [code])[code]

    def fund(self, user_no: str, yuan: str | int) -> None:
        self._n += 1
        with self.engine.connect() as conn:
            code = platforms.custody_account_code(P1)
            cash = ledger_store.account_ids(conn, [code])[code]
        op = Transfer(cash, self.account_id(user_no), fen(yuan), "TEST_FUND", f"fund-{self._n}")
        run_in_transaction(self.engine, lambda conn: ledger_store.apply(conn, [op]))
        self.funded_fen += fen(yuan)

    def grant(self, user_no: str, auth_type: str, cap: str | None = None) -> None:
        def work(conn):
            user = user_store.get_user(conn, P1, user_no)
            terms = authorizations.AuthTerms((auth_type,), None, fen(cap) if cap else None)
            authorizations.grant(conn, user, terms, f"AUTH-{user_no}-{auth_type}", 1)
        run_in_transaction(self.engine, work)

    # -- services

    def run(self, fn, req):
        return run_in_transaction(self.engine, lambda conn: fn(conn, self.clock, P1, req))

    def trade(self, request_no: str, trade: dict):
        return run_in_transaction(self.engine, lambda conn: trades.execute(conn, self.clock, P1, request_no, trade))

    def establish_plan(self, intel_no: str, rate: str = "0.08", request_no: str | None = None):
        return self.run(plans.establish_intelligent_project, {
            "requestNo": request_no or f"EST-{intel_no}", "intelProjectNo": intel_no,
            "intelProjectName": f"计划{intel_no}", "annualInterestRate": rate})

    def purchase(self, request_no: str, user_no: str, intel_no: str, amount: str | int):
        return self.run(plans.purchase_intelligent_project, {
            "requestNo": request_no, "platformUserNo": user_no, "amount": str(amount), "intelProjectNo": intel_no})

    def append(self, request_no: str, intel_request_no: str, amount: str | int, *, trade_type="INTELLIGENT_APPEND",
               **extra):
        return self.trade(request_no, {"tradeType": trade_type, "details": [
            {"bizType": "APPEND_FREEZE", "freezeRequestNo": intel_request_no, "amount": str(amount), **extra}]})

    def unfreeze(self, request_no: str, intel_request_no: str, amount: str | int):
        return self.run(plans.intelligent_project_unfreeze, {"requestNo": request_no,
                                                              "intelRequestNo": intel_request_no,
                                                              "amount": str(amount)})

    def project(self, project_no: str, borrower: str, amount: str | int):
        self.run(projects.establish_project, {
            "requestNo": f"EST-{project_no}", "platformUserNo": borrower, "projectNo": project_no,
            "projectAmount": str(amount), "projectName": "标的", "projectType": "STANDARDPOWDER",
            "annnualInterestRate": "0.12", "repaymentWay": "ONE_TIME_SERVICING"})

    def modify(self, project_no: str, status: str):
        self._n += 1
        self.run(projects.modify_project, {"requestNo": f"MOD-{self._n}", "projectNo": project_no, "status": status})

    def release(self, request_no: str, project_no: str, tenders: list[tuple[str, str | int]]):
        return self.trade(request_no, {"tradeType": "TENDER", "projectNo": project_no, "details": [
            {"bizType": "TENDER", "freezeRequestNo": no, "amount": str(a)} for no, a in tenders]})

    def repay_freeze(self, request_no: str, borrower: str, project_no: str, amount: str | int):
        self.grant(borrower, "REPAYMENT") if not self._has_auth(borrower, "REPAYMENT") else None
        return self.run(pre_transactions.user_auto_pre_transaction, {
            "requestNo": request_no, "platformUserNo": borrower, "bizType": "REPAYMENT", "amount": str(amount),
            "projectNo": project_no})

    def _has_auth(self, user_no: str, auth_type: str) -> bool:
        with self.engine.connect() as conn:
            user = user_store.get_user(conn, P1, user_no)
            return conn.execute(select(func.count()).select_from(custody_authorizations).where(
                custody_authorizations.c.user_id == user.id,
                custody_authorizations.c.auth_type == auth_type)).scalar_one() > 0

    # -- reading

    def balance(self, user_no: str) -> tuple[int, int]:
        with self.engine.connect() as conn:
            return ledger_store.get_balance(conn, self.account_id(user_no))

    def order(self, intel_request_no: str) -> dict:
        with self.engine.connect() as conn:
            return plans.query_intelligent_project_order(conn, P1, {"requestNo": intel_request_no})

    def matches(self, intel_request_no: str) -> dict[str, tuple[int, int]]:
        c = custody_plan_matches.c
        with self.engine.connect() as conn:
            return {r[0]: (int(r[1]), int(r[2])) for r in conn.execute(select(c.project_no, c.matched_fen, c.share_fen)
                                                                       .where(c.order_request_no == intel_request_no))}

    def holdings(self, project_no: str) -> dict[str, tuple[int, int]]:
        from cunguan.custody import shares

        with self.engine.connect() as conn:
            return shares.project_holdings(conn, P1, project_no)

    def snapshot(self) -> dict:
        with self.engine.connect() as conn:
            out = {t.name: [tuple(r) for r in conn.execute(select(t))] for t in TRADE_TABLES + PLAN_TABLES}
            out["postings"] = conn.execute(select(func.count()).select_from(postings)).scalar_one()
            out["freezes"] = [tuple(r) for r in conn.execute(select(freezes).order_by(freezes.c.id))]
            out["accounts"] = [tuple(r) for r in conn.execute(select(accounts).order_by(accounts.c.id))]
            out["requests"] = [tuple(r) for r in conn.execute(select(custody_requests))]
            out["auth"] = [tuple(r) for r in conn.execute(select(custody_authorizations))]
            return out

    def refused(self, code: str, fn, *args, text: str | None = None, field: str | None = None) -> CustodyError:
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

    def custody_consistent(self) -> None:
        """Σ of every account but the custody cash account (users' and SYS_GENERATE_* virtual accounts)
        equals what the test funded: money was neither created nor destroyed; frozen ≤ balance."""
        with self.engine.connect() as conn:
            code = platforms.custody_account_code(P1)
            cash = ledger_store.account_ids(conn, [code])[code]
            rows = conn.execute(select(accounts.c.id, accounts.c.balance_fen, accounts.c.frozen_fen)).all()
        assert sum(b for i, b, _ in rows if i != cash) == self.funded_fen
        assert all(0 <= f <= b for i, b, f in rows if i != cash)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2026, 11, 23, 4, 0, tzinfo=UTC))


@pytest.fixture
def env(engine, clock) -> Env:
    return Env(engine, clock)


@pytest.fixture
def plan_world(env):
    """Plan PLAN-A (8%); borrowers B1, B2; investors I1 and I2 (1000.00 each, TENDER authorized), I3 (1000.00,
    TENDER + CREDIT_ASSIGNMENT authorized); projects R1 (500.00, B1) and R2 (800.00, B2) COLLECTING; the
    interest account SYS_GENERATE_005 holds 100.00."""
    env.user("B1", role="BORROWERS")
    env.user("B2", role="BORROWERS")
    env.user("I1", fund=1000, auth="TENDER")
    env.user("I2", fund=1000, auth="TENDER")
    env.user("I3", fund=1000, auth="TENDER")
    env.grant("I3", "CREDIT_ASSIGNMENT")
    env.fund("SYS_GENERATE_005", 100)
    env.establish_plan("PLAN-A")
    env.project("R1", "B1", 500)
    env.project("R2", "B2", 800)
    return env
