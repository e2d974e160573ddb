"""`cunguan money ...`: operators drive the money worker's steps by hand and set platform money settings.

- `settle --date D`: apply the settlement files that settle on Beijing date D (every pay date whose T+1
  is D), fetched from the (simulated) payment companies; or `settle --file PATH` for one CSV file.
  Prints each file's report: lines matched, and the problems (extra lines, missing lines, amounts).
- `remit`: hand due withdrawals to the payout channel and query the ones on their way.
- `run`: worker ticks until idle (start/query payments, take notifications, remit, settle).
- `settings PLATFORM_NO`: show or change advance mode (NONE/PLATFORM/BANK), bank advance limit, audit mode.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from cunguan.cli.options import DbOption
from cunguan.clock import Clock
from cunguan.custody import advances, money_runtime, settlement_intake, withdrawals
from cunguan.db.engine import create_engine
from cunguan.db.tx import run_in_transaction
from cunguan.money import AmountError, format_yuan, parse_yuan
from cunguan.payments.settlement import SettlementFileError, SettlementNotDue, pay_dates_settled_on

app = typer.Typer(help="Money in and out: settlement files, remittance, platform money settings.",
                  no_args_is_help=True)


def _echo_report(report: settlement_intake.IntakeReport) -> None:
    state = "already applied" if report.already_applied else ("clean" if report.clean else "PROBLEMS")
    typer.echo(f"{report.company} {report.pay_date} (settles {report.settle_date}): {report.rows} line(s), "
               f"{report.matched} matched, {format_yuan(report.advances_repaid_fen)} yuan of advances repaid — {state}")
    for order in report.missing_ours:
        typer.echo(f"  extra line (no recharge of ours): {order}")
    for order in report.missing_theirs:
        typer.echo(f"  missing from the file (stays unsettled): {order}")
    for m in report.amount_mismatch:
        typer.echo(f"  amount differs: {m['order_no']} ours {m['ours_fen']} fen, theirs {m['theirs_fen']} fen")


@app.command("settle")
def settle_cmd(
    date: str = typer.Option(None, "--date", help="Settlement day YYYY-MM-DD (Beijing); default today."),
    file: Path = typer.Option(None, "--file", exists=True, dir_okay=False, help="Apply this settlement CSV instead."),
    db: str = DbOption,
) -> None:
    """Apply settlement files (T+1) to custody: mark recharges settled, repay advances."""
    engine = create_engine(db)
    clock = Clock()
    if file is not None:
        try:
            _echo_report(settlement_intake.apply_file(engine, clock, file))
        except SettlementFileError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
        return
    try:
        day = dt.date.fromisoformat(date) if date else clock.beijing_date()
    except ValueError:
        raise typer.BadParameter("use YYYY-MM-DD", param_hint="--date") from None
    runtime = money_runtime.get_runtime(engine, clock)
    count = 0
    for pay_date in pay_dates_settled_on(day):
        for _company, sim in sorted(runtime.simulators.items()):
            try:
                settlement = sim.settlement_file(pay_date)
            except SettlementNotDue as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(1) from None
            if not settlement.rows:
                continue
            _echo_report(settlement_intake.apply_settlement(engine, clock, settlement))
            count += 1
    typer.echo(f"{count} settlement file(s) with lines for {day}")


@app.command("remit")
def remit_cmd(db: str = DbOption) -> None:
    """Hand due withdrawals to the payout channel, then query those on their way."""
    engine = create_engine(db)
    runtime = money_runtime.get_runtime(engine, Clock())
    sent = withdrawals.remit_due(engine, runtime.clock, runtime.channel, own_bank_code=runtime.own_bank_code)
    looked = withdrawals.poll_remitting(engine, runtime.clock, runtime.channel, own_bank_code=runtime.own_bank_code)
    typer.echo(f"{sent} withdrawal(s) handed to the payout channel, {looked} payout(s) queried")


@app.command("run")
def run_cmd(max_ticks: int = typer.Option(20, "--max-ticks", min=1, max=10_000), db: str = DbOption) -> None:
    """Run money worker ticks until one finds nothing to do."""
    engine = create_engine(db)
    ticks = money_runtime.get_runtime(engine, Clock()).run_until_idle(max_ticks)
    typer.echo(f"{ticks} tick(s)")


@app.command("settings")
def settings_cmd(
    platform_no: str = typer.Argument(..., help="Platform number."),
    advance_mode: str = typer.Option(None, "--advance-mode", help="NONE, PLATFORM (SYS_GENERATE_007) or BANK."),
    bank_limit: str = typer.Option(None, "--bank-advance-limit", help="Bank advance line in yuan (BANK mode)."),
    audit: bool = typer.Option(None, "--audit/--no-audit", help="Every withdrawal waits for CONFIRM_WITHDRAW."),
    db: str = DbOption,
) -> None:
    """Show, or change, a platform's money settings."""
    engine = create_engine(db)
    limit = None
    if bank_limit is not None:
        try:
            limit = parse_yuan(bank_limit, field="--bank-advance-limit", allow_zero=True)
        except AmountError as exc:
            raise typer.BadParameter(str(exc), param_hint="--bank-advance-limit") from None
    if advance_mode is not None and advance_mode.upper() not in advances.ADVANCE_MODES:
        raise typer.BadParameter(f"use one of {', '.join(advances.ADVANCE_MODES)}", param_hint="--advance-mode")
    now = money_runtime.recharges.now_us(Clock())
    if advance_mode is None and limit is None and audit is None:
        with engine.connect() as conn:
            current = advances.get_settings(conn, platform_no)
    else:
        current = run_in_transaction(engine, lambda conn: advances.set_settings(
            conn, now, platform_no, advance_mode=advance_mode.upper() if advance_mode else None,
            bank_advance_limit_fen=limit, audit_mode=audit))
    typer.echo(f"{platform_no}: advance {current.advance_mode}, bank advance limit "
               f"{format_yuan(current.bank_advance_limit_fen)} yuan, audit mode {'on' if current.audit_mode else 'off'}")
