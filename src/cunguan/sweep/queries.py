"""Read side: rule list with next run date, run/transfer detail by rule and date range, CSV/Excel export."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import select
from sqlalchemy.engine import Connection

from cunguan.db.tables.sweep import sweep_runs, sweep_transfers
from cunguan.money import format_yuan
from cunguan.retail import store as retail
from cunguan.sweep import cycle as cyc
from cunguan.sweep.agreements import get_other_account
from cunguan.sweep.context import SweepContext
from cunguan.sweep.errors import InvalidInput
from cunguan.sweep.rules import get_rule, next_run_date, rules_of

MAX_RANGE_DAYS = 366


def rule_list(conn: Connection, ctx: SweepContext, customer_id: int) -> list[dict]:
    today = ctx.today()
    out = []
    for r in rules_of(conn, customer_id):
        other = get_other_account(conn, customer_id, r.other_account_id)
        payee = retail.get_account(conn, r.collecting_account_id)
        nxt = next_run_date(conn, r, today)
        out.append(dict(
            id=r.id, status=r.shown_status(today), mode=r.mode.value,
            amount=None if r.amount_fen is None else format_yuan(r.amount_fen),
            cycle=cyc.cycle_label(r.cycle), effective_from=r.effective_from.isoformat(),
            next_run_date=nxt.isoformat() if nxt else None, other_account=other.masked, other_bank=other.bank_name,
            other_account_id=other.id, collecting_account=payee.masked, collecting_account_id=payee.id,
            agreement_end=other.end_date.isoformat() if other.end_date else None,
            invalid_reason=r.invalid_reason, notify_mobile="*" * 7 + r.notify_mobile[-4:]))
    return out


def run_details(conn: Connection, customer_id: int, rule_id: int, date_from: dt.date, date_to: dt.date) -> list[dict]:
    if date_to < date_from or (date_to - date_from).days > MAX_RANGE_DAYS:
        raise InvalidInput(f"date range must be ordered and at most {MAX_RANGE_DAYS} days")
    get_rule(conn, rule_id, customer_id)  # ownership
    runs = conn.execute(select(sweep_runs).where(
        sweep_runs.c.rule_id == rule_id, sweep_runs.c.run_date >= date_from, sweep_runs.c.run_date <= date_to)
        .order_by(sweep_runs.c.run_date, sweep_runs.c.id)).mappings().all()
    out = []
    for run in runs:
        transfers = conn.execute(select(sweep_transfers).where(sweep_transfers.c.run_id == run["id"])
                                 .order_by(sweep_transfers.c.seq)).mappings().all()
        out.append(dict(
            run_id=run["id"], run_date=run["run_date"].isoformat(), kind=run["kind"], status=run["status"],
            mode=run["mode"], balance=None if run["balance_fen"] is None else format_yuan(run["balance_fen"]),
            moved=format_yuan(run["moved_fen"]), fee=format_yuan(run["fee_fen"]), reject_code=run["reject_code"],
            reason=run["reason"],
            transfers=[dict(seq=t["seq"], serial=t["serial"], amount=format_yuan(t["amount_fen"]), status=t["status"],
                            reject_code=t["reject_code"], fee=format_yuan(t["fee_fen"]),
                            time=_time(t["resolved_us"] or t["sent_us"])) for t in transfers]))
    return out


def _time(us: int | None) -> str | None:
    if us is None:
        return None
    from cunguan.clock import BEIJING

    return dt.datetime.fromtimestamp(us / 1_000_000, dt.UTC).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


HEADER = ["run_date", "kind", "run_status", "moved", "reject_code", "reason", "seq", "serial", "amount",
          "transfer_status", "transfer_reject_code", "fee", "time"]


def _flat(details: list[dict]) -> list[list]:
    rows = []
    for run in details:
        base = [run["run_date"], run["kind"], run["status"], run["moved"], run["reject_code"] or "", run["reason"] or ""]
        if not run["transfers"]:
            rows.append(base + [""] * 7)
        for t in run["transfers"]:
            rows.append(base + [t["seq"], t["serial"], t["amount"], t["status"], t["reject_code"] or "", t["fee"],
                                t["time"] or ""])
    return rows


def to_csv(details: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADER)
    writer.writerows(_flat(details))
    return buf.getvalue()


def to_xlsx(details: list[dict]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "collection"
    ws.append(HEADER)
    for row in _flat(details):
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def recent_runs(conn: Connection, customer_id: int, limit: int = 20) -> list[dict]:
    """The customer's latest runs over all rules (operators' view)."""
    rows = conn.execute(select(sweep_runs).where(sweep_runs.c.customer_id == customer_id)
                        .order_by(sweep_runs.c.id.desc()).limit(limit)).mappings().all()
    out = []
    for run in rows:
        n = len(conn.execute(select(sweep_transfers.c.id).where(sweep_transfers.c.run_id == run["id"])).all())
        out.append(dict(rule_id=run["rule_id"], run_date=run["run_date"].isoformat(), kind=run["kind"],
                        status=run["status"], moved=format_yuan(run["moved_fen"]), transfers=n,
                        reject_code=run["reject_code"]))
    return out
