"""`cunguan reconcile DATE [--platform-no P] [--db URL] [--csv PATH]`: the daily reconciliation.

Reconciles one Beijing business date (YYYY-MM-DD or YYYYMMDD) for one platform or every platform, stores
each run with its differences, prints a Rich summary, optionally writes the CSV export (one platform:
that file; several: one file per platform next to PATH). Exit code 1 when differences remain open.

Sources: settlement files from `--settlement-dir` (COMPANY_YYYYMMDD.csv) or else the (simulated)
payment companies of the money runtime; the payout statement from `--payout-file` or else the
(simulated) payout channel.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from cunguan.cli.options import DbOption
from cunguan.clock import Clock
from cunguan.db.engine import create_engine
from cunguan.money import format_yuan
from cunguan.payments.settlement import SettlementFileError
from cunguan.reconcile import daily, report, statements

app = typer.Typer(help="Daily reconciliation of custody money (ledger, settlement files, payouts, advances).",
                  context_settings={"allow_interspersed_args": True})
out = Console()


def parse_day(text: str) -> dt.date:
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise typer.BadParameter("DATE must be YYYY-MM-DD or YYYYMMDD")


def _summary(result: daily.DailyResult) -> None:
    table = Table(title=f"Reconciliation {result.platform_no} {result.day} (run {result.run_no})")
    table.add_column("check")
    table.add_column("result")
    table.add_row("ledger", f"custody {format_yuan(-result.custody_fen)} / virtual {format_yuan(result.virtual_fen)}")
    table.add_row("settlement", f"{result.recharges_matched} matched" if result.settlement_checked else "not checked")
    table.add_row("payouts", f"{result.withdrawals_matched} matched" if result.payout_checked else "not checked")
    table.add_row("advances", f"{format_yuan(result.advances_outstanding_fen)} outstanding")
    out.print(table)
    if not result.differences:
        out.print("[green]clean: no differences[/green]")
        return
    diffs = Table(title=f"{len(result.differences)} difference(s), {result.open_count} open")
    for name in ("check", "kind", "source", "ref", "ours", "theirs", "detail"):
        diffs.add_column(name)
    for x in result.differences:
        diffs.add_row(x.check, x.kind, x.source, x.ref, "" if x.ours_fen is None else format_yuan(x.ours_fen),
                      "" if x.theirs_fen is None else format_yuan(x.theirs_fen), x.detail)
    out.print(diffs)


@app.callback(invoke_without_command=True)
def reconcile_cmd(
    date: str = typer.Argument(..., help="Beijing business date, YYYY-MM-DD or YYYYMMDD (a day that is over)."),
    platform_no: str = typer.Option(None, "--platform-no", help="One platform (default: every platform)."),
    db: str = DbOption,
    csv_path: Path = typer.Option(None, "--csv", dir_okay=False, help="Write the differences as CSV here."),
    settlement_dir: Path = typer.Option(None, "--settlement-dir", exists=True, file_okay=False,
                                        help="Directory of settlement files COMPANY_YYYYMMDD.csv."),
    payout_file: Path = typer.Option(None, "--payout-file", exists=True, dir_okay=False,
                                     help="The payout channel's statement CSV (order_no,amount_fen,status)."),
) -> None:
    """Reconcile DATE; exit code 1 when differences remain open."""
    day = parse_day(date)
    engine = create_engine(db)
    clock = Clock()
    settlements = (statements.settlement_dir_source(settlement_dir) if settlement_dir is not None
                   else statements.runtime_settlement_source(engine, clock))
    payouts = (statements.payout_file_source(payout_file) if payout_file is not None
               else statements.runtime_payout_source(engine, clock))
    targets = [platform_no] if platform_no else daily.platforms_to_reconcile(engine)
    open_total = 0
    for p in targets:
        try:
            result = daily.reconcile_day(engine, clock, p, day, settlements=settlements, payouts=payouts)
        except (daily.ReconcileError, SettlementFileError, statements.StatementError) as exc:
            out.print(f"[red]{p}: {exc}[/red]")
            raise typer.Exit(2) from None
        _summary(result)
        open_total += result.open_count
        if csv_path is not None:
            with engine.connect() as conn:
                run = report.run_for(conn, p, day, result.run_no)
            assert run is not None
            target = csv_path if len(targets) == 1 else csv_path.with_name(f"{csv_path.stem}_{p}{csv_path.suffix}")
            target.write_text(report.to_csv(run), encoding="utf-8")
            out.print(f"CSV written to {target}")
    if open_total:
        raise typer.Exit(1)
