"""A simulated payout channel (bank's own route and interbank route), implementing `PayoutChannel`.

State lives in `payoutsim_orders` (db/tables/payments.py), so it survives our restarts. Each order's
fate is decided at submission and stored; time only reveals it:
1. an explicit fault for the order number (`PayoutFaultPlan.by_order`, used once) — tests;
2. a standing fault for the beneficiary account (`by_account`: a closed account stays closed);
3. the channel's own rules: account number format, known bank, BANK_OWN only to our bank, the single
   payout cap, and no URGENT corporate payout outside working time (payouts/working_days.py);
4. a seeded RNG (rates), else success.
An accepted payout is REMITING until its completion time (NORMAL: the morning batch of the next working
day; NORMAL_URGENT: `normal_urgent_delay_s` later; URGENT: `urgent_delay_s` later), then SUCCESS or
FAIL. A submission that times out answers UNKNOWN; whether the channel got it is stored (or not), and
`query` tells. The same order number is never paid twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import threading
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from cunguan.clock import UTC, Clock
from cunguan.clock import from_us as _from_us
from cunguan.clock import to_us as _to_us
from cunguan.db.tables.payments import payoutsim_orders
from cunguan.db.tx import run_in_transaction
from cunguan.payments.gateway import BANK_CODES
from cunguan.payouts.channel import (
    CODE_TEXT,
    FailCode,
    PayoutOrder,
    PayoutOrderConflict,
    PayoutQueryResult,
    RejectCode,
    RemitAnswer,
    RemitResult,
    RemitStatus,
    RemitType,
    Route,
)
from cunguan.payouts.working_days import is_working_time, normal_batch_at, remit_date

EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PayoutFault:
    reject: RejectCode | None = None  # refused at submission
    fail: FailCode | None = None  # accepted, then returned
    timeout: bool = False  # submission answers UNKNOWN
    lost: bool = False  # with timeout: the channel never got it
    pending_queries: int = 0  # queries that still answer REMITING whatever the time
    delay_s: int | None = None  # override the completion delay

    def __post_init__(self) -> None:
        assert not (self.reject and self.fail)
        assert not self.lost or self.timeout
        assert self.pending_queries >= 0 and (self.delay_s is None or self.delay_s >= 0)


@dataclass
class PayoutFaultPlan:
    by_order: dict[str, PayoutFault] = field(default_factory=dict)
    by_account: dict[str, PayoutFault] = field(default_factory=dict)
    seed: int = 0
    reject_rate: float = 0.0
    fail_rate: float = 0.0
    timeout_rate: float = 0.0


@dataclass(frozen=True, slots=True)
class ChannelProfile:
    own_bank_code: str = "BOSH"  # the bank running custody (its own route)
    banks: frozenset[str] = BANK_CODES
    max_remit_fen: int = 50_000_000  # 500,000.00 per payout
    interbank_after_hours_cap_fen: int = 5_000_000  # real-time interbank outside HVPS hours (IBPS cap)
    urgent_delay_s: int = 10
    normal_urgent_delay_s: int = 1_800


class PayoutChannelSimulator:
    def __init__(self, engine: Engine, clock: Clock, *, faults: PayoutFaultPlan | None = None,
                 profile: ChannelProfile | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.faults = faults or PayoutFaultPlan()
        self.profile = profile or ChannelProfile()
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.Lock()

    # ------------------------------------------------------------ PayoutChannel

    def remit(self, order: PayoutOrder) -> RemitResult:
        order.validate()
        digest = _digest(order)
        now = self.clock.now()
        fault = self._decide(order)

        def work(conn: Connection) -> RemitResult | None:
            row = self._row(conn, order.order_no)
            if row is not None:  # the same order again: never paid twice
                if row["request_digest"] != digest:
                    raise PayoutOrderConflict(f"order {order.order_no} was submitted with other content")
                conn.execute(payoutsim_orders.update().where(payoutsim_orders.c.id == row["id"]).values(
                    received_count=row["received_count"] + 1))
                return _answer(row, duplicate=True)
            if fault.lost:
                return None
            code = fault.reject or self._check(order, now)
            complete_us = None if code else _to_us(self._completion(order, now, fault))
            values = dict(
                order_no=order.order_no, account_tail=order.account_no[-4:], bank_code=order.bank_code,
                route=order.route.value, remit_type=order.remit_type.value, corporate=order.corporate,
                amount_fen=order.amount_fen, request_digest=digest,
                answer="REJECTED" if code else "ACCEPTED", reject_code=code.value if code else None,
                outcome=None if code else ("FAIL" if fault.fail else "SUCCESS"),
                fail_code=fault.fail.value if fault.fail and not code else None,
                accepted_us=_to_us(now), complete_us=complete_us, pending_queries=fault.pending_queries,
                received_count=1)
            conn.execute(payoutsim_orders.insert().values(**values))
            return _answer(values, duplicate=False)

        result = run_in_transaction(self.engine, work)
        if fault.timeout and (result is None or not result.duplicate):
            return RemitResult(RemitAnswer.UNKNOWN, message="timeout: outcome unknown, query it")
        assert result is not None
        return result

    def query(self, order_no: str) -> PayoutQueryResult:
        now_us = _to_us(self.clock.now())

        def work(conn: Connection) -> PayoutQueryResult:
            row = self._row(conn, order_no)
            if row is None:
                return PayoutQueryResult(RemitStatus.NOT_FOUND, order_no, reason="no such order was received")
            amount = int(row["amount_fen"])
            if row["answer"] == "REJECTED":
                code = row["reject_code"]
                return PayoutQueryResult(RemitStatus.REJECTED, order_no, amount, code, CODE_TEXT.get(code, ""))
            if row["pending_queries"] > 0:
                conn.execute(payoutsim_orders.update().where(payoutsim_orders.c.id == row["id"]).values(
                    pending_queries=row["pending_queries"] - 1))
                return PayoutQueryResult(RemitStatus.REMITING, order_no, amount)
            if now_us < row["complete_us"]:
                return PayoutQueryResult(RemitStatus.REMITING, order_no, amount)
            done = _from_us(row["complete_us"])
            if row["outcome"] == "SUCCESS":
                return PayoutQueryResult(RemitStatus.SUCCESS, order_no, amount, completed_at=done)
            code = row["fail_code"]
            return PayoutQueryResult(RemitStatus.FAIL, order_no, amount, code, CODE_TEXT.get(code, ""), done)

        return run_in_transaction(self.engine, work)

    # ------------------------------------------------------------ test helpers (the channel's side)

    def received_count(self, order_no: str) -> int:
        with self.engine.connect() as conn:
            row = self._row(conn, order_no)
            return 0 if row is None else int(row["received_count"])

    def paid_total_fen(self, now: dt.datetime | None = None) -> int:
        """Money really paid out by `now` (SUCCESS outcomes whose completion time has come)."""
        now_us = _to_us(now or self.clock.now())
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.sum(payoutsim_orders.c.amount_fen), 0)).where(
                payoutsim_orders.c.outcome == "SUCCESS", payoutsim_orders.c.complete_us <= now_us)).scalar_one())

    # ------------------------------------------------------------ internals

    def _decide(self, order: PayoutOrder) -> PayoutFault:
        with self._lock:
            fault = self.faults.by_order.pop(order.order_no, None) or self.faults.by_account.get(order.account_no)
            if fault is not None:
                return fault
            plan, rng = self.faults, self._rng
            reject = RejectCode.CHANNEL_BUSY if plan.reject_rate and rng.random() < plan.reject_rate else None
            fail = None
            if reject is None and plan.fail_rate and rng.random() < plan.fail_rate:
                fail = rng.choice([FailCode.ACCOUNT_NOT_FOUND, FailCode.NAME_MISMATCH, FailCode.ACCOUNT_FROZEN,
                                   FailCode.ACCOUNT_CLOSED])
            timeout = bool(plan.timeout_rate and rng.random() < plan.timeout_rate)
            return PayoutFault(reject=reject, fail=fail, timeout=timeout, lost=timeout and rng.random() < 0.5)

    def _check(self, order: PayoutOrder, now: dt.datetime) -> RejectCode | None:
        p = self.profile
        if order.bank_code not in p.banks:
            return RejectCode.BANK_NOT_SUPPORTED
        if not order.account_well_formed:
            return RejectCode.INVALID_ACCOUNT
        if order.route is Route.BANK_OWN and order.bank_code != p.own_bank_code:
            return RejectCode.ROUTE_MISMATCH
        if order.amount_fen > p.max_remit_fen:
            return RejectCode.OVER_LIMIT
        working = is_working_time(now)
        if order.remit_type is RemitType.URGENT and order.corporate and not working:
            return RejectCode.NOT_WORKING_TIME
        if (order.route is Route.INTERBANK and order.remit_type is not RemitType.NORMAL and not working
                and order.amount_fen > p.interbank_after_hours_cap_fen):
            return RejectCode.OVER_LIMIT
        return None

    def _completion(self, order: PayoutOrder, now: dt.datetime, fault: PayoutFault) -> dt.datetime:
        if fault.delay_s is not None:
            return now + dt.timedelta(seconds=fault.delay_s)
        if order.remit_type is RemitType.URGENT:
            return now + dt.timedelta(seconds=self.profile.urgent_delay_s)
        if order.remit_type is RemitType.NORMAL_URGENT:
            return now + dt.timedelta(seconds=self.profile.normal_urgent_delay_s)
        return normal_batch_at(remit_date(order.remit_type, now)).astimezone(UTC)

    @staticmethod
    def _row(conn: Connection, order_no: str) -> dict | None:
        row = conn.execute(select(payoutsim_orders).where(payoutsim_orders.c.order_no == order_no)).mappings().first()
        return dict(row) if row else None


def _digest(order: PayoutOrder) -> str:
    text = "|".join(str(x) for x in (order.order_no, order.account_no, order.account_name, order.bank_code,
                                     order.amount_fen, order.route, order.remit_type, order.corporate))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _answer(row: dict, *, duplicate: bool) -> RemitResult:
    if row["answer"] == "REJECTED":
        code = row["reject_code"]
        return RemitResult(RemitAnswer.REJECTED, code, CODE_TEXT.get(code, ""), duplicate)
    return RemitResult(RemitAnswer.ACCEPTED, duplicate=duplicate, expected_at=_from_us(row["complete_us"]))
