"""Applying a payment company's T+1 settlement file (payments/settlement.py) to custody.

One file = one company and one pay date, for every platform; applied in one transaction:
- each line matched to one of our SUCCESS recharges of that company and pay date (same order number,
  same amount) marks that recharge settled (`settled_date` = the file's settle date): its money may
  now leave by a NORMAL withdrawal;
- the users' outstanding advances (垫资) are repaid by what settled for them, oldest first: the
  platform's SYS_GENERATE_007 freeze is released (custody/advances.py);
- everything else is *reported* and changes nothing: a line we have no recharge for (`missing_ours`,
  an extra line), a recharge of ours the file lacks (`missing_theirs`: it stays unsettled), an amount
  that differs (`amount_mismatch`: stays unsettled). Operators follow up from the report (the CLI
  prints it; the row in `custody_settlement_files` keeps it).
A file is applied once per (company, pay date): applying it again returns the stored report and
changes nothing. A later corrected file for the same day is an operator matter (not automated).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from cunguan.clock import Clock
from cunguan.custody import advances
from cunguan.custody.recharges import now_us
from cunguan.db import ledger_store
from cunguan.db.tables.custody_money import custody_recharges, custody_settlement_files
from cunguan.db.tx import run_in_transaction
from cunguan.payments.settlement import (
    OurPayment,
    SettlementFile,
    SettlementNotDue,
    compare,
    read_file,
    settlement_due,
)


@dataclass(frozen=True)
class IntakeReport:
    company: str
    pay_date: dt.date
    settle_date: dt.date
    rows: int
    matched: int
    missing_ours: list[str] = field(default_factory=list)  # order numbers in their file only
    missing_theirs: list[str] = field(default_factory=list)  # our order numbers absent from the file
    amount_mismatch: list[dict] = field(default_factory=list)
    advances_repaid_fen: int = 0
    already_applied: bool = False

    @property
    def clean(self) -> bool:
        return not (self.missing_ours or self.missing_theirs or self.amount_mismatch)

    def problems_json(self) -> str:
        return json.dumps({"missing_ours": self.missing_ours, "missing_theirs": self.missing_theirs,
                           "amount_mismatch": self.amount_mismatch}, sort_keys=True)


def _ymd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def _stored(row) -> IntakeReport:
    problems = json.loads(row["problems"])
    return IntakeReport(row["company"], dt.datetime.strptime(row["pay_date"], "%Y%m%d").date(),
                        dt.datetime.strptime(row["settle_date"], "%Y%m%d").date(), int(row["row_count"]),
                        int(row["matched"]), problems["missing_ours"], problems["missing_theirs"],
                        problems["amount_mismatch"], already_applied=True)


def apply_settlement(engine: Engine, clock: Clock, settlement: SettlementFile) -> IntakeReport:
    return run_in_transaction(engine, lambda conn: apply_in(conn, clock, settlement))


def apply_in(conn: Connection, clock: Clock, settlement: SettlementFile) -> IntakeReport:
    pay_day = _ymd(settlement.pay_date)
    existing = conn.execute(select(custody_settlement_files).where(
        custody_settlement_files.c.company == settlement.company,
        custody_settlement_files.c.pay_date == pay_day)).mappings().first()
    if existing is not None:
        return _stored(existing)
    ours_rows = {r["order_no"]: dict(r) for r in conn.execute(select(custody_recharges).where(
        custody_recharges.c.pay_company == settlement.company, custody_recharges.c.pay_date == pay_day,
        custody_recharges.c.status == "SUCCESS")).mappings()}
    comparison = compare(settlement, [OurPayment(o, int(r["amount_fen"])) for o, r in ours_rows.items()])
    now = now_us(clock)
    settle_day = _ymd(settlement.settle_date)
    settled_by_user: dict[tuple[str, str], int] = defaultdict(int)
    for line in comparison.matched:
        row = ours_rows[line.order_no]
        done = conn.execute(update(custody_recharges).where(custody_recharges.c.id == row["id"],
                                                            custody_recharges.c.settled_date.is_(None))
                            .values(settled_date=settle_day, updated_us=now))
        if done.rowcount == 1:
            settled_by_user[(row["platform_no"], row["platform_user_no"])] += (
                int(row["amount_fen"]) - int(row["commission_fen"]))
    repaid_total = 0
    ops = []
    for (platform_no, user_no), amount in sorted(settled_by_user.items()):
        repaid, releases = advances.repay_from_settlement(conn, now, platform_no, user_no, amount)
        repaid_total += repaid
        ops += releases
    if ops:
        ledger_store.apply(conn, ops, atomic=True)
    report = IntakeReport(
        settlement.company, settlement.pay_date, settlement.settle_date, len(settlement.rows),
        len(comparison.matched), [r.order_no for r in comparison.missing_ours],
        [p.order_no for p in comparison.missing_theirs],
        [{"order_no": m.order_no, "ours_fen": m.ours_fen, "theirs_fen": m.theirs_fen}
         for m in comparison.amount_mismatch], repaid_total)
    conn.execute(custody_settlement_files.insert().values(
        company=settlement.company, pay_date=pay_day, settle_date=settle_day,
        status="CLEAN" if report.clean else "PROBLEMS", row_count=report.rows, matched=report.matched,
        problems=report.problems_json(), applied_us=now))
    return report


def apply_file(engine: Engine, clock: Clock, path: Path) -> IntakeReport:
    """Read a settlement CSV (strict parser: a bad file raises SettlementFileError) and apply it."""
    return apply_settlement(engine, clock, read_file(path))


def due_pairs(conn: Connection, today: dt.date) -> list[tuple[str, dt.date]]:
    """(company, pay date) of our successful unsettled recharges whose settlement day has come and whose
    file has not been applied yet."""
    pairs = conn.execute(select(custody_recharges.c.pay_company, custody_recharges.c.pay_date).where(
        custody_recharges.c.status == "SUCCESS", custody_recharges.c.settled_date.is_(None)).distinct()).all()
    applied = {(c, d) for c, d in conn.execute(select(custody_settlement_files.c.company,
                                                      custody_settlement_files.c.pay_date))}
    out = []
    for company, day_text in pairs:
        if day_text is None or (company, day_text) in applied:
            continue
        day = dt.datetime.strptime(day_text, "%Y%m%d").date()
        if settlement_due(day, today):
            out.append((company, day))
    return sorted(out)


def import_due(engine: Engine, clock: Clock, fetch: Callable[[str, dt.date], SettlementFile | None]) -> list[IntakeReport]:
    """Fetch and apply every settlement file that is due (`fetch(company, pay_date)` asks the company;
    None = not available yet)."""
    with engine.connect() as conn:
        pairs = due_pairs(conn, clock.beijing_date())
        conn.rollback()
    reports = []
    for company, day in pairs:
        try:
            settlement = fetch(company, day)
        except SettlementNotDue:
            continue
        if settlement is not None:
            reports.append(apply_settlement(engine, clock, settlement))
    return reports


def applied_files(conn: Connection, companies: Iterable[str] | None = None) -> list[dict]:
    stmt = select(custody_settlement_files).order_by(custody_settlement_files.c.pay_date,
                                                     custody_settlement_files.c.company)
    if companies is not None:
        stmt = stmt.where(custody_settlement_files.c.company.in_(list(companies)))
    return [dict(r) for r in conn.execute(stmt).mappings()]
