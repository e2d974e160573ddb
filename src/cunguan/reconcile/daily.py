"""The daily reconciliation of one platform and one Beijing business date (custody.md "Accounts").

Four checks, every difference stored as one row of the run (`reconcile_differences`):
1. LEDGER — the first invariant at day end: the platform's custody cash account (the asset-side mirror
   of the real custody account, see custody/recharges.py) plus Σ its virtual accounts (users and
   SYS_GENERATE_000…007) must be 0, each balance taken at the end of the day with
   `ledger_store.balance_at`. A non-zero sum is LEDGER_IMBALANCE (ours = Σ virtual, theirs = what
   the custody account says is owed = −custody cash).
2. SETTLEMENT — each payment company's settlement file for the day (pay date = the day) against our
   successful recharges of that company and day (`payments.settlement.compare`): MISSING_OURS (a line
   with no recharge of ours), MISSING_THEIRS (a recharge the file lacks), AMOUNT_MISMATCH.
3. PAYOUT — the payout channel's statement of the day against our withdrawals that completed SUCCESS
   that day (amount = what was paid out: amount − commission), the same four classes through the same
   `compare`: a line the channel paid that we do not hold as paid that day is MISSING_OURS; a
   withdrawal we hold as paid that the channel did not pay (or reports FAIL, e.g. a return after
   success) is MISSING_THEIRS.
4. ADVANCE — advances (垫资) still OUTSTANDING whose repayment was due: the unsettled money a T0
   withdrawal advanced on day A settles on the next working day after A at the latest, so an advance
   still outstanding on or after that day is ADVANCE_OVERDUE. The run also records the outstanding total.

Decisions where the spec is silent:
- Only a day that is over (by the injected clock, Beijing) can be reconciled.
- Settlement files are per company for every platform: a line whose order number is another
  platform's recharge is left to that platform's run; a line nobody knows is reported in the run of
  every platform reconciled for that day (it is the bank's money in transit either way).
- A company without a file from the source falls back to the report stored when the file was applied
  (`custody_settlement_files`); with neither, once settlement is due every recharge of ours with that
  company is MISSING_THEIRS ("no settlement file"); before it is due the company is not checked.
- No payout statement (source answers None) = the payout check is skipped (recorded on the run).
- Advances are read as they stand when the run is made (they carry no history).
- Runs are numbered per (platform, date) and never overwritten. A difference of a rerun that an earlier
  run of the same platform and date resolved (same check, kind, source and reference) is stored
  RESOLVED with the same adjustment: it was dealt with and must not be adjusted twice.
- Reading the external sources (files, statement) happens before the one transaction that stores the
  run and its differences.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from cunguan.calendar_cn import next_working_day
from cunguan.clock import BEIJING, Clock
from cunguan.custody import platforms
from cunguan.custody.check_files import day_bounds_us
from cunguan.custody.recharges import now_us, us_to_dt
from cunguan.custody.user_store import ledger_code
from cunguan.db import ledger_store
from cunguan.db.tables.custody_money import (
    custody_advances,
    custody_recharges,
    custody_settlement_files,
    custody_withdrawals,
)
from cunguan.db.tables.ledger import accounts
from cunguan.db.tables.reconcile import reconcile_differences, reconcile_runs
from cunguan.db.tx import run_in_transaction
from cunguan.money import format_yuan
from cunguan.payments.gateway import PayCompany
from cunguan.payments.settlement import (
    OurPayment,
    SettlementFile,
    SettlementRow,
    compare,
    settlement_due,
)

LEDGER, SETTLEMENT, PAYOUT, ADVANCE = "LEDGER", "SETTLEMENT", "PAYOUT", "ADVANCE"
CHECKS = (LEDGER, SETTLEMENT, PAYOUT, ADVANCE)
KINDS = ("LEDGER_IMBALANCE", "MISSING_OURS", "MISSING_THEIRS", "AMOUNT_MISMATCH", "ADVANCE_OVERDUE")
PAYOUT_SOURCE = "PAYOUT"
MAX_DETAIL = 200


class ReconcileError(ValueError):
    """A reconciliation that cannot be run (unknown platform, a day not over)."""


@dataclass(frozen=True)
class Difference:
    check: str
    kind: str
    source: str
    ref: str
    ours_fen: int | None
    theirs_fen: int | None
    detail: str

    def __post_init__(self) -> None:
        assert self.check in CHECKS and self.kind in KINDS


@dataclass(frozen=True)
class PayoutLine:
    """One line of the payout channel's daily statement."""

    order_no: str
    amount_fen: int
    status: str  # SUCCESS (paid) / FAIL (refused or returned)
    reason_code: str | None = None


SettlementSource = Callable[[str, dt.date], SettlementFile | None]
PayoutSource = Callable[[dt.date], Iterable[PayoutLine] | None]


@dataclass
class DailyResult:
    run_id: int
    run_no: int
    platform_no: str
    day: dt.date
    custody_fen: int
    virtual_fen: int
    recharges_matched: int
    withdrawals_matched: int
    settlement_checked: bool
    payout_checked: bool
    advances_outstanding_fen: int
    differences: list[Difference] = field(default_factory=list)
    open_count: int = 0

    @property
    def clean(self) -> bool:
        return self.open_count == 0


# ---------------------------------------------------------------- 1. the ledger at day end


def ledger_totals(conn: Connection, platform_no: str, day: dt.date) -> tuple[int, int]:
    """(custody cash, Σ virtual accounts) at the end of Beijing `day`."""
    _start, end = day_bounds_us(day)
    at = end - 1
    platform = platforms.get_platform(conn, platform_no)
    codes = [platforms.system_account_code(platform_no, no) for no in platforms.SYSTEM_ACCOUNTS]
    prefix = ledger_code(platform_no, "")
    ids = [int(i) for (i,) in conn.execute(select(accounts.c.id).where(
        accounts.c.code.in_(codes) | accounts.c.code.startswith(prefix, autoescape=True)))]
    virtual = sum(ledger_store.balance_at(conn, i, at) for i in ids)
    return ledger_store.balance_at(conn, platform.custody_account_id, at), virtual


def _ledger_check(custody: int, virtual: int, platform_no: str) -> list[Difference]:
    if custody + virtual == 0:
        return []
    return [Difference(LEDGER, "LEDGER_IMBALANCE", "LEDGER", platforms.custody_account_code(platform_no), virtual,
                       -custody, f"Σ virtual accounts {format_yuan(virtual)} ≠ custody account {format_yuan(-custody)} "
                       f"(off by {format_yuan(custody + virtual)})")]


# ---------------------------------------------------------------- 2. settlement files


def _ymd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def _stored_report(conn: Connection, company: str, day: dt.date) -> dict | None:
    row = conn.execute(select(custody_settlement_files.c.problems).where(
        custody_settlement_files.c.company == company, custody_settlement_files.c.pay_date == _ymd(day))).first()
    return None if row is None else json.loads(row[0])


def settlement_check(conn: Connection, platform_no: str, day: dt.date, today: dt.date,
                     files: dict[str, SettlementFile | None]) -> tuple[list[Difference], int, bool]:
    """(differences, recharges matched, checked at all). `files`: company → its file for `day`, or None."""
    c = custody_recharges.c
    rows = conn.execute(select(c.platform_no, c.pay_company, c.order_no, c.amount_fen).where(
        c.pay_date == _ymd(day), c.status == "SUCCESS")).all()
    ours: dict[str, dict[str, int]] = {}
    others: set[str] = set()
    for p, company, order_no, amount in rows:
        if p == platform_no:
            ours.setdefault(company, {})[order_no] = int(amount)
        else:
            others.add(order_no)
    due = settlement_due(day, today)
    diffs: list[Difference] = []
    matched = 0
    checked = False
    for company in sorted(set(ours) | {k for k, v in files.items() if v is not None}):
        mine = ours.get(company, {})
        settlement = files.get(company)
        if settlement is not None:
            checked = True
            lines = tuple(r for r in settlement.rows if r.order_no not in others)
            result = compare(SettlementFile(company, day, lines), [OurPayment(o, a) for o, a in sorted(mine.items())])
            matched += len(result.matched)
            diffs += [Difference(SETTLEMENT, "MISSING_OURS", company, r.order_no, None, r.amount_fen,
                                 f"settlement line {r.company_order_no} has no recharge of ours")
                      for r in result.missing_ours]
            diffs += [Difference(SETTLEMENT, "MISSING_THEIRS", company, p.order_no, p.amount_fen, None,
                                 "recharge missing from the settlement file (stays unsettled)")
                      for p in result.missing_theirs]
            diffs += [Difference(SETTLEMENT, "AMOUNT_MISMATCH", company, m.order_no, m.ours_fen, m.theirs_fen,
                                 f"amount differs by {format_yuan(m.theirs_fen - m.ours_fen)}")
                      for m in result.amount_mismatch]
            continue
        stored = _stored_report(conn, company, day)
        if stored is not None:
            checked = True
            bad = set(stored["missing_theirs"]) | {m["order_no"] for m in stored["amount_mismatch"]}
            matched += sum(1 for o in mine if o not in bad)
            diffs += [Difference(SETTLEMENT, "MISSING_OURS", company, o, None, None,
                                 "settlement line has no recharge of ours (applied file)")
                      for o in stored["missing_ours"] if o not in others]
            diffs += [Difference(SETTLEMENT, "MISSING_THEIRS", company, o, mine[o], None,
                                 "recharge missing from the settlement file (applied file)")
                      for o in stored["missing_theirs"] if o in mine]
            diffs += [Difference(SETTLEMENT, "AMOUNT_MISMATCH", company, m["order_no"], int(m["ours_fen"]),
                                 int(m["theirs_fen"]), "amount differs (applied file)")
                      for m in stored["amount_mismatch"] if m["order_no"] in mine]
        elif due and mine:
            checked = True
            diffs += [Difference(SETTLEMENT, "MISSING_THEIRS", company, o, a, None, "no settlement file received")
                      for o, a in sorted(mine.items())]
    return diffs, matched, checked


# ---------------------------------------------------------------- 3. payouts


def payout_check(conn: Connection, platform_no: str, day: dt.date,
                 lines: Iterable[PayoutLine]) -> tuple[list[Difference], int]:
    start, end = day_bounds_us(day)
    w = custody_withdrawals.c
    paid = {r.order_no: int(r.amount_fen) - int(r.commission_fen) for r in conn.execute(
        select(w.order_no, w.amount_fen, w.commission_fen).where(
            w.platform_no == platform_no, w.status == "SUCCESS", w.completed_us >= start, w.completed_us < end))}
    lines = list(lines)
    known = {o: (p, s) for o, p, s in conn.execute(select(w.order_no, w.platform_no, w.status).where(
        w.order_no.in_([x.order_no for x in lines])))} if lines else {}
    failed: dict[str, PayoutLine] = {}
    rows = []
    for x in lines:
        owner = known.get(x.order_no)
        if owner is not None and owner[0] != platform_no:
            continue  # another platform's payout
        if x.status != "SUCCESS":
            failed[x.order_no] = x
            continue
        rows.append(SettlementRow(PAYOUT_SOURCE, day, x.order_no, x.order_no, x.amount_fen, 0))
    result = compare(SettlementFile(PAYOUT_SOURCE, day, tuple(rows)),
                     [OurPayment(o, a) for o, a in sorted(paid.items())])
    diffs = []
    for r in result.missing_ours:
        ours = known.get(r.order_no)
        state = f"our withdrawal is {ours[1]}" if ours else "no withdrawal of ours"
        diffs.append(Difference(PAYOUT, "MISSING_OURS", PAYOUT_SOURCE, r.order_no, None, r.amount_fen,
                                f"the channel paid it; {state} that day"))
    for p in result.missing_theirs:
        fail = failed.get(p.order_no)
        why = (f"the channel reports FAIL {fail.reason_code or ''}".strip() if fail is not None
               else "not on the channel's statement")
        diffs.append(Difference(PAYOUT, "MISSING_THEIRS", PAYOUT_SOURCE, p.order_no, p.amount_fen, None,
                                f"withdrawal paid on our books; {why}"))
    diffs += [Difference(PAYOUT, "AMOUNT_MISMATCH", PAYOUT_SOURCE, m.order_no, m.ours_fen, m.theirs_fen,
                         f"paid amount differs by {format_yuan(m.theirs_fen - m.ours_fen)}")
              for m in result.amount_mismatch]
    return diffs, len(result.matched)


# ---------------------------------------------------------------- 4. advances


def advance_check(conn: Connection, platform_no: str, day: dt.date) -> tuple[list[Difference], int]:
    _start, end = day_bounds_us(day)
    a = custody_advances.c
    rows = conn.execute(select(custody_advances).where(
        a.platform_no == platform_no, a.status == "OUTSTANDING", a.created_us < end).order_by(a.id)).mappings().all()
    diffs, total = [], 0
    for r in rows:
        left = int(r["amount_fen"]) - int(r["repaid_fen"])
        total += left
        made_on = us_to_dt(int(r["created_us"])).astimezone(BEIJING).date()
        due_on = next_working_day(made_on)
        if due_on <= day:
            diffs.append(Difference(ADVANCE, "ADVANCE_OVERDUE", r["source"], f"advance:{r['id']}", left, None,
                                    f"advance of {made_on} for {r['platform_user_no']} still outstanding "
                                    f"(settlement due {due_on})"))
    return diffs, total


# ---------------------------------------------------------------- the run


def _previously_resolved(conn: Connection, platform_no: str, day: dt.date) -> dict[tuple, int]:
    d = reconcile_differences.c
    rows = conn.execute(select(d.check_name, d.kind, d.source, d.ref, d.adjustment_id).where(
        d.platform_no == platform_no, d.biz_date == _ymd(day), d.status == "RESOLVED")).all()
    return {(c, k, s, r): int(adj) for c, k, s, r, adj in rows}


def _store(conn: Connection, clock: Clock, result: DailyResult) -> None:
    p, day = result.platform_no, result.day
    r = reconcile_runs.c
    last = conn.execute(select(func.max(r.run_no)).where(r.platform_no == p, r.biz_date == _ymd(day))).scalar()
    result.run_no = int(last or 0) + 1
    resolved = _previously_resolved(conn, p, day)
    now = now_us(clock)
    rows = []
    for x in result.differences:
        adj = resolved.get((x.check, x.kind, x.source, x.ref[:64]))
        rows.append(dict(platform_no=p, biz_date=_ymd(day), check_name=x.check, kind=x.kind, source=x.source[:16],
                         ref=x.ref[:64], ours_fen=x.ours_fen, theirs_fen=x.theirs_fen, detail=x.detail[:MAX_DETAIL],
                         status="RESOLVED" if adj else "OPEN", adjustment_id=adj, created_us=now,
                         resolved_us=now if adj else None))
    result.open_count = sum(1 for row in rows if row["status"] == "OPEN")
    result.run_id = int(conn.execute(reconcile_runs.insert().values(
        platform_no=p, biz_date=_ymd(day), run_no=result.run_no,
        status="CLEAN" if result.open_count == 0 else "DIFFERENCES", custody_fen=result.custody_fen,
        virtual_fen=result.virtual_fen, recharges_matched=result.recharges_matched,
        withdrawals_matched=result.withdrawals_matched, settlement_checked=int(result.settlement_checked),
        payout_checked=int(result.payout_checked), advances_outstanding_fen=result.advances_outstanding_fen,
        difference_count=len(rows), created_us=now)).inserted_primary_key[0])
    if rows:
        conn.execute(reconcile_differences.insert(), [{**row, "run_id": result.run_id} for row in rows])


def reconcile_day(engine: Engine, clock: Clock, platform_no: str, day: dt.date, *,
                  settlements: SettlementSource | None = None, payouts: PayoutSource | None = None,
                  companies: Iterable[str] | None = None) -> DailyResult:
    """Run the four checks for `platform_no` and Beijing `day` and store the run with its differences.

    `settlements(company, day)` gives a company's settlement file (None = not available); it is asked
    for every company in `companies` (default: every known payment company). `payouts(day)` gives the
    payout channel's statement (None = not available: check skipped)."""
    today = clock.beijing_date()
    if day >= today:
        raise ReconcileError(f"{day} is not over yet (today is {today} in Beijing)")
    with engine.connect() as conn:
        if platforms.find_platform(conn, platform_no) is None:
            raise ReconcileError(f"platform {platform_no} does not exist")
        conn.rollback()
    files: dict[str, SettlementFile | None] = {}
    if settlements is not None:
        for company in (companies if companies is not None else [c.value for c in PayCompany]):
            files[company] = settlements(company, day)
    statement = payouts(day) if payouts is not None else None
    statement = None if statement is None else list(statement)

    def work(conn: Connection) -> DailyResult:
        custody, virtual = ledger_totals(conn, platform_no, day)
        diffs = _ledger_check(custody, virtual, platform_no)
        s_diffs, s_matched, s_checked = settlement_check(conn, platform_no, day, today, files)
        diffs += s_diffs
        w_matched = 0
        if statement is not None:
            p_diffs, w_matched = payout_check(conn, platform_no, day, statement)
            diffs += p_diffs
        a_diffs, outstanding = advance_check(conn, platform_no, day)
        diffs += a_diffs
        result = DailyResult(0, 0, platform_no, day, custody, virtual, s_matched, w_matched, s_checked,
                             statement is not None, outstanding, diffs)
        _store(conn, clock, result)
        return result

    return run_in_transaction(engine, work)


def platforms_to_reconcile(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [p.platform_no for p in platforms.list_platforms(conn)]
