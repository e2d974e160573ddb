"""Shared helpers of the seed scenarios: the platform's web site (receives CALLBACK / NOTIFY over HTTP),
the `World` a scenario acts in (users, funding, wire calls, balances, shares, received notifications,
the closing checks)."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select

from cunguan.calendar_cn import next_working_day
from cunguan.client.demo_flow import PageBrowser
from cunguan.client.platform_site import PlatformSite
from cunguan.clock import BEIJING
from cunguan.custody import enterprise, platforms, recharges, reviews, shares, user_store, users
from cunguan.custody.sample_identities import make_card, make_prc_id, make_uscc
from cunguan.db import ledger_audit, ledger_store
from cunguan.db.tables.ledger import accounts
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer
from cunguan.money import parse_yuan

PLATFORM_NO = "6000000001"
PASSWORD = "abc12345"
START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=BEIJING)  # Monday, a working day
D = Decimal


def fen(yuan: object) -> int:
    return parse_yuan(str(yuan))


class World:
    def __init__(self, engine, bank, site: PlatformSite, client, clock, live_server) -> None:
        self.engine, self.bank, self.site, self.client, self.clock = engine, bank, site, client, clock
        self.live = live_server
        self.seq = itertools.count(1)
        self._browsers: list[PageBrowser] = []

    def close(self) -> None:
        for b in self._browsers:
            b.close()

    # ------------------------------------------------------------ people

    def register(self, user_no: str, *, role: str = "INVESTOR", auth_list: str | None = "RECHARGE") -> str:
        """A personal user registered through the custody user service (the page itself is scenario 1)."""
        n = next(self.seq)
        name, id_no, mobile = "钱八", make_prc_id(dt.date(1985, 3, 4), seq=500 + n), f"136{n:08d}"
        card = make_card(serial=9000 + n)
        self.bank.add_card(card, real_name=name, id_card_no=id_no, mobile=mobile)
        req = users.PersonalRegisterRequest(
            request_no=f"SEED-{user_no}", platform_user_no=user_no, user_role=role, real_name=name, id_card_no=id_no,
            bankcard_no=card, mobile=mobile, password=PASSWORD, auth_list=auth_list,
            fail_time="20291231" if auth_list else None)
        run_in_transaction(self.engine, lambda c: users.personal_register(c, self.clock, PLATFORM_NO, req,
                                                                          verifier=self.bank))
        return user_no

    def enterprise(self, user_no: str, *, role: str, auth_list: str | None = None) -> str:
        """An institution (guarantor, partner, merchant): registered, then passed by a bank operator."""
        n = next(self.seq)
        req = enterprise.EnterpriseRegisterRequest(
            request_no=f"SEED-{user_no}", platform_user_no=user_no, enterprise_name=f"合作机构{'甲乙丙丁戊己庚辛壬癸'[n % 10]}有限公司",
            bank_license=f"J10000123456{n:02d}", legal="周九", id_card_type="PRC_ID",
            legal_id_card_no=make_prc_id(dt.date(1975, 2, 3), seq=600 + n), contact="吴十",
            contact_phone="010-88886666", user_role=role, bankcard_no=f"11006014901800{n:05d}", bankcode="COMM",
            password=PASSWORD, unified_code=make_uscc(f"9111000060003{n:04d}"), auth_list=auth_list,
            fail_time="20291231" if auth_list else None)
        run_in_transaction(self.engine, lambda c: enterprise.enterprise_register(c, self.clock, PLATFORM_NO, req))
        run_in_transaction(self.engine, lambda c: reviews.review_user(
            c, self.clock, PLATFORM_NO, user_no, operator_id="op-1", decision="PASSED"))
        return user_no

    def browser(self) -> PageBrowser:
        b = PageBrowser(self.client, str(self.live), f"{self.site.url}/return")
        self._browsers.append(b)
        return b

    # ------------------------------------------------------------ wire

    def call(self, service: str, data: dict):
        r = self.client.call(service, data)
        assert r.http_status == 200 and r.signature_valid, r.body
        return r

    def ok(self, service: str, data: dict) -> dict:
        r = self.call(service, data)
        assert r.outcome == "S", r.data
        return r.data

    def refused(self, service: str, data: dict, error_code: str, text: str | None = None) -> dict:
        r = self.call(service, data)
        assert r.outcome != "S" and r.data["errorCode"] == error_code, r.data
        if text is not None:
            assert text in r.data["errorMessage"], r.data
        return r.data

    def establish(self, project_no: str, borrower: str, amount: object, **extra: Any) -> None:
        self.ok("ESTABLISH_PROJECT", {
            "requestNo": f"EST-{project_no}", "platformUserNo": borrower, "projectNo": project_no,
            "projectAmount": amount, "projectName": "场景标的", "projectType": "STANDARDPOWDER", "projectPeriod": 90,
            "annnualInterestRate": "0.12", "repaymentWay": "ONE_TIME_SERVICING", **extra})

    def freeze(self, request_no: str, user_no: str, project_no: str, amount: object, biz_type: str = "TENDER",
               **extra: Any) -> dict:
        return self.ok("USER_AUTO_PRE_TRANSACTION", {"requestNo": request_no, "platformUserNo": user_no,
                                                     "bizType": biz_type, "amount": amount, "projectNo": project_no,
                                                     **extra})

    def trade(self, request_no: str, trade_type: str, details: list[dict], **extra: Any) -> dict:
        data = self.ok("SYNC_TRANSACTION", {"requestNo": request_no, "tradeType": trade_type, "details": details,
                                            **extra})
        assert data["transactionStatus"] == "SUCCESS", data
        return data

    def project(self, project_no: str) -> dict:
        return self.ok("QUERY_PROJECT_INFORMATION", {"projectNo": project_no})

    def query_user(self, user_no: str) -> tuple[Decimal, Decimal, Decimal]:
        """(balance, available, frozen) as the platform sees them over the wire."""
        d = self.ok("QUERY_USER_INFORMATION", {"platformUserNo": user_no})
        return D(str(d["balance"])), D(str(d["availableAmount"])), D(str(d["freezeAmount"]))

    # ------------------------------------------------------------ money

    def recharge(self, user_no: str, amount: object, request_no: str | None = None) -> str:
        """DIRECT_RECHARGE over HTTP (the user's RECHARGE authorization); waits until the payment
        company's confirmation has credited the account."""
        request_no = request_no or f"DR-{user_no}-{next(self.seq)}"
        r = self.ok("DIRECT_RECHARGE", {"requestNo": request_no, "platformUserNo": user_no, "amount": amount,
                                        "expectPayCompany": "YEEPAY", "rechargeWay": "PROXY"})
        assert r["rechargeStatus"] in ("PENDDING", "SUCCESS")
        self.wait_for(lambda: self.recharge_status(request_no) == "SUCCESS", f"recharge {request_no} credited")
        return request_no

    def recharge_b2b(self, user_no: str, amount: object) -> str:
        """An institution's top-up: the RECHARGE page, corporate online banking (WEB, B2B)."""
        request_no = f"RC-{user_no}-{next(self.seq)}"
        b = self.browser()
        expired = (self.clock.beijing_now() + dt.timedelta(minutes=20)).strftime("%Y%m%d%H%M%S")
        b.open("RECHARGE", {"platformUserNo": user_no, "requestNo": request_no, "amount": amount,
                            "expectPayCompany": "YEEPAY", "rechargeWay": "WEB", "bankcode": "COMM", "payType": "B2B",
                            "expired": expired})
        assert b.callback(b.post("submit", password=PASSWORD))["status"] == "SUCCESS"
        self.wait_for(lambda: self.recharge_status(request_no) == "SUCCESS", f"recharge {request_no} credited")
        return request_no

    def recharge_status(self, request_no: str) -> str | None:
        with self.engine.connect() as conn:
            row = recharges.find_recharge(conn, PLATFORM_NO, request_no)
        return None if row is None else row["status"]

    def unsettled(self, user_no: str) -> int:
        with self.engine.connect() as conn:
            return recharges.unsettled_fen(conn, PLATFORM_NO, user_no)

    def settle_next_day(self, *users_: str) -> None:
        """Move the clock to noon of the next working day; the money worker imports the payment
        companies' settlement files and the users' recharges become settled."""
        day = next_working_day(self.clock.beijing_date())
        self.clock.set(dt.datetime.combine(day, dt.time(12, 0), BEIJING))
        for u in users_:
            self.wait_for(lambda u=u: self.unsettled(u) == 0, f"settlement of {u}")

    def fund_system(self, sys_no: str, yuan: object) -> None:
        """Test-only: the platform tops up one of its system accounts (marketing, compensatory, advance…)
        straight from the custody cash account — Σ virtual accounts = custody liability still holds."""
        op = Transfer(self._custody_cash_id(), self.account(sys_no), fen(yuan), "TEST_FUND",
                      f"scenario-fund-{next(self.seq)}")
        run_in_transaction(self.engine, lambda conn: ledger_store.apply(conn, [op]))

    # ------------------------------------------------------------ ledger views

    def account(self, user_no: str) -> int:
        code = platforms.system_account_code(PLATFORM_NO, user_no) if user_no.startswith("SYS_GENERATE_") \
            else user_store.ledger_code(PLATFORM_NO, user_no)
        with self.engine.connect() as conn:
            return ledger_store.account_ids(conn, [code])[code]

    def _custody_cash_id(self) -> int:
        code = platforms.custody_account_code(PLATFORM_NO)
        with self.engine.connect() as conn:
            return ledger_store.account_ids(conn, [code])[code]

    def balance(self, user_no: str) -> tuple[int, int]:
        """(balance, frozen) in fen, read off the ledger."""
        with self.engine.connect() as conn:
            return ledger_store.get_balance(conn, self.account(user_no))

    def shares(self, project_no: str) -> dict[str, tuple[int, int]]:
        """holder → (principal, locked) fen; holders with nothing left are left out."""
        with self.engine.connect() as conn:
            held = shares.project_holdings(conn, PLATFORM_NO, project_no)
        return {k: v for k, v in held.items() if v != (0, 0)}

    # ------------------------------------------------------------ notifications

    def notified(self, service: str, request_no: str, **expect: Any) -> dict:
        """The NOTIFY of `service` for `request_no` (optionally with given field values) the platform
        received over HTTP, its bank signature verified; returns respData."""
        def match(d: dict) -> bool:
            return d.get("requestNo") == request_no and all(d.get(k) == v for k, v in expect.items())

        form = self.site.wait(service, match)
        assert form["responseType"] == "NOTIFY" and form["platformNo"] == PLATFORM_NO
        return self.client.verify_notification(form)

    @staticmethod
    def wait_for(condition: Callable[[], Any], what: str, timeout_s: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            value = condition()
            if value:
                return value
            assert time.monotonic() < deadline, f"{what} not reached within {timeout_s} s"
            time.sleep(0.02)

    # ------------------------------------------------------------ closing checks

    def virtual_total_and_liability(self) -> tuple[int, int]:
        """Σ balances of the platform's virtual accounts (users + SYS_GENERATE_*), and the custody
        liability = minus the custody cash account's balance."""
        c = accounts.c
        with self.engine.connect() as conn:
            total = conn.execute(select(func.coalesce(func.sum(c.balance_fen), 0)).where(or_(
                c.code.like(f"U:{PLATFORM_NO}:%"), c.code.like(f"P:{PLATFORM_NO}:SYS_GENERATE_%")))).scalar_one()
            cash = conn.execute(select(c.balance_fen).where(
                c.code == platforms.custody_account_code(PLATFORM_NO))).scalar_one()
        return int(total), -int(cash)

    def finish(self) -> None:
        """Audit clean and the first invariant: Σ virtual accounts = what the bank owes on custody."""
        assert ledger_audit.audit(self.engine) == []
        total, liability = self.virtual_total_and_liability()
        assert total == liability, (total, liability)
