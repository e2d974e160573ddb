"""`cunguan notify ...`: operators look at undelivered platform notifications and re-send them.

The outbox itself is in `cunguan.notify`; these commands only read it and call `outbox.resend`.
respData is not printed by `list` (it may carry personal fields); `show` prints the attempts, whose
excerpts are the platform's own answers.
"""

from __future__ import annotations

import datetime as dt

import typer

from cunguan.cli.options import DbOption
from cunguan.clock import BEIJING, Clock
from cunguan.db.engine import create_engine
from cunguan.db.tx import run_in_transaction
from cunguan.notify import outbox

app = typer.Typer(help="Platform notifications (NOTIFY outbox): list, inspect, re-send.", no_args_is_help=True)


def _when(us: int | None) -> str:
    if us is None:
        return "-"
    moment = dt.datetime.fromtimestamp(us // 1_000_000, dt.UTC).astimezone(BEIJING)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@app.command("list")
def list_cmd(
    platform_no: str = typer.Option(None, "--platform-no", help="Only this platform."),
    status: str = typer.Option(None, "--status", help="PENDING, FAILED or DELIVERED (default: PENDING and FAILED)."),
    limit: int = typer.Option(100, "--limit", min=1, max=outbox.MAX_LIST, help="At most this many rows."),
    db: str = DbOption,
) -> None:
    """List notifications, oldest first (times are Beijing time)."""
    if status is not None and status.upper() not in outbox.STATUSES:
        raise typer.BadParameter(f"use one of {', '.join(outbox.STATUSES)}", param_hint="--status")
    statuses = (status.upper(),) if status else (outbox.PENDING, outbox.FAILED)
    engine = create_engine(db)
    with engine.connect() as conn:
        rows = outbox.list_notifications(conn, platform_no=platform_no, statuses=statuses, limit=limit)
    typer.echo(f"{'ID':>8}  {'PLATFORM':<12} {'SERVICE':<28} {'STATUS':<9} {'TRIES':>5}  "
               f"{'CREATED':<19}  {'NEXT':<19}  {'BIZ_REF':<24} LAST_ERROR")
    for row in rows:
        next_at = _when(row.next_attempt_us) if row.status == outbox.PENDING else "-"
        typer.echo(f"{row.id:>8}  {row.platform_no:<12} {row.service_name:<28} {row.status:<9} "
                   f"{row.attempt_count:>5}  {_when(row.created_us):<19}  {next_at:<19}  "
                   f"{row.biz_ref or '-':<24} {row.last_error or ''}")
    typer.echo(f"{len(rows)} notification(s)", err=True)


@app.command("show")
def show_cmd(notification_id: int = typer.Argument(..., help="Notification id."), db: str = DbOption) -> None:
    """One notification and every delivery attempt."""
    engine = create_engine(db)
    with engine.connect() as conn:
        try:
            row = outbox.get(conn, notification_id)
        except outbox.NotificationNotFound as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
        attempts = outbox.attempts_for(conn, notification_id)
    typer.echo(f"notification {row.id}: {row.service_name} to platform {row.platform_no} ({row.notify_url})")
    typer.echo(f"status {row.status}, {row.attempt_count} attempt(s), created {_when(row.created_us)}, "
               f"deadline {_when(row.deadline_us)}, delivered {_when(row.delivered_us)}")
    for a in attempts:
        answer = f"HTTP {a.http_status}" if a.http_status is not None else a.error_class
        typer.echo(f"  #{a.attempt_no:<3} {_when(a.started_us)}  {a.duration_ms:>6} ms  {a.outcome:<9} "
                   f"{answer}  {a.response_excerpt or ''}")


@app.command("resend")
def resend_cmd(notification_id: int = typer.Argument(..., help="Notification id."), db: str = DbOption) -> None:
    """Re-queue a FAILED or PENDING notification for immediate delivery (with a fresh 24-hour window).
    The running server's delivery worker sends it on its next pass."""
    engine = create_engine(db)
    try:
        row = run_in_transaction(engine, lambda conn: outbox.resend(conn, notification_id, Clock()))
    except (outbox.NotificationNotFound, outbox.NotResendable) as exc:
        typer.echo(str(exc).strip("'\""), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"notification {row.id} re-queued (due now, deadline {_when(row.deadline_us)})")
