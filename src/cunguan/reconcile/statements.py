"""Where the external side of the reconciliation comes from.

- Settlement files: a directory of `COMPANY_YYYYMMDD.csv` files (the strict parser of
  payments/settlement.py), or the money runtime's payment companies (`fetch_settlement`; a file asked for
  before its settlement day is "not available").
- The payout channel's daily statement: a CSV file `order_no,amount_fen,status[,reason_code]` (header
  line first; status SUCCESS or FAIL), or — for the simulated channel of this build — the channel's own
  store of orders (`payoutsim_orders`), read the way a real adapter would download its statement: every
  order whose outcome became final on that Beijing day.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from cunguan.clock import Clock
from cunguan.custody.check_files import day_bounds_us
from cunguan.db.tables.payments import payoutsim_orders
from cunguan.payments.settlement import SettlementFile, SettlementNotDue, file_name, read_file
from cunguan.reconcile.daily import PayoutLine, PayoutSource, SettlementSource

PAYOUT_HEADER = ("order_no", "amount_fen", "status", "reason_code")
MAX_PAYOUT_LINES = 3_000_000


class StatementError(ValueError):
    """A payout statement file that cannot be taken (the message names the line)."""


def settlement_dir_source(directory: Path) -> SettlementSource:
    def source(company: str, day: dt.date) -> SettlementFile | None:
        path = directory / file_name(company, day)
        return read_file(path) if path.exists() else None

    return source


def runtime_settlement_source(engine: Engine, clock: Clock) -> SettlementSource:
    from cunguan.custody import money_runtime

    runtime = money_runtime.get_runtime(engine, clock)

    def source(company: str, day: dt.date) -> SettlementFile | None:
        try:
            return runtime.fetch_settlement(company, day)
        except SettlementNotDue:
            return None

    return source


def parse_payout_csv(text: str) -> list[PayoutLine]:
    lines = list(csv.reader(io.StringIO(text)))
    if not lines or tuple(lines[0][:3]) != PAYOUT_HEADER[:3]:
        raise StatementError(f"line 1: header must be {','.join(PAYOUT_HEADER)}")
    if len(lines) - 1 > MAX_PAYOUT_LINES:
        raise StatementError(f"more than {MAX_PAYOUT_LINES} lines")
    out = []
    for n, fields in enumerate(lines[1:], start=2):
        if len(fields) not in (3, 4):
            raise StatementError(f"line {n}: expected 3 or 4 fields")
        order_no, amount, status = fields[0], fields[1], fields[2]
        if not order_no or len(order_no) > 50 or not amount.isdigit() or int(amount) <= 0:
            raise StatementError(f"line {n}: order_no and a positive amount_fen are required")
        if status not in ("SUCCESS", "FAIL"):
            raise StatementError(f"line {n}: status must be SUCCESS or FAIL")
        out.append(PayoutLine(order_no, int(amount), status, (fields[3] if len(fields) == 4 else "") or None))
    return out


def payout_file_source(path: Path) -> PayoutSource:
    def source(_day: dt.date) -> list[PayoutLine]:
        return parse_payout_csv(path.read_text(encoding="utf-8-sig"))

    return source


def simulator_payout_source(engine: Engine) -> PayoutSource:
    """The simulated channel's statement of a day: orders accepted and finished (SUCCESS / FAIL) that day."""

    def source(day: dt.date) -> list[PayoutLine]:
        start, end = day_bounds_us(day)
        o = payoutsim_orders.c
        with engine.connect() as conn:
            rows = conn.execute(select(o.order_no, o.amount_fen, o.outcome, o.fail_code).where(
                o.answer == "ACCEPTED", o.complete_us >= start, o.complete_us < end).order_by(o.complete_us, o.id)).all()
        return [PayoutLine(r[0], int(r[1]), "SUCCESS" if r[2] == "SUCCESS" else "FAIL", r[3]) for r in rows]

    return source


def runtime_payout_source(engine: Engine, clock: Clock) -> PayoutSource | None:
    """The money runtime's channel statement, when the channel is the simulator (else None: no statement)."""
    from cunguan.custody import money_runtime
    from cunguan.payouts.simulator import PayoutChannelSimulator

    runtime = money_runtime.get_runtime(engine, clock)
    return simulator_payout_source(engine) if isinstance(runtime.channel, PayoutChannelSimulator) else None

