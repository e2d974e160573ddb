"""The bank's custody fee (scenario 15): deducted periodically from the platform own account.

Accounts (ledger sign convention: balance = Σ credits − Σ debits):
- `P:{platformNo}:OWN` (owner PLATFORM_OWN, may not overdraw): the platform own account (平台自有账户),
  a real account in the platform's name outside the custody account. Opened when the fee plan is
  configured or on the first deposit.
- `BANK:CUSTODY_FEE_INCOME` (owner BANK, may not overdraw): the bank's fee income. It is only ever
  credited here, so its balance is the fee income collected, never negative.
- `BANK:CLEARING` (owner BANK, may overdraw): where a platform's payment into its own account comes
  from (the bank's clearing, i.e. the outside world): deposit = debit CLEARING / credit OWN, so the
  clearing account carries minus what came in. The fee is debit OWN / credit FEE_INCOME.
No posting here touches a custody account (the custody cash account or any virtual account): the
fee is paid from the platform's own money only.

The fee for a period (decisions where the issue is silent):
- Periods are calendar periods in Beijing dates: MONTHLY, QUARTERLY, HALF_YEARLY, YEARLY. A period is
  due the calendar day after it ends (the bank deducts on any day; no working-day rule applies).
  The first period of a plan starts at its `start_date` and may be partial; so may the first period
  after the period length was changed. A period is charged at most once: UNIQUE (platform, start).
- RATE: fee = annual rate × Σ_d B_d / days in the year, rounded half-up to the fen, where B_d is the
  custody balance at the end of Beijing day d (23:59:59.999999) for every day d of the period: what
  the bank owes the platform's users = minus the balance of the platform's custody cash account
  (`ledger_store.balance_at`), i.e. the sum of all its virtual accounts; never below 0. This is
  rate × average daily balance × days / days-in-year; calendar periods never cross a year, so the
  year is the period's own (366 in a leap year). Exact integer arithmetic (the same result as Decimal
  ROUND_HALF_UP; no float anywhere). The rate is kept in ppm per year (1 bp = 100 ppm).
- FLAT: a fixed fee per full period; a partial period pays flat × days / days-in-period, half-up.
- The terms in force when a period is charged apply to the whole period (configure changes take
  effect from the next uncharged period, which may already be running).
- Collection: oldest arrears first, then the new charge; each takes min(available, owed) of the own
  account, never more (the account may not overdraw). What is left stays OWED on the charge and is
  collected on a later run (after a deposit). A charge of 0 fen is recorded as PAID with no posting.
- Every change is one transaction: charge row + posting + movement row; the own account is locked
  first (PostgreSQL `FOR UPDATE`; SQLite's IMMEDIATE transaction holds the write lock), so concurrent
  runners serialize per platform and a second runner sees the first one's rows.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine

from cunguan import periodic
from cunguan.clock import (
    BEIJING,
    Clock,
    now_us,  # noqa: F401  (re-exported)
)
from cunguan.custody import platforms
from cunguan.custody.errors import InvalidRequest, PlatformNotFound, Refused
from cunguan.db import ledger_store
from cunguan.db.reads import reading
from cunguan.db.tables.custody_fees import custody_fee_charges, custody_fee_movements, custody_fee_plans
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer
from cunguan.money import MAX_FEN

log = logging.getLogger(__name__)

PERIOD_MONTHS = {"MONTHLY": 1, "QUARTERLY": 3, "HALF_YEARLY": 6, "YEARLY": 12}
RATE = "RATE"
FLAT = "FLAT"
PAID = "PAID"
OWED = "OWED"
PPM = 1_000_000
MAX_RATE_PPM = PPM  # 100 % a year: anything above is a typo, not a price
MAX_PERIODS_PER_RUN = 36
"""Catch-up bound per platform and run (three years of monthly periods); the next run continues."""
MAX_LISTED = 200

OWNER_OWN = "PLATFORM_OWN"
FEE_INCOME = "BANK:CUSTODY_FEE_INCOME"
CLEARING = "BANK:CLEARING"
BIZ_DEPOSIT = "PLATFORM_OWN_DEPOSIT"
BIZ_FEE = "CUSTODY_FEE"
DEPOSIT_REF_MAX = 64


def own_account_code(platform_no: str) -> str:
    return f"P:{platform_no}:OWN"


# ---------------------------------------------------------------- pure: periods and formula


def days_in_year(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def period_bounds(day: dt.date, period: str) -> tuple[dt.date, dt.date]:
    """The calendar period of length `period` that contains `day`: (first day, last day)."""
    months = PERIOD_MONTHS[period]
    first_month = (day.month - 1) // months * months + 1
    last_month = first_month + months - 1
    start = dt.date(day.year, first_month, 1)
    end = dt.date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])
    return start, end


def days_between(first: dt.date, last: dt.date) -> int:
    """Days of [first, last], both included."""
    return (last - first).days + 1


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up, for numerator ≥ 0 < denominator (exact integers)."""
    assert numerator >= 0 and denominator > 0
    return (2 * numerator + denominator) // (2 * denominator)


def rate_fee_fen(balance_sum_fen: int, annual_rate_ppm: int, year_days: int) -> int:
    """rate × Σ daily balances / days in year, half-up to the fen."""
    assert balance_sum_fen >= 0 and 0 <= annual_rate_ppm <= MAX_RATE_PPM and year_days in (365, 366)
    return _half_up(annual_rate_ppm * balance_sum_fen, PPM * year_days)


def flat_fee_fen(flat_fen: int, days: int, period_days: int) -> int:
    """The flat fee of a period; a partial period pays its share of days, half-up."""
    assert flat_fen >= 0 and 0 < days <= period_days
    return flat_fen if days == period_days else _half_up(flat_fen * days, period_days)


def average_daily_fen(balance_sum_fen: int, days: int) -> Decimal:
    """Σ daily balances / days as yuan with two places (display only; the fee uses the exact sum)."""
    fen = (Decimal(balance_sum_fen) / Decimal(days)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return (fen / 100).quantize(Decimal("0.01"))


def parse_rate_bp(text: object) -> int:
    """An annual rate in basis points ('5', '2.5') -> ppm; exact to 0.01 bp."""
    return _rate_to_ppm(text, Decimal(100), "rate-bp")


def parse_rate(text: object) -> int:
    """An annual rate as a fraction ('0.0005') or a percentage ('0.05%') -> ppm; exact to 1 ppm."""
    if isinstance(text, str) and text.strip().endswith("%"):
        return _rate_to_ppm(text.strip()[:-1], Decimal(10_000), "rate")
    return _rate_to_ppm(text, Decimal(PPM), "rate")


def _rate_to_ppm(text: object, scale: Decimal, name: str) -> int:
    if isinstance(text, bool) or not isinstance(text, str | int | Decimal):
        raise InvalidRequest(f"{name} must be a decimal number", field=name)
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise InvalidRequest(f"{name} must be a decimal number, got {str(text)[:20]!r}", field=name) from None
    if not value.is_finite() or value < 0:
        raise InvalidRequest(f"{name} must be a finite number ≥ 0", field=name)
    ppm = value * scale
    if ppm != ppm.to_integral_value():
        raise InvalidRequest(f"{name} is finer than 1 ppm (0.01 bp) a year", field=name)
    if ppm > MAX_RATE_PPM:
        raise InvalidRequest(f"{name} is above 100 % a year", field=name)
    return int(ppm)


def format_rate(annual_rate_ppm: int) -> str:
    """ppm -> basis points text, e.g. 500 -> '5 bp', 250 -> '2.5 bp'."""
    bp = (Decimal(annual_rate_ppm) / 100).normalize()
    return f"{bp:f} bp"


def day_end_us(day: dt.date) -> int:
    """The last microsecond of a Beijing day, in UTC microseconds."""
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=BEIJING)
    return int(midnight.timestamp()) * 1_000_000 - 1


# ---------------------------------------------------------------- plans


@dataclass(frozen=True)
class Plan:
    platform_no: str
    method: str
    annual_rate_ppm: int
    flat_fee_fen: int
    period: str
    start_date: dt.date

    def describe(self) -> str:
        price = format_rate(self.annual_rate_ppm) + " a year" if self.method == RATE else \
            f"{Decimal(self.flat_fee_fen).scaleb(-2):.2f} yuan per period"
        return f"{self.method} {price}, {self.period}, from {self.start_date}"


@dataclass(frozen=True)
class Charge:
    id: int
    platform_no: str
    period_start: dt.date
    period_end: dt.date
    days: int
    period_days: int
    year_days: int
    method: str
    annual_rate_ppm: int
    flat_fee_fen: int
    balance_sum_fen: int
    fee_fen: int
    paid_fen: int
    status: str
    charged_us: int
    settled_us: int | None

    @property
    def owed_fen(self) -> int:
        return self.fee_fen - self.paid_fen

    @property
    def average_daily_balance(self) -> Decimal:
        return average_daily_fen(self.balance_sum_fen, self.days)


@dataclass(frozen=True)
class Movement:
    id: int
    kind: str
    ref: str
    charge_id: int | None
    amount_fen: int
    posting_seq: int
    created_us: int


def _check_platform(conn: Connection, platform_no: str) -> platforms.Platform:
    platform = platforms.find_platform(conn, platform_no)
    if platform is None:
        raise PlatformNotFound(f"platformNo {str(platform_no)[:32]!r} is not registered", field="platformNo")
    return platform


def open_own_account(conn: Connection, platform_no: str) -> int:
    return ledger_store.open_account(conn, own_account_code(platform_no), owner_type=OWNER_OWN,
                                     owner_ref=platform_no, allow_overdraw=False)


def _bank_accounts(conn: Connection) -> tuple[int, int]:
    """(clearing, fee income), opened on first use."""
    return (ledger_store.open_account(conn, CLEARING, owner_type="BANK", owner_ref="CLEARING", allow_overdraw=True),
            ledger_store.open_account(conn, FEE_INCOME, owner_type="BANK", owner_ref="CUSTODY_FEE",
                                      allow_overdraw=False))


def _to_plan(row) -> Plan:
    return Plan(row["platform_no"], row["method"], int(row["annual_rate_ppm"]), int(row["flat_fee_fen"]),
                row["period"], row["start_date"])


def find_plan(conn: Connection, platform_no: str) -> Plan | None:
    row = conn.execute(select(custody_fee_plans).where(custody_fee_plans.c.platform_no == platform_no)) \
        .mappings().first()
    return _to_plan(row) if row is not None else None


def list_plans(conn: Connection) -> list[Plan]:
    rows = conn.execute(select(custody_fee_plans).order_by(custody_fee_plans.c.platform_no)).mappings()
    return [_to_plan(r) for r in rows]


def configure(conn: Connection, clock: Clock, *, platform_no: str, period: str, annual_rate_ppm: int | None = None,
              flat_fee_fen: int | None = None, start_date: dt.date | None = None) -> Plan:
    """Create or change a platform's fee plan (exactly one of a rate or a flat fee) and open its own
    account. A new plan starts on `start_date` (default: today, Beijing); a change keeps the start unless
    one is given, and never reaches back into a period already charged."""
    _check_platform(conn, platform_no)
    if period not in PERIOD_MONTHS:
        raise InvalidRequest(f"period must be one of {', '.join(PERIOD_MONTHS)}", field="period")
    if (annual_rate_ppm is None) == (flat_fee_fen is None):
        raise InvalidRequest("give exactly one of a rate or a flat fee", field="rate")
    if annual_rate_ppm is not None and not 0 <= annual_rate_ppm <= MAX_RATE_PPM:
        raise InvalidRequest("rate must be within 0 .. 100 % a year", field="rate")
    if flat_fee_fen is not None and not 0 <= flat_fee_fen <= MAX_FEN:
        raise InvalidRequest("flat fee must be ≥ 0", field="flat")
    last_end = _last_charged_end(conn, platform_no)
    if start_date is not None and last_end is not None and start_date <= last_end:
        raise InvalidRequest(f"start date must be after {last_end}, the end of the last charged period",
                             field="start")
    now = now_us(clock)
    values = dict(method=RATE if annual_rate_ppm is not None else FLAT, annual_rate_ppm=annual_rate_ppm or 0,
                  flat_fee_fen=flat_fee_fen or 0, period=period, updated_us=now)
    existing = find_plan(conn, platform_no)
    if existing is None:
        conn.execute(custody_fee_plans.insert().values(platform_no=platform_no, created_us=now,
                                                       start_date=start_date or clock.beijing_date(), **values))
    else:
        if start_date is not None:
            values["start_date"] = start_date
        conn.execute(update(custody_fee_plans).where(custody_fee_plans.c.platform_no == platform_no).values(**values))
    open_own_account(conn, platform_no)
    plan = find_plan(conn, platform_no)
    assert plan is not None
    return plan


# ---------------------------------------------------------------- the own account


def own_balance(conn: Connection, platform_no: str) -> tuple[int, int]:
    """(balance_fen, frozen_fen) of the own account; (0, 0) before it is opened."""
    row = ledger_store.find_account(conn, own_account_code(platform_no))
    return (0, 0) if row is None else (int(row["balance_fen"]), int(row["frozen_fen"]))


def _lock_own(conn: Connection, platform_no: str) -> tuple[int, int]:
    """Open (first time) and lock the own account; its id and available balance under the lock."""
    own_id = open_own_account(conn, platform_no)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT id FROM accounts WHERE id = %s FOR UPDATE", (own_id,))
    balance, frozen = ledger_store.get_balance(conn, own_id)
    return own_id, balance - frozen


def _movement(conn: Connection, now: int, platform_no: str, kind: str, ref: str, amount_fen: int, seq: int,
              charge_id: int | None = None) -> None:
    conn.execute(custody_fee_movements.insert().values(
        platform_no=platform_no, kind=kind, ref=ref, charge_id=charge_id, amount_fen=amount_fen,
        posting_seq=seq, created_us=now))


@dataclass(frozen=True)
class DepositResult:
    platform_no: str
    ref: str
    amount_fen: int
    replayed: bool


def deposit(conn: Connection, clock: Clock, *, platform_no: str, amount_fen: int, ref: str) -> DepositResult:
    """The platform pays `amount_fen` into its own account (demo and tests: in production this is a
    payment arriving through clearing). Idempotent per (platform, ref): a repeat with the same amount
    answers the original, another amount is refused. Arrears are collected at the next charge run."""
    _check_platform(conn, platform_no)
    if not isinstance(ref, str) or not 1 <= len(ref) <= DEPOSIT_REF_MAX or any(ord(c) < 33 for c in ref):
        raise InvalidRequest(f"ref must be 1-{DEPOSIT_REF_MAX} visible characters", field="ref")
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or not 0 < amount_fen <= MAX_FEN:
        raise InvalidRequest("amount must be greater than 0", field="amount")
    own_id, _available = _lock_own(conn, platform_no)  # first, so a concurrent repeat sees this one
    previous = conn.execute(select(custody_fee_movements.c.amount_fen).where(
        custody_fee_movements.c.platform_no == platform_no, custody_fee_movements.c.kind == "DEPOSIT",
        custody_fee_movements.c.ref == ref)).scalar()
    if previous is not None:
        if int(previous) != amount_fen:
            raise Refused(f"deposit {ref} was already made with another amount", field="ref")
        return DepositResult(platform_no, ref, amount_fen, True)
    clearing, _income = _bank_accounts(conn)
    (result,) = ledger_store.apply(conn, [Transfer(clearing, own_id, amount_fen, BIZ_DEPOSIT, f"{platform_no}:{ref}",
                                                   key=f"{platform_no}:FEE_DEPOSIT:{ref}")])
    assert result.ok and result.posting_seq is not None
    _movement(conn, now_us(clock), platform_no, "DEPOSIT", ref, amount_fen, result.posting_seq)
    return DepositResult(platform_no, ref, amount_fen, False)


# ---------------------------------------------------------------- charges


def _to_charge(row) -> Charge:
    return Charge(int(row["id"]), row["platform_no"], row["period_start"], row["period_end"], int(row["days"]),
                  int(row["period_days"]), int(row["year_days"]), row["method"], int(row["annual_rate_ppm"]),
                  int(row["flat_fee_fen"]), int(row["balance_sum_fen"]), int(row["fee_fen"]), int(row["paid_fen"]),
                  row["status"], int(row["charged_us"]),
                  None if row["settled_us"] is None else int(row["settled_us"]))


def _last_charged_end(conn: Connection, platform_no: str) -> dt.date | None:
    return conn.execute(select(func.max(custody_fee_charges.c.period_end))
                        .where(custody_fee_charges.c.platform_no == platform_no)).scalar()


def next_period(conn: Connection, plan: Plan) -> tuple[dt.date, dt.date, int]:
    """The first period not yet charged: (first day, last day, days of its full calendar period)."""
    last_end = _last_charged_end(conn, plan.platform_no)
    cursor = plan.start_date if last_end is None else max(plan.start_date, last_end + dt.timedelta(days=1))
    start, end = period_bounds(cursor, plan.period)
    return cursor, end, days_between(start, end)


def daily_balances(conn: Connection, custody_account_id: int, first: dt.date, last: dt.date) -> list[int]:
    """The custody balance (what the bank owes the platform's users, ≥ 0) at the end of each day."""
    out = []
    day = first
    while day <= last:
        out.append(max(0, -ledger_store.balance_at(conn, custody_account_id, day_end_us(day))))
        day += dt.timedelta(days=1)
    return out


def charges(conn: Connection, platform_no: str, *, limit: int = MAX_LISTED) -> list[Charge]:
    rows = conn.execute(select(custody_fee_charges).where(custody_fee_charges.c.platform_no == platform_no)
                        .order_by(custody_fee_charges.c.period_start.desc()).limit(limit)).mappings()
    return [_to_charge(r) for r in rows]


def movements(conn: Connection, platform_no: str, *, limit: int = MAX_LISTED) -> list[Movement]:
    rows = conn.execute(select(custody_fee_movements).where(custody_fee_movements.c.platform_no == platform_no)
                        .order_by(custody_fee_movements.c.id.desc()).limit(limit)).mappings()
    return [Movement(int(r["id"]), r["kind"], r["ref"], None if r["charge_id"] is None else int(r["charge_id"]),
                     int(r["amount_fen"]), int(r["posting_seq"]), int(r["created_us"])) for r in rows]


def owed_total(conn: Connection, platform_no: str) -> int:
    value = conn.execute(select(func.coalesce(func.sum(custody_fee_charges.c.fee_fen - custody_fee_charges.c.paid_fen), 0))
                         .where(custody_fee_charges.c.platform_no == platform_no,
                                custody_fee_charges.c.status == OWED)).scalar()
    return int(value or 0)


def _collect(conn: Connection, now: int, own_id: int, income_id: int, charge_id: int, platform_no: str,
             kind: str, ref: str, amount_fen: int) -> None:
    """Move `amount_fen` from the own account to fee income for a charge, and record it."""
    (result,) = ledger_store.apply(conn, [Transfer(own_id, income_id, amount_fen, BIZ_FEE, f"{platform_no}:{ref}",
                                                   key=f"{platform_no}:CUSTODY_FEE:{kind}:{ref}")])
    assert result.ok and result.posting_seq is not None
    _movement(conn, now, platform_no, kind, ref, amount_fen, result.posting_seq, charge_id)


def collect_arrears(conn: Connection, clock: Clock, platform_no: str) -> list[tuple[dt.date, int]]:
    """Collect OWED charges, oldest first, as far as the own account's available balance goes.
    Returns (period start, amount collected) per charge touched."""
    own_id, available = _lock_own(conn, platform_no)
    owed = conn.execute(select(custody_fee_charges).where(
        custody_fee_charges.c.platform_no == platform_no, custody_fee_charges.c.status == OWED)
        .order_by(custody_fee_charges.c.period_start)).mappings().all()
    if not owed or available <= 0:
        return []
    _clearing, income_id = _bank_accounts(conn)
    now = now_us(clock)
    done = []
    for row in owed:
        charge = _to_charge(row)
        take = min(available, charge.owed_fen)
        if take <= 0:
            break
        n = conn.execute(select(func.count()).select_from(custody_fee_movements).where(
            custody_fee_movements.c.charge_id == charge.id, custody_fee_movements.c.kind == "ARREARS")).scalar_one()
        _collect(conn, now, own_id, income_id, charge.id, platform_no, "ARREARS",
                 f"{charge.period_start.isoformat()}#{int(n) + 1}", take)
        paid = charge.paid_fen + take
        settled = paid == charge.fee_fen
        result = conn.execute(update(custody_fee_charges).where(
            custody_fee_charges.c.id == charge.id, custody_fee_charges.c.paid_fen == charge.paid_fen).values(
            paid_fen=paid, status=PAID if settled else OWED, settled_us=now if settled else None))
        assert result.rowcount == 1, "the own-account lock serializes collections"
        available -= take
        done.append((charge.period_start, take))
    return done


def charge_next(conn: Connection, clock: Clock, platform_no: str, today: dt.date) -> Charge | None:
    """Charge the platform's next period if it has ended before `today`; None when nothing is due."""
    plan = find_plan(conn, platform_no)
    if plan is None:
        return None
    platform = _check_platform(conn, platform_no)
    own_id, available = _lock_own(conn, platform_no)  # first: serializes runners for this platform
    first, last, period_days = next_period(conn, plan)
    if last >= today:
        return None
    days = days_between(first, last)
    year_days = days_in_year(first.year)
    balance_sum = 0
    if plan.method == RATE:
        balance_sum = sum(daily_balances(conn, platform.custody_account_id, first, last))
        fee = rate_fee_fen(balance_sum, plan.annual_rate_ppm, year_days)
    else:
        fee = flat_fee_fen(plan.flat_fee_fen, days, period_days)
    owed_before = owed_total(conn, platform_no)
    take = min(max(0, available), fee) if owed_before == 0 else 0  # older arrears come first
    now = now_us(clock)
    # UNIQUE (platform, period_start) backs the lock: a racing insert fails, the transaction is retried
    # (PostgreSQL unique violations are retryable in db.tx) and the retry finds the period charged.
    charge_id = conn.execute(custody_fee_charges.insert().values(
        platform_no=platform_no, period_start=first, period_end=last, days=days, period_days=period_days,
        year_days=year_days, method=plan.method, annual_rate_ppm=plan.annual_rate_ppm,
        flat_fee_fen=plan.flat_fee_fen, balance_sum_fen=balance_sum, fee_fen=fee, paid_fen=take,
        status=PAID if take == fee else OWED, charged_us=now, settled_us=now if take == fee else None,
    )).inserted_primary_key[0]
    if take > 0:
        _bank_clearing, income_id = _bank_accounts(conn)
        _collect(conn, now, own_id, income_id, int(charge_id), platform_no, "FEE", first.isoformat(), take)
    row = conn.execute(select(custody_fee_charges).where(custody_fee_charges.c.id == charge_id)).mappings().one()
    return _to_charge(row)


@dataclass(frozen=True)
class RunReport:
    day: dt.date
    charged: list[Charge]
    collected: list[tuple[str, dt.date, int]]
    failed: list[tuple[str, str]]


def run_due(engine: Engine, clock: Clock, today: dt.date | None = None, *,
            platform_no: str | None = None) -> RunReport:
    """For every platform with a plan (or one): collect arrears, then charge each period that ended
    before `today` (default: the Beijing date of `clock`), each in its own transaction. Safe to run
    any number of times, from any number of processes."""
    today = today or clock.beijing_date()
    with reading(engine) as conn:
        plans = [p.platform_no for p in list_plans(conn) if platform_no is None or p.platform_no == platform_no]
    charged: list[Charge] = []
    collected: list[tuple[str, dt.date, int]] = []
    failed: list[tuple[str, str]] = []
    for number in plans:
        try:
            got = run_in_transaction(engine, lambda conn, n=number: collect_arrears(conn, clock, n))
            collected.extend((number, start, amount) for start, amount in got)
            for _ in range(MAX_PERIODS_PER_RUN):
                charge = run_in_transaction(engine, lambda conn, n=number: charge_next(conn, clock, n, today))
                if charge is None:
                    break
                charged.append(charge)
        except Exception as exc:  # noqa: BLE001 - one platform's failure must not stop the others
            log.exception("custody fee run failed for platform %s", number)
            failed.append((number, type(exc).__name__))
    return RunReport(today, charged, collected, failed)


# ---------------------------------------------------------------- the background check


def start_background(engine: Engine, clock: Clock, *, interval_s: int = 3600) -> Callable[[], None]:
    """Run `run_due` every `interval_s` seconds in a daemon thread until the returned stop function is
    called. Charging is idempotent per period, so several processes doing this is harmless."""
    assert 1 <= interval_s <= 24 * 3600

    def logged_run() -> None:
        report = run_due(engine, clock)
        if report.charged or report.collected:
            log.info("custody fees %s: %d charge(s), %d arrears collection(s)", report.day,
                     len(report.charged), len(report.collected))

    return periodic.every(interval_s, logged_run, name="custody-fees", log=log)



# ---------------------------------------------------------------- what the platform and the console see


@dataclass(frozen=True)
class Statement:
    """A platform's fee position: plan, own account, arrears, recent charges and movements."""

    platform: platforms.Platform
    plan: Plan | None
    own_balance_fen: int
    own_frozen_fen: int
    owed_fen: int
    charges: list[Charge]
    movements: list[Movement]


def statement(conn: Connection, platform_no: str, *, limit: int = MAX_LISTED) -> Statement:
    platform = _check_platform(conn, platform_no)
    balance, frozen = own_balance(conn, platform_no)
    return Statement(platform, find_plan(conn, platform_no), balance, frozen, owed_total(conn, platform_no),
                     charges(conn, platform_no, limit=limit), movements(conn, platform_no, limit=limit))


def statements(conn: Connection) -> list[Statement]:
    """Every platform with a fee plan, with its last charge only (the console's overview)."""
    return [statement(conn, p.platform_no, limit=1) for p in list_plans(conn)]
