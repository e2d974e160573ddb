"""A simulated payment company, implementing `PaymentCompany`; one instance per company code.

State lives in the `paysim_*` tables (db/tables/payments.py), so it survives our restarts the way a
real company's would. What decides each payment, in this order:
1. an explicit fault for the order number (`FaultPlan.by_order`, consumed when used) — tests;
2. a standing fault for the card (`FaultPlan.by_card`: a frozen card stays frozen);
3. the company's own rules: quick pay above `swift_limit_fen` is refused at once (CE03);
4. a seeded RNG (`FaultPlan` rates), else success.
The outcome is decided and stored at `start`; time only reveals it. A payment is PENDDING until its
`resolve_us`; its notification (and any duplicate copies) is due at resolve time + the notify delay.
`deliver_due(now)` hands due notifications to `on_notify` — at least once: a callback that raises
leaves the copy undelivered for the next call, the way companies retry (and two concurrent callers may
both hand over the same copy: consumers key on `notify_id` / (company, order, status) anyway). A late notification is just
one whose delay outlives the consumer's query. A start that times out answers UNKNOWN; what really
happened (received or lost on the way) is stored or not, and `query` tells.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from cunguan.calendar_cn import is_working_day
from cunguan.clock import BEIJING, UTC, Clock, from_us, to_us  # noqa: F401  (re-exported)
from cunguan.db.tables.payments import paysim_notifications, paysim_payments
from cunguan.db.tx import run_in_transaction
from cunguan.payments.gateway import (
    BANK_CODES,
    CHANNEL_ERROR_TEXT,
    BankNotSupported,
    ChannelError,
    NotificationRejected,
    OrderNoConflict,
    PayCompany,
    PayNotification,
    PayRequest,
    PayResult,
    PayStatus,
    PayType,
    PayWayNotSupported,
    RechargeWay,
    StartAnswer,
    StartResult,
)
from cunguan.payments.settlement import SettlementFile, SettlementNotDue, SettlementRow, settlement_date_for

EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
DELIVER_BATCH = 500
"""Most notifications one `deliver_due` call hands over (call again for more)."""

DUPLICATE_GAP_US = 1_000_000
"""A duplicate copy follows the previous copy by this much."""


@dataclass(frozen=True, slots=True)
class PayFault:
    """How one payment goes. Build with the constructors; the defaults are a plain, fast success."""

    outcome: PayStatus = PayStatus.SUCCESS  # SUCCESS or FAIL
    error: ChannelError | None = None  # with FAIL
    reject: bool = False  # FAIL decided at once: start answers REJECTED, no notification
    delay_s: int = 0  # PENDDING for this long after start
    timeout: bool = False  # start answers UNKNOWN
    lost: bool = False  # with timeout: the request never reached the company
    pending_queries: int = 0  # queries that still answer PENDDING whatever the time
    duplicates: int = 0  # extra copies of the notification
    notify_delay_s: int = 0  # the notification comes this long after the result
    notify: bool = True  # False: no notification at all, only query tells

    def __post_init__(self) -> None:
        assert self.outcome in (PayStatus.SUCCESS, PayStatus.FAIL)
        assert (self.outcome is PayStatus.FAIL) == (self.error is not None), "FAIL needs an error, SUCCESS none"
        assert not self.reject or self.outcome is PayStatus.FAIL
        assert not self.lost or self.timeout
        assert min(self.delay_s, self.pending_queries, self.duplicates, self.notify_delay_s) >= 0

    @staticmethod
    def success(**kw: object) -> PayFault:
        return PayFault(**kw)  # type: ignore[arg-type]

    @staticmethod
    def fail(error: ChannelError, *, reject: bool = False, **kw: object) -> PayFault:
        return PayFault(outcome=PayStatus.FAIL, error=error, reject=reject, **kw)  # type: ignore[arg-type]


@dataclass
class FaultPlan:
    """Faults for the simulator. `by_order` entries are used once; `by_card` ones stand."""

    by_order: dict[str, PayFault] = field(default_factory=dict)
    by_card: dict[str, PayFault] = field(default_factory=dict)
    seed: int = 0
    fail_rate: float = 0.0
    pending_rate: float = 0.0
    timeout_rate: float = 0.0
    duplicate_rate: float = 0.0
    late_rate: float = 0.0
    max_delay_s: int = 300
    max_late_s: int = 3_600


@dataclass(frozen=True, slots=True)
class CompanyProfile:
    """What one simulated company offers and charges."""

    ways: frozenset[RechargeWay] = frozenset({RechargeWay.SWIFT, RechargeWay.WEB})
    pay_types: frozenset[PayType] = frozenset({PayType.B2C, PayType.B2B})
    banks: frozenset[str] = BANK_CODES
    swift_limit_fen: int = 5_000_000  # 50,000.00 per quick-pay payment
    fee_bp: Mapping[RechargeWay, int] = field(
        default_factory=lambda: {RechargeWay.SWIFT: 20, RechargeWay.WEB: 15})  # basis points of the amount
    secret: bytes = b"paysim-shared-secret"


def fee_for(amount_fen: int, bp: int) -> int:
    """The company's fee: `bp` basis points of the amount, rounded half up to the fen, never above it."""
    assert amount_fen > 0 and bp >= 0
    return min(amount_fen, (amount_fen * bp + 5_000) // 10_000)


def sign_fields(fields: Mapping[str, str], secret: bytes) -> str:
    """HMAC-SHA256 over `k=v` pairs sorted by key, `&`-joined, without `sign` (hex)."""
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "sign")
    return hmac.new(secret, text.encode("utf-8"), hashlib.sha256).hexdigest()


NOTIFY_FIELDS = ("company", "notifyId", "orderNo", "companyOrderNo", "status", "amountFen", "feeFen",
                 "paidAt", "errorCode", "errorMessage", "sign")


class PaymentCompanySimulator:
    """One simulated payment company (implements `PaymentCompany`)."""

    def __init__(self, engine: Engine, clock: Clock, code: PayCompany | str, *,
                 faults: FaultPlan | None = None, profile: CompanyProfile | None = None,
                 on_notify: Callable[[PayNotification], object] | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self._code = PayCompany(code)
        self.faults = faults or FaultPlan()
        self.profile = profile or CompanyProfile()
        self.on_notify = on_notify
        self._rng = random.Random(f"{self.faults.seed}:{self._code}")
        self._lock = threading.Lock()

    @property
    def code(self) -> PayCompany:
        return self._code

    # ------------------------------------------------------------ PaymentCompany

    def supports(self, way: RechargeWay, pay_type: PayType | None, bankcode: str | None) -> None:
        if way not in self.profile.ways:
            raise PayWayNotSupported(f"{self._code} does not offer {way}")
        if pay_type is not None and pay_type not in self.profile.pay_types:
            raise PayWayNotSupported(f"{self._code} does not offer {pay_type} online banking")
        if bankcode is not None and bankcode not in self.profile.banks:
            raise BankNotSupported(f"{self._code} does not serve bank {bankcode}")

    def start(self, req: PayRequest) -> StartResult:
        req.validate()
        self.supports(req.way, req.pay_type, req.bankcode)
        digest = _request_digest(req)
        fault = self._decide(req)
        now = to_us(self.clock.now())

        def work(conn: Connection) -> StartResult | None:
            row = self._row(conn, req.order_no)
            if row is not None:  # the same order again: never a second charge
                if row["request_digest"] != digest:
                    raise OrderNoConflict(f"order {req.order_no} was started with other content")
                conn.execute(paysim_payments.update().where(paysim_payments.c.id == row["id"]).values(
                    received_count=row["received_count"] + 1))
                return _start_answer(row, duplicate=True)
            if fault.lost:
                return None
            row = self._insert(conn, req, digest, fault, now)
            return _start_answer(row, duplicate=False)

        result = run_in_transaction(self.engine, work)
        if fault.timeout and (result is None or not result.duplicate):
            return StartResult(StartAnswer.UNKNOWN, error_message="timeout: outcome unknown, query it")
        assert result is not None
        return result

    def query(self, order_no: str) -> PayResult:
        now = to_us(self.clock.now())

        def work(conn: Connection) -> PayResult:
            row = self._row(conn, order_no)
            if row is None:
                return PayResult(PayStatus.NOT_FOUND, order_no, error_message="no such order was received")
            if row["pending_queries"] > 0:
                conn.execute(paysim_payments.update().where(paysim_payments.c.id == row["id"]).values(
                    pending_queries=row["pending_queries"] - 1))
                return _pending(row)
            if now < row["resolve_us"]:
                return _pending(row)
            return _final(row)

        return run_in_transaction(self.engine, work)

    def parse_notification(self, fields: Mapping[str, str]) -> PayNotification:
        """Verify and parse a notification's wire form (strict: every field, right company, right sign)."""
        if set(fields) != set(NOTIFY_FIELDS) or not all(isinstance(v, str) for v in fields.values()):
            raise NotificationRejected("notification fields are not the expected set")
        if not hmac.compare_digest(sign_fields(fields, self.profile.secret), fields["sign"]):
            raise NotificationRejected("notification signature does not verify")
        if fields["company"] != self._code:
            raise NotificationRejected("notification is for another company")
        try:
            status = PayStatus(fields["status"])
            amount_fen = int(fields["amountFen"])
            fee_fen = int(fields["feeFen"])
            paid_at = dt.datetime.fromisoformat(fields["paidAt"]) if fields["paidAt"] else None
        except ValueError:
            raise NotificationRejected("notification has a malformed field") from None
        if status not in (PayStatus.SUCCESS, PayStatus.FAIL) or amount_fen <= 0 or not 0 <= fee_fen <= amount_fen:
            raise NotificationRejected("notification status or amounts are out of range")
        if (status is PayStatus.SUCCESS) != (paid_at is not None) or (paid_at and paid_at.tzinfo is None):
            raise NotificationRejected("notification paidAt does not fit its status")
        return PayNotification(
            company=self._code, notify_id=fields["notifyId"], order_no=fields["orderNo"],
            company_order_no=fields["companyOrderNo"], status=status, amount_fen=amount_fen, fee_fen=fee_fen,
            paid_at=paid_at, error_code=fields["errorCode"] or None, error_message=fields["errorMessage"],
            fields=dict(fields))

    # ------------------------------------------------------------ time moves

    def deliver_due(self, now: dt.datetime | None = None) -> list[PayNotification]:
        """Hand every notification due by `now` to `on_notify` (oldest first, at most DELIVER_BATCH).

        Returns the copies delivered. A callback that raises leaves its copy due (attempts counted).
        """
        now_us = to_us(now or self.clock.now())
        with self.engine.connect() as conn:
            due = conn.execute(
                select(paysim_notifications.c.id, paysim_notifications.c.copy_no, paysim_payments)
                .join(paysim_payments, paysim_payments.c.id == paysim_notifications.c.payment_id)
                .where(paysim_notifications.c.company == self._code, paysim_notifications.c.delivered_us.is_(None),
                       paysim_notifications.c.due_us <= now_us)
                .order_by(paysim_notifications.c.due_us, paysim_notifications.c.id)
                .limit(DELIVER_BATCH)).mappings().all()
        delivered: list[PayNotification] = []
        for item in due:
            note = self.parse_notification(self._notification_fields(item))
            ok = True
            if self.on_notify is not None:
                try:
                    self.on_notify(note)
                except Exception:  # noqa: BLE001 - the consumer failed: the company retries later
                    ok = False
            run_in_transaction(self.engine, lambda c, nid=item["id"], ok=ok: c.execute(
                paysim_notifications.update().where(paysim_notifications.c.id == nid).values(
                    attempts=paysim_notifications.c.attempts + 1, delivered_us=now_us if ok else None)))
            if ok:
                delivered.append(note)
        return delivered

    # ------------------------------------------------------------ settlement (T+1)

    def settlement_file(self, pay_date: dt.date) -> SettlementFile:
        """The settlement file for `pay_date` (Beijing): every payment that succeeded that day.

        The company sends it on the settlement day (the next working day), not before.
        """
        settle_on = settlement_date_for(pay_date)
        if self.clock.beijing_date() < settle_on:
            raise SettlementNotDue(f"{self._code} settles {pay_date} on {settle_on}")
        start = to_us(dt.datetime.combine(pay_date, dt.time(0), BEIJING))
        end = to_us(dt.datetime.combine(pay_date + dt.timedelta(days=1), dt.time(0), BEIJING))
        with self.engine.connect() as conn:
            rows = conn.execute(select(paysim_payments).where(
                paysim_payments.c.company == self._code, paysim_payments.c.answer == "ACCEPTED",
                paysim_payments.c.outcome == "SUCCESS", paysim_payments.c.resolve_us >= start,
                paysim_payments.c.resolve_us < end).order_by(paysim_payments.c.resolve_us, paysim_payments.c.id)
            ).mappings().all()
        return SettlementFile(self._code, pay_date, tuple(
            SettlementRow(self._code, pay_date, r["order_no"], r["company_order_no"], int(r["amount_fen"]),
                          int(r["fee_fen"])) for r in rows))

    def is_settlement_day(self, day: dt.date) -> bool:
        """Companies settle on working days only."""
        return is_working_day(day)

    # ------------------------------------------------------------ test helpers (their side)

    def received_count(self, order_no: str) -> int:
        with self.engine.connect() as conn:
            row = self._row(conn, order_no)
            return 0 if row is None else int(row["received_count"])

    def charged_total_fen(self, orders: Iterable[str] | None = None) -> int:
        """Money really taken from payers (SUCCESS outcomes, resolved or not yet)."""
        stmt = select(paysim_payments.c.order_no, paysim_payments.c.amount_fen).where(
            paysim_payments.c.company == self._code, paysim_payments.c.answer == "ACCEPTED",
            paysim_payments.c.outcome == "SUCCESS")
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        wanted = None if orders is None else set(orders)
        return sum(int(a) for o, a in rows if wanted is None or o in wanted)

    # ------------------------------------------------------------ internals

    def _decide(self, req: PayRequest) -> PayFault:
        with self._lock:
            fault = self.faults.by_order.pop(req.order_no, None)
            if fault is None and req.card_no is not None:
                fault = self.faults.by_card.get(req.card_no)
            if fault is not None:
                return fault
            if req.way is RechargeWay.SWIFT and req.amount_fen > self.profile.swift_limit_fen:
                return PayFault.fail(ChannelError.EXCEEDS_LIMIT, reject=True)
            return self._random_fault(req.card_no)

    def _random_fault(self, card_no: str | None) -> PayFault:
        """Failures are a property of the card (the same card keeps failing the same way, as a short or
        frozen card does); delays, timeouts and repeats are a property of the call."""
        plan, rng = self.faults, self._rng
        card_rng = random.Random(f"{plan.seed}:{card_no}") if card_no else rng
        kw: dict[str, object] = {}
        if plan.fail_rate and card_rng.random() < plan.fail_rate:
            kw["outcome"] = PayStatus.FAIL
            kw["error"] = card_rng.choice([ChannelError.INSUFFICIENT_BALANCE, ChannelError.CARD_FROZEN,
                                      ChannelError.EXCEEDS_LIMIT, ChannelError.CARD_INFO_MISMATCH])
        if plan.pending_rate and rng.random() < plan.pending_rate:
            kw["delay_s"] = rng.randint(1, plan.max_delay_s)
        if plan.timeout_rate and rng.random() < plan.timeout_rate:
            kw["timeout"] = True
            kw["lost"] = rng.random() < 0.5
        if plan.duplicate_rate and rng.random() < plan.duplicate_rate:
            kw["duplicates"] = rng.randint(1, 3)
        if plan.late_rate and rng.random() < plan.late_rate:
            kw["notify_delay_s"] = rng.randint(60, plan.max_late_s)
        return PayFault(**kw)  # type: ignore[arg-type]

    def _insert(self, conn: Connection, req: PayRequest, digest: str, fault: PayFault, now_us: int) -> dict:
        company_order_no = f"{self._code[:4]}{uuid.uuid4().hex[:20].upper()}"
        resolve_us = now_us if fault.reject else now_us + fault.delay_s * 1_000_000
        error = fault.error
        values = dict(
            company=self._code, order_no=req.order_no, company_order_no=company_order_no, way=req.way.value,
            pay_type=req.pay_type.value if req.pay_type else None, bankcode=req.bankcode,
            card_tail=req.card_no[-4:] if req.card_no else None, amount_fen=req.amount_fen,
            fee_fen=fee_for(req.amount_fen, self.profile.fee_bp.get(req.way, 0)), request_digest=digest,
            answer="REJECTED" if fault.reject else "ACCEPTED", outcome=fault.outcome.value,
            error_code=error.value if error else None, error_message=CHANNEL_ERROR_TEXT[error] if error else None,
            created_us=now_us, resolve_us=resolve_us, pending_queries=fault.pending_queries, received_count=1)
        payment_id = conn.execute(paysim_payments.insert().values(**values)).inserted_primary_key[0]
        if not fault.reject and fault.notify:
            first_due = resolve_us + fault.notify_delay_s * 1_000_000
            conn.execute(paysim_notifications.insert(), [
                dict(company=self._code, payment_id=payment_id, copy_no=k + 1,
                     due_us=first_due + k * DUPLICATE_GAP_US, delivered_us=None, attempts=0)
                for k in range(1 + fault.duplicates)])
        return {**values, "id": payment_id}

    def _row(self, conn: Connection, order_no: str) -> dict | None:
        row = conn.execute(select(paysim_payments).where(
            paysim_payments.c.company == self._code, paysim_payments.c.order_no == order_no)).mappings().first()
        return dict(row) if row else None

    def _notification_fields(self, row: Mapping) -> dict[str, str]:
        success = row["outcome"] == "SUCCESS"
        fields = {
            "company": self._code.value,
            "notifyId": f"{row['company_order_no']}-{row['outcome']}",
            "orderNo": row["order_no"],
            "companyOrderNo": row["company_order_no"],
            "status": row["outcome"],
            "amountFen": str(row["amount_fen"]),
            "feeFen": str(row["fee_fen"] if success else 0),
            "paidAt": from_us(row["resolve_us"]).isoformat() if success else "",
            "errorCode": row["error_code"] or "",
            "errorMessage": row["error_message"] or "",
        }
        fields["sign"] = sign_fields(fields, self.profile.secret)
        return fields


def _request_digest(req: PayRequest) -> str:
    text = "|".join(str(x or "") for x in (req.order_no, req.amount_fen, req.way, req.bankcode, req.card_no,
                                           req.mobile, req.pay_type))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _start_answer(row: Mapping, *, duplicate: bool) -> StartResult:
    if row["answer"] == "REJECTED":
        return StartResult(StartAnswer.REJECTED, row["company_order_no"], error_code=row["error_code"],
                           error_message=row["error_message"] or "", duplicate=duplicate)
    redirect = None
    if row["way"] == RechargeWay.WEB:
        redirect = f"https://paysim.invalid/{row['company']}/cashier/{row['company_order_no']}"
    return StartResult(StartAnswer.ACCEPTED, row["company_order_no"], redirect_url=redirect, duplicate=duplicate)


def _pending(row: Mapping) -> PayResult:
    return PayResult(PayStatus.PENDDING, row["order_no"], row["company_order_no"], int(row["amount_fen"]))


def _final(row: Mapping) -> PayResult:
    if row["outcome"] == "SUCCESS":
        return PayResult(PayStatus.SUCCESS, row["order_no"], row["company_order_no"], int(row["amount_fen"]),
                         int(row["fee_fen"]), from_us(row["resolve_us"]))
    return PayResult(PayStatus.FAIL, row["order_no"], row["company_order_no"], int(row["amount_fen"]), 0,
                     error_code=row["error_code"], error_message=row["error_message"] or "")


__all__ = ["CompanyProfile", "FaultPlan", "PayFault", "PaymentCompanySimulator", "fee_for", "sign_fields"]
