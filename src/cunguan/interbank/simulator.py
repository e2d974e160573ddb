"""A simulator of IBPS and the other banks behind it, implementing `InterbankConnector`.

State lives in its own `ibsim_*` tables (see db/tables/interbank.py) so it survives restarts the way a
real bank's would. What is decided per call, and how:
- the rules of a real bank: account exists (RJ01), holder name (RJ02, at signing), balance (RJ03),
  the 50,000 CNY IBPS cap (RJ04), a valid agreement naming the payee (RJ06), the agreement's dates and
  per-transaction / daily / monthly amount and count caps (RJ07), account status (RJ11), the bank
  being open (RJ19); business hours are 7×24;
- faults: a `FaultPlan` (injected by tests: by debit call number) or a seeded RNG (`timeout_rate`)
  decides timeouts. A timed-out debit has really been applied or really not (decided and stored at
  the moment of the call); `query_debit` reveals which, possibly after some queries still answer
  UNKNOWN.
- a repeated serial never moves money twice; `received_count` records it so tests can prove we never
  re-send.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import threading
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from cunguan.clock import Clock
from cunguan.db.ledger_store import now_us
from cunguan.db.tables.interbank import ibsim_accounts, ibsim_agreements, ibsim_banks, ibsim_debits
from cunguan.db.tx import run_in_transaction
from cunguan.interbank.connector import (
    IBPS_PER_TRANSFER_CAP_FEN,
    REJECT_TEXT,
    AgreementLimits,
    BalanceResult,
    CallResult,
    DebitRequest,
    DebitResult,
    DebitStatus,
    RejectCode,
    SignRequest,
    SignResult,
)


@dataclass(frozen=True, slots=True)
class Fault:
    """What goes wrong with one debit call."""

    timeout: bool = False
    applied: bool = True  # for a timeout: was the debit really applied at the other bank?
    pending_queries: int = 0  # how many queries still answer UNKNOWN before the truth
    reject: RejectCode | None = None
    crash_after: bool = False  # raise SimulatedCrash after the other bank processed it (restart tests)

    @staticmethod
    def timeout_applied(pending_queries: int = 0) -> Fault:
        return Fault(timeout=True, applied=True, pending_queries=pending_queries)

    @staticmethod
    def timeout_lost(pending_queries: int = 0) -> Fault:
        return Fault(timeout=True, applied=False, pending_queries=pending_queries)


class SimulatedCrash(BaseException):
    """Our process dies right after the other bank processed a debit (BaseException: nothing catches it)."""


@dataclass
class FaultPlan:
    """Faults by debit call number (1-based, counted by this simulator instance)."""

    by_call: dict[int, Fault] = field(default_factory=dict)
    timeout_rate: float = 0.0
    seed: int = 0


class InterbankSimulator:
    def __init__(self, engine: Engine, clock: Clock, faults: FaultPlan | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.faults = faults or FaultPlan()
        self._rng = random.Random(self.faults.seed)
        self._calls = itertools.count(1)
        self._lock = threading.Lock()

    # ------------------------------------------------------------ setup (the other banks' own business)

    def open_bank(self, bank_no: str, name: str) -> None:
        def work(conn: Connection) -> None:
            if conn.execute(select(ibsim_banks.c.bank_no).where(ibsim_banks.c.bank_no == bank_no)).first() is None:
                conn.execute(ibsim_banks.insert().values(bank_no=bank_no, name=name, status="OPEN"))

        run_in_transaction(self.engine, work)

    def set_bank_status(self, bank_no: str, status: str) -> None:
        run_in_transaction(self.engine, lambda c: c.execute(
            ibsim_banks.update().where(ibsim_banks.c.bank_no == bank_no).values(status=status)))

    def open_account(self, bank_no: str, account_no: str, holder_name: str, balance_fen: int) -> None:
        def work(conn: Connection) -> None:
            conn.execute(ibsim_accounts.insert().values(
                bank_no=bank_no, account_no=account_no, holder_name=holder_name, balance_fen=balance_fen,
                status="NORMAL"))

        run_in_transaction(self.engine, work)

    def set_balance(self, bank_no: str, account_no: str, balance_fen: int) -> None:
        run_in_transaction(self.engine, lambda c: c.execute(ibsim_accounts.update().where(
            ibsim_accounts.c.bank_no == bank_no, ibsim_accounts.c.account_no == account_no).values(
            balance_fen=balance_fen)))

    def set_account_status(self, bank_no: str, account_no: str, status: str) -> None:
        run_in_transaction(self.engine, lambda c: c.execute(ibsim_accounts.update().where(
            ibsim_accounts.c.bank_no == bank_no, ibsim_accounts.c.account_no == account_no).values(status=status)))

    def balance(self, bank_no: str, account_no: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(ibsim_accounts.c.balance_fen).where(
                ibsim_accounts.c.bank_no == bank_no, ibsim_accounts.c.account_no == account_no)).scalar_one())

    def seed_legacy_agreement(self, bank_no: str, account_no: str, start: dt.date, end: dt.date) -> str:
        """A payment agreement signed before the cutover: it names no payee."""
        no = "LPA" + uuid.uuid4().hex[:16].upper()
        run_in_transaction(self.engine, lambda c: self._insert_agreement(
            c, no, "PAYMENT", bank_no, account_no, None, start, end, AgreementLimits()))
        return no

    def received_count(self, serial: str) -> int:
        with self.engine.connect() as conn:
            got = conn.execute(select(ibsim_debits.c.received_count).where(ibsim_debits.c.serial == serial)).scalar()
            return int(got or 0)

    def total_received(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.sum(ibsim_debits.c.received_count), 0))).scalar_one())

    # ------------------------------------------------------------ InterbankConnector

    def sign_agreements(self, req: SignRequest) -> SignResult:
        def work(conn: Connection) -> SignResult:
            bank = self._bank(conn, req.bank_no)
            if bank is None:
                return SignResult(False, RejectCode.NO_ACCOUNT, "unknown bank number")
            if bank["status"] != "OPEN":
                return _sign_reject(RejectCode.PARTICIPANT_CLOSED)
            acct = self._account(conn, req.bank_no, req.account_no)
            if acct is None:
                return _sign_reject(RejectCode.NO_ACCOUNT)
            if acct["holder_name"] != req.holder_name:
                return _sign_reject(RejectCode.NAME_MISMATCH)
            if acct["status"] != "NORMAL":
                return _sign_reject(RejectCode.ACCOUNT_ABNORMAL)
            legacy = conn.execute(select(ibsim_agreements).where(
                ibsim_agreements.c.bank_no == req.bank_no, ibsim_agreements.c.account_no == req.account_no,
                ibsim_agreements.c.kind == "PAYMENT", ibsim_agreements.c.status == "ACTIVE",
                ibsim_agreements.c.payee_account_no.is_(None))).mappings().first()
            qno = "QA" + uuid.uuid4().hex[:16].upper()
            self._insert_agreement(conn, qno, "QUERY", req.bank_no, req.account_no, None, None, None, None)
            if legacy is not None:
                # The bank answers with the agreement it already holds; it names no payee.
                return SignResult(True, query_agreement_no=qno, payment_agreement_no=legacy["agreement_no"],
                                  names_payee=False, start=legacy["start_date"], end=legacy["end_date"])
            pno = "PA" + uuid.uuid4().hex[:16].upper()
            self._insert_agreement(conn, pno, "PAYMENT", req.bank_no, req.account_no, req.payee_account_no,
                                   req.start, req.end, req.limits)
            return SignResult(True, query_agreement_no=qno, payment_agreement_no=pno, names_payee=True,
                              start=req.start, end=req.end)

        return run_in_transaction(self.engine, work)

    def renew_payment_agreement(self, payment_agreement_no: str, new_end: dt.date) -> CallResult:
        def work(conn: Connection) -> CallResult:
            agr = self._agreement(conn, payment_agreement_no)
            if agr is None or agr["status"] != "ACTIVE" or agr["kind"] != "PAYMENT":
                return CallResult(False, RejectCode.NO_AGREEMENT, REJECT_TEXT[RejectCode.NO_AGREEMENT])
            if agr["payee_account_no"] is None:
                return CallResult(False, RejectCode.NO_AGREEMENT, "agreement names no payee: sign a new one")
            conn.execute(ibsim_agreements.update().where(
                ibsim_agreements.c.agreement_no == payment_agreement_no).values(end_date=new_end))
            return CallResult(True)

        return run_in_transaction(self.engine, work)

    def cancel_agreement(self, agreement_no: str) -> CallResult:
        def work(conn: Connection) -> CallResult:
            if self._agreement(conn, agreement_no) is None:
                return CallResult(False, RejectCode.NO_AGREEMENT, REJECT_TEXT[RejectCode.NO_AGREEMENT])
            conn.execute(ibsim_agreements.update().where(ibsim_agreements.c.agreement_no == agreement_no).values(
                status="CANCELLED"))
            return CallResult(True)

        return run_in_transaction(self.engine, work)

    def query_balance(self, query_agreement_no: str) -> BalanceResult:
        def work(conn: Connection) -> BalanceResult:
            agr = self._agreement(conn, query_agreement_no)
            if agr is None or agr["status"] != "ACTIVE" or agr["kind"] != "QUERY":
                return BalanceResult(False, code=RejectCode.NO_AGREEMENT, message=REJECT_TEXT[RejectCode.NO_AGREEMENT])
            bank = self._bank(conn, agr["bank_no"])
            if bank is None or bank["status"] != "OPEN":
                return BalanceResult(False, code=RejectCode.PARTICIPANT_CLOSED,
                                     message=REJECT_TEXT[RejectCode.PARTICIPANT_CLOSED])
            acct = self._account(conn, agr["bank_no"], agr["account_no"])
            if acct is None:
                return BalanceResult(False, code=RejectCode.NO_ACCOUNT, message=REJECT_TEXT[RejectCode.NO_ACCOUNT])
            if acct["status"] != "NORMAL":
                return BalanceResult(False, code=RejectCode.ACCOUNT_ABNORMAL,
                                     message=REJECT_TEXT[RejectCode.ACCOUNT_ABNORMAL])
            return BalanceResult(True, int(acct["balance_fen"]))

        return run_in_transaction(self.engine, work)

    def debit(self, req: DebitRequest) -> DebitResult:
        with self._lock:
            call_no = next(self._calls)
            fault = self.faults.by_call.get(call_no)
            if fault is None and self.faults.timeout_rate > 0 and self._rng.random() < self.faults.timeout_rate:
                fault = Fault(timeout=True, applied=self._rng.random() < 0.5)
        fault = fault or Fault()

        def work(conn: Connection) -> DebitResult:
            known = conn.execute(select(ibsim_debits).where(ibsim_debits.c.serial == req.serial)).mappings().first()
            if known is not None:  # a repeat never moves money twice
                conn.execute(ibsim_debits.update().where(ibsim_debits.c.serial == req.serial).values(
                    received_count=known["received_count"] + 1))
                return _debit_answer(known["status"], known["code"])
            code = fault.reject or self._check_debit(conn, req)
            applied = code is None and (not fault.timeout or fault.applied)
            if applied:
                agr = self._agreement(conn, req.payment_agreement_no)
                assert agr is not None
                conn.execute(ibsim_accounts.update().where(
                    ibsim_accounts.c.bank_no == agr["bank_no"], ibsim_accounts.c.account_no == agr["account_no"]).values(
                    balance_fen=ibsim_accounts.c.balance_fen - req.amount_fen))
            status = "APPLIED" if applied else ("LOST" if code is None else "REJECTED")
            conn.execute(ibsim_debits.insert().values(
                serial=req.serial, agreement_no=req.payment_agreement_no, amount_fen=req.amount_fen, status=status,
                code=None if code is None else str(code), biz_date=self.clock.beijing_date(), received_count=1,
                pending_queries=fault.pending_queries if fault.timeout else 0, created_us=now_us()))
            if fault.timeout:
                return DebitResult(DebitStatus.UNKNOWN, None, "timeout: outcome unknown, query it")
            return _debit_answer(status, code)

        result = run_in_transaction(self.engine, work)
        if fault.crash_after:
            raise SimulatedCrash(req.serial)
        return result

    def query_debit(self, serial: str) -> DebitResult:
        def work(conn: Connection) -> DebitResult:
            row = conn.execute(select(ibsim_debits).where(ibsim_debits.c.serial == serial)).mappings().first()
            if row is None:
                return DebitResult(DebitStatus.REJECTED, RejectCode.OTHER, "no such debit was received")
            if row["pending_queries"] > 0:
                conn.execute(ibsim_debits.update().where(ibsim_debits.c.serial == serial).values(
                    pending_queries=row["pending_queries"] - 1))
                return DebitResult(DebitStatus.UNKNOWN, None, "still processing")
            return _debit_answer(row["status"], row["code"])

        return run_in_transaction(self.engine, work)

    # ------------------------------------------------------------ internals

    def _check_debit(self, conn: Connection, req: DebitRequest) -> RejectCode | None:
        if req.amount_fen <= 0:
            return RejectCode.OTHER
        if req.amount_fen > IBPS_PER_TRANSFER_CAP_FEN:
            return RejectCode.OVER_LIMIT
        agr = self._agreement(conn, req.payment_agreement_no)
        if agr is None or agr["status"] != "ACTIVE" or agr["kind"] != "PAYMENT" or agr["payee_account_no"] is None:
            return RejectCode.NO_AGREEMENT
        if agr["payee_account_no"] != req.payee_account_no:
            return RejectCode.NO_AGREEMENT
        bank = self._bank(conn, agr["bank_no"])
        if bank is None or bank["status"] != "OPEN":
            return RejectCode.PARTICIPANT_CLOSED
        acct = self._account(conn, agr["bank_no"], agr["account_no"], lock=True)
        if acct is None:
            return RejectCode.NO_ACCOUNT
        if acct["status"] != "NORMAL":
            return RejectCode.ACCOUNT_ABNORMAL
        today = self.clock.beijing_date()
        if not (agr["start_date"] <= today <= agr["end_date"]) or req.amount_fen > agr["per_txn_fen"]:
            return RejectCode.BEYOND_AGREEMENT
        month_start = today.replace(day=1)
        applied = ibsim_debits.c.status == "APPLIED"
        mine = ibsim_debits.c.agreement_no == req.payment_agreement_no
        day_sum, day_n = conn.execute(select(func.coalesce(func.sum(ibsim_debits.c.amount_fen), 0), func.count()).where(
            mine, applied, ibsim_debits.c.biz_date == today)).one()
        mon_sum, mon_n = conn.execute(select(func.coalesce(func.sum(ibsim_debits.c.amount_fen), 0), func.count()).where(
            mine, applied, ibsim_debits.c.biz_date >= month_start, ibsim_debits.c.biz_date <= today)).one()
        if (int(day_sum) + req.amount_fen > agr["daily_fen"] or int(mon_sum) + req.amount_fen > agr["monthly_fen"]
                or int(day_n) + 1 > agr["daily_count"] or int(mon_n) + 1 > agr["monthly_count"]):
            return RejectCode.BEYOND_AGREEMENT
        if acct["balance_fen"] < req.amount_fen:
            return RejectCode.INSUFFICIENT
        return None

    @staticmethod
    def _insert_agreement(conn: Connection, no: str, kind: str, bank_no: str, account_no: str,
                          payee: str | None, start: dt.date | None, end: dt.date | None,
                          limits: AgreementLimits | None) -> None:
        conn.execute(ibsim_agreements.insert().values(
            agreement_no=no, kind=kind, bank_no=bank_no, account_no=account_no, payee_account_no=payee,
            start_date=start, end_date=end,
            per_txn_fen=limits.per_txn_fen if limits else None, daily_fen=limits.daily_fen if limits else None,
            monthly_fen=limits.monthly_fen if limits else None, daily_count=limits.daily_count if limits else None,
            monthly_count=limits.monthly_count if limits else None, status="ACTIVE", created_us=now_us()))

    @staticmethod
    def _bank(conn: Connection, bank_no: str) -> dict | None:
        row = conn.execute(select(ibsim_banks).where(ibsim_banks.c.bank_no == bank_no)).mappings().first()
        return dict(row) if row else None

    @staticmethod
    def _account(conn: Connection, bank_no: str, account_no: str, *, lock: bool = False) -> dict | None:
        stmt = select(ibsim_accounts).where(ibsim_accounts.c.bank_no == bank_no,
                                            ibsim_accounts.c.account_no == account_no)
        if lock and conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).mappings().first()
        return dict(row) if row else None

    @staticmethod
    def _agreement(conn: Connection, no: str) -> dict | None:
        row = conn.execute(select(ibsim_agreements).where(ibsim_agreements.c.agreement_no == no)).mappings().first()
        return dict(row) if row else None


def _sign_reject(code: RejectCode) -> SignResult:
    return SignResult(False, code, REJECT_TEXT[code])


def _debit_answer(status: str, code: str | None) -> DebitResult:
    if status == "APPLIED":
        return DebitResult(DebitStatus.SUCCESS)
    if status == "LOST":
        return DebitResult(DebitStatus.REJECTED, RejectCode.OTHER, "no such debit was received (not applied)")
    rc = RejectCode(code) if code else RejectCode.OTHER
    return DebitResult(DebitStatus.REJECTED, rc, REJECT_TEXT[rc])
