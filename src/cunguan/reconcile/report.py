"""Reading stored reconciliation runs: one run with its differences, the per-day history a chart draws,
and the CSV export of a run (UTF-8, header line first, one line per difference, amounts in yuan with
two decimals; a clean run exports the header only)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from cunguan.db.tables.reconcile import reconcile_differences, reconcile_runs
from cunguan.money import format_yuan

CSV_HEADER = ("platform_no", "biz_date", "run_no", "difference_id", "check", "kind", "source", "ref", "ours_yuan",
              "theirs_yuan", "detail", "status", "adjustment_id")
MAX_HISTORY_DAYS = 366


@dataclass
class RunView:
    id: int
    platform_no: str
    biz_date: dt.date
    run_no: int
    status: str
    custody_fen: int
    virtual_fen: int
    recharges_matched: int
    withdrawals_matched: int
    settlement_checked: bool
    payout_checked: bool
    advances_outstanding_fen: int
    difference_count: int
    created_us: int
    differences: list[dict] = field(default_factory=list)

    @property
    def open_count(self) -> int:
        return sum(1 for d in self.differences if d["status"] == "OPEN")


def _date(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%Y%m%d").date()


def _run_view(conn: Connection, row) -> RunView:
    d = reconcile_differences.c
    diffs = [dict(r) for r in conn.execute(select(reconcile_differences).where(d.run_id == row["id"])
                                           .order_by(d.id)).mappings()]
    return RunView(int(row["id"]), row["platform_no"], _date(row["biz_date"]), int(row["run_no"]), row["status"],
                   int(row["custody_fen"]), int(row["virtual_fen"]), int(row["recharges_matched"]),
                   int(row["withdrawals_matched"]), bool(row["settlement_checked"]), bool(row["payout_checked"]),
                   int(row["advances_outstanding_fen"]), int(row["difference_count"]), int(row["created_us"]), diffs)


def run_for(conn: Connection, platform_no: str, day: dt.date, run_no: int | None = None) -> RunView | None:
    """The given run of that platform and date, or the latest one; None if there is none."""
    r = reconcile_runs.c
    stmt = select(reconcile_runs).where(r.platform_no == platform_no, r.biz_date == day.strftime("%Y%m%d"))
    stmt = stmt.where(r.run_no == run_no) if run_no is not None else stmt.order_by(r.run_no.desc()).limit(1)
    row = conn.execute(stmt).mappings().first()
    return None if row is None else _run_view(conn, row)


def run_numbers(conn: Connection, platform_no: str, day: dt.date) -> list[int]:
    r = reconcile_runs.c
    return [int(n) for (n,) in conn.execute(select(r.run_no).where(
        r.platform_no == platform_no, r.biz_date == day.strftime("%Y%m%d")).order_by(r.run_no))]


@dataclass(frozen=True)
class DayPoint:
    day: dt.date
    run_no: int
    status: str
    open_count: int
    difference_count: int
    virtual_fen: int


def history(conn: Connection, platform_no: str, until: dt.date, days: int = 30) -> list[DayPoint]:
    """The latest run of each reconciled day in (until − days, until], oldest first."""
    days = max(1, min(days, MAX_HISTORY_DAYS))
    r, d = reconcile_runs.c, reconcile_differences.c
    since = (until - dt.timedelta(days=days - 1)).strftime("%Y%m%d")
    latest = select(r.biz_date, func.max(r.run_no).label("run_no")).where(
        r.platform_no == platform_no, r.biz_date >= since, r.biz_date <= until.strftime("%Y%m%d")).group_by(
        r.biz_date).subquery()
    rows = conn.execute(select(reconcile_runs).join(latest, (r.biz_date == latest.c.biz_date)
                                                    & (r.run_no == latest.c.run_no))
                        .where(r.platform_no == platform_no).order_by(r.biz_date)).mappings().all()
    opened = dict(conn.execute(select(d.run_id, func.count()).where(
        d.run_id.in_([x["id"] for x in rows]), d.status == "OPEN").group_by(d.run_id)).all()) if rows else {}
    return [DayPoint(_date(x["biz_date"]), int(x["run_no"]), x["status"], int(opened.get(x["id"], 0)),
                     int(x["difference_count"]), int(x["virtual_fen"])) for x in rows]


def recent_runs(conn: Connection, limit: int = 50) -> list[RunView]:
    r = reconcile_runs.c
    rows = conn.execute(select(reconcile_runs).order_by(r.biz_date.desc(), r.platform_no, r.run_no.desc())
                        .limit(limit)).mappings().all()
    return [_run_view(conn, row) for row in rows]


def to_csv(run: RunView) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_HEADER)
    day = run.biz_date.strftime("%Y%m%d")
    for x in run.differences:
        w.writerow((run.platform_no, day, run.run_no, x["id"], x["check_name"], x["kind"], x["source"], x["ref"],
                    "" if x["ours_fen"] is None else format_yuan(int(x["ours_fen"])),
                    "" if x["theirs_fen"] is None else format_yuan(int(x["theirs_fen"])), x["detail"], x["status"],
                    x["adjustment_id"] or ""))
    return out.getvalue()


def csv_name(run: RunView) -> str:
    return f"reconcile_{run.platform_no}_{run.biz_date:%Y%m%d}_run{run.run_no}.csv"
