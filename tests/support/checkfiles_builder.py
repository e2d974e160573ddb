"""Builds a custody day through the real services, for the check-file and reconciliation tests.

A `CustodyDay` owns a fixed clock (starting Monday 2026-11-23 10:00 Beijing), platform P1, a money
runtime of simulated payment companies and payout channel on the test database, and helpers that
register users, recharge (the company confirms, the worker credits), withdraw (the worker remits),
intercept, establish a project, bid and release it with a commission. Ledger postings are stamped with
the test's clock (as the fees room does), so day-end balances follow the business days of the test.
Loaded by the conftests of tests/integration/{checkfiles,reconcile} and tests/e2e/{checkfiles,reconcile}.
"""

from __future__ import annotations

import datetime as dt
import itertools

from argon2 import PasswordHasher
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cunguan.calendar_cn import next_working_day
from cunguan.clock import BEIJING, FixedClock
from cunguan.custody import (
    money_runtime,
    passwords,
    platforms,
    pre_transactions,
    projects,
    recharges,
    trades,
    users,
    withdrawals,
)
from cunguan.custody.card_verifier import SimulatedCardBank
from cunguan.custody.sample_identities import make_card, make_prc_id
from cunguan.custody.user_store import get_user
from cunguan.db import ledger_store
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer
from cunguan.payouts.simulator import PayoutFaultPlan

P1 = "6000000001"
START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=BEIJING)  # Monday, a working day


def make_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def cheap_hashers(monkeypatch) -> None:
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def stamp_postings_with(monkeypatch, clock: FixedClock) -> None:
    """Ledger postings carry the ledger's own wall-clock stamp (`ledger_store.now_us`); tests that read
    balances at a business day's end stamp them with the test's clock instead."""
    monkeypatch.setattr(ledger_store, "now_us", lambda: recharges.now_us(clock))


class CustodyDay:
    def __init__(self, engine, clock: FixedClock | None = None, *, platform_no: str = P1,
                 create_platform: bool = True) -> None:
        self.engine = engine
        self.clock = clock or FixedClock(START)
        self.platform_no = platform_no
        self.bank = SimulatedCardBank()
        self.seq = itertools.count(1)
        self.payout_faults = PayoutFaultPlan()
        self.rt = money_runtime.set_runtime(engine, money_runtime.MoneyRuntime(
            engine, self.clock, payout_faults=self.payout_faults))
        self.cards: dict[str, str] = {}
        if create_platform:
            self.tx(lambda c: platforms.create_platform(c, 1, platform_no=platform_no, name="测试平台",
                                                        notify_url="http://127.0.0.1:9/notify",
                                                        public_key_pem=make_pem()))

    def tx(self, work):
        return run_in_transaction(self.engine, work)

    def read(self, work):
        with self.engine.connect() as conn:
            return work(conn)

    # ---------------------------------------------------------------- time

    def at(self, day: dt.date, hour: int = 10, minute: int = 0, second: int = 0) -> None:
        self.clock.set(dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=BEIJING))

    def today(self) -> dt.date:
        return self.clock.beijing_date()

    def next_working_day(self, hour: int = 10) -> dt.date:
        day = next_working_day(self.today())
        self.at(day, hour)
        return day

    def settle(self) -> None:
        """Let the worker run (payments, notifications, remittances, due settlement files)."""
        self.rt.run_until_idle()

    # ---------------------------------------------------------------- set-up

    def user(self, user_no: str, role: str = "INVESTOR") -> str:
        n = next(self.seq)
        name, id_no, mobile = "赵六", make_prc_id(dt.date(1988, 2, 3), seq=300 + n), f"139{n:08d}"
        card = make_card(serial=7000 + n)
        self.cards[user_no] = card
        self.bank.add_card(card, real_name=name, id_card_no=id_no, mobile=mobile)
        req = users.PersonalRegisterRequest(
            request_no=f"REG-{user_no}", platform_user_no=user_no, user_role=role, real_name=name,
            id_card_no=id_no, bankcard_no=card, mobile=mobile, password="abc12345")
        self.tx(lambda c: users.personal_register(c, self.clock, self.platform_no, req, verifier=self.bank))
        return user_no

    # ---------------------------------------------------------------- money

    def recharge(self, user_no: str, request_no: str, amount: str, commission: str | None = None,
                 company: str = "YEEPAY") -> dict:
        req = recharges.RechargeRequest(request_no=request_no, platform_user_no=user_no, amount=amount,
                                        expect_pay_company=company, recharge_way="WEB", commission=commission)
        self.tx(lambda c: recharges.recharge(c, self.clock, self.platform_no, req))
        self.settle()
        return self.recharge_row(request_no)

    def withdraw(self, user_no: str, request_no: str, amount: str, withdraw_type: str = "URGENT",
                 commission: str | None = None) -> dict:
        req = withdrawals.WithdrawRequest(request_no, user_no, amount, withdraw_type, commission=commission)
        self.tx(lambda c: withdrawals.withdraw(c, self.clock, self.platform_no, req))
        return self.withdrawal(request_no)

    def intercept(self, request_no: str, withdraw_request_no: str) -> dict:
        req = withdrawals.InterceptWithdrawRequest(request_no, withdraw_request_no)
        return self.tx(lambda c: withdrawals.intercept_withdraw(c, self.clock, self.platform_no, req))

    def fund_system(self, user_no: str, fen: int) -> None:
        """The platform pays money of its own into one of its system accounts (outside the API)."""
        def work(c):
            platform = platforms.get_platform(c, self.platform_no)
            account = platforms.system_account(c, self.platform_no, user_no)
            ledger_store.apply(c, [Transfer(platform.custody_account_id, account.account_id, fen, "PLATFORM_FUNDING",
                                            f"funding:{user_no}")], atomic=True)
        self.tx(work)

    def leak(self, user_no: str, fen: int) -> None:
        """A posting that breaks the first invariant: money leaves a virtual account for an account
        outside custody (what no service does; the reconciliation must see it)."""
        def work(c):
            outside = ledger_store.open_account(c, "X:TEST:OUTSIDE", owner_type="TEST", owner_ref="outside",
                                                allow_overdraw=True)
            user = get_user(c, self.platform_no, user_no)
            ledger_store.apply(c, [Transfer(user.ledger_account_id, outside, fen, "TEST_LEAK", "leak")], atomic=True)
        self.tx(work)

    def recharge_row(self, request_no: str) -> dict:
        return self.read(lambda c: recharges.find_recharge(c, self.platform_no, request_no))

    def withdrawal(self, request_no: str) -> dict:
        return self.read(lambda c: withdrawals.find_withdrawal(c, self.platform_no, request_no))

    def balance(self, user_no: str) -> tuple[int, int]:
        def work(c):
            if user_no.startswith("SYS_GENERATE_"):
                account = platforms.system_account(c, self.platform_no, user_no)
                return account.balance_fen, account.frozen_fen
            return ledger_store.get_balance(c, get_user(c, self.platform_no, user_no).ledger_account_id)
        return self.read(work)

    # ---------------------------------------------------------------- trades

    def establish(self, project_no: str, borrower: str, amount: str) -> None:
        req = {"requestNo": f"EST-{project_no}", "platformUserNo": borrower, "projectNo": project_no,
               "projectAmount": amount, "projectName": f"标的{project_no}", "projectType": "STANDARDPOWDER",
               "annnualInterestRate": "0.12", "repaymentWay": "ONE_TIME_SERVICING", "projectPeriod": 90}
        self.tx(lambda c: projects.establish_project(c, self.clock, self.platform_no, req))

    def bid(self, request_no: str, investor: str, project_no: str, amount: str) -> None:
        req = pre_transactions.UserPreTransactionRequest(request_no=request_no, platform_user_no=investor,
                                                         biz_type="TENDER", amount=amount, project_no=project_no)
        self.tx(lambda c: pre_transactions.user_pre_transaction(c, self.clock, self.platform_no, req))

    def trade(self, request_no: str, trade: dict) -> trades.TradeResult:
        return self.tx(lambda c: trades.execute(c, self.clock, self.platform_no, request_no, trade))

    def trade_id(self, request_no: str) -> int:
        return int(self.read(lambda c: trades.trade_row(c, self.platform_no, request_no))["id"])


def build_busy_day(d: CustodyDay) -> dt.date:
    """Monday: fund the investor (settled Tuesday). Tuesday (the day the files are for): a recharge with
    commission, an URGENT withdrawal with commission paid the same day, a NORMAL withdrawal intercepted
    (a backroll), a project released with a commission detail. Leaves the clock on Wednesday."""
    d.user("inv-1")
    d.user("inv-2")
    d.user("bor-1", role="BORROWERS")
    d.recharge("inv-1", "RC-FUND-1", "5000")
    d.recharge("inv-2", "RC-FUND-2", "3000")
    day = d.next_working_day(hour=9)  # Tuesday 2026-11-24 09:00: Monday's settlement comes in
    d.settle()
    d.at(day, 10, 15, 30)
    d.recharge("inv-2", "RC-DAY-1", "200.50", commission="2.50")
    d.at(day, 11, 0, 0)
    d.withdraw("inv-1", "WD-DAY-1", "100", "URGENT", commission="1.25")
    d.settle()  # handed to the channel at 11:00:00
    d.at(day, 11, 0, 20)
    d.settle()  # paid 10 s later
    d.at(day, 13, 0, 0)
    d.withdraw("inv-2", "WD-DAY-2", "50", "NORMAL", commission="0.50")
    d.at(day, 13, 30, 0)
    d.intercept("IC-DAY-2", "WD-DAY-2")
    d.at(day, 14, 0, 0)
    d.establish("PRJ-1", "bor-1", "1000")
    d.bid("BID-1", "inv-1", "PRJ-1", "600")
    d.bid("BID-2", "inv-2", "PRJ-1", "400")
    d.at(day, 15, 0, 0)
    d.trade("REL-1", {"tradeType": "TENDER", "projectNo": "PRJ-1", "details": [
        {"bizType": "TENDER", "freezeRequestNo": "BID-1", "sourcePlatformUserNo": "inv-1",
         "targetPlatformUserNo": "bor-1", "amount": "600"},
        {"bizType": "TENDER", "freezeRequestNo": "BID-2", "sourcePlatformUserNo": "inv-2",
         "targetPlatformUserNo": "bor-1", "amount": "400"},
        {"bizType": "COMMISSION", "sourcePlatformUserNo": "bor-1", "amount": "20", "remark": "服务费,首期"}]})
    d.at(day + dt.timedelta(days=1), 9, 0, 0)
    return day


def simulator_file(d: CustodyDay, company: str, day: dt.date):
    return d.rt.simulators[company].settlement_file(day)


def build_problem_days(d: CustodyDay):
    """Tuesday 2026-11-24 with one difference of every class, reconciled from Wednesday:
    - LEDGER: 5.00 leaves inv-3 for an account outside custody;
    - SETTLEMENT (YEEPAY's file for Tuesday, applied Wednesday): RC-A missing from it (so it stays
      unsettled and the advance made against it stays outstanding), RC-B's amount 0.01 higher, and an extra
      line for an order nobody has;
    - PAYOUT: WD-RET was paid (SUCCESS on both sides), then the beneficiary bank returned it — the channel's
      statement says FAIL RF04 while our books say paid; the statement also lists a payout we never made;
    - ADVANCE: WD-ADV (URGENT, unsettled money) was advanced from SYS_GENERATE_007 on Tuesday; its
      settlement never came, so on Wednesday it is overdue.
    Returns (tuesday, wednesday, the tampered settlement file, the tampered payout source)."""
    from cunguan.custody import settlement_intake
    from cunguan.db.tables.payments import payoutsim_orders
    from cunguan.payments.settlement import SettlementFile, SettlementRow
    from cunguan.reconcile.daily import PayoutLine
    from cunguan.reconcile.statements import simulator_payout_source

    d.user("inv-1")
    d.user("inv-2")
    d.user("inv-3")
    d.recharge("inv-1", "RC-FUND-1", "1000")
    d.fund_system("SYS_GENERATE_007", 100_000)
    tue = d.next_working_day(hour=9)
    d.settle()  # Monday's file: RC-FUND-1 settled
    d.at(tue, 10)
    d.recharge("inv-2", "RC-A", "300")
    d.recharge("inv-3", "RC-B", "100")
    d.at(tue, 11)
    d.withdraw("inv-2", "WD-ADV", "200", "URGENT")
    d.settle()
    d.at(tue, 11, 0, 20)
    d.settle()
    d.at(tue, 12)
    d.withdraw("inv-1", "WD-RET", "100", "URGENT", commission="1")
    d.settle()
    d.at(tue, 12, 0, 20)
    d.settle()
    d.at(tue, 13)
    d.leak("inv-3", 500)
    returned = d.withdrawal("WD-RET")["order_no"]
    d.tx(lambda c: c.execute(payoutsim_orders.update().where(payoutsim_orders.c.order_no == returned).values(
        outcome="FAIL", fail_code="RF04")))
    wed = next_working_day(tue)
    d.at(wed, 9)
    real = simulator_file(d, "YEEPAY", tue)
    rc_a, rc_b = d.recharge_row("RC-A")["order_no"], d.recharge_row("RC-B")["order_no"]
    rows = [r for r in real.rows if r.order_no != rc_a]
    rows = [SettlementRow(r.company, r.pay_date, r.order_no, r.company_order_no, r.amount_fen + 1, r.fee_fen)
            if r.order_no == rc_b else r for r in rows]
    rows.append(SettlementRow("YEEPAY", tue, "CGRNOBODY0000000000000000000001", "YEEPEXTRA0001", 4_200, 10))
    tampered = SettlementFile("YEEPAY", tue, tuple(rows))
    settlement_intake.apply_settlement(d.engine, d.clock, tampered)
    d.settle()
    channel = simulator_payout_source(d.engine)

    def payouts(day: dt.date):
        lines = list(channel(day))
        return [*lines, PayoutLine("CGWNOBODY000000000000000000001", 777, "SUCCESS")] if day == tue else lines

    return tue, wed, tampered, payouts
