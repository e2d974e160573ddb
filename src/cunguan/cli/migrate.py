"""`cunguan migrate ...`: migration of an existing platform (存量迁移).

- `import DIR --platform-no N [--transfer-amount YUAN] [--report FILE]` imports users.csv, then
  balances.csv (which must total the platform's transfer), projects.csv and shares.csv, streaming, in
  chunks, then creates the staged projects with their holders' shares in custody ("custody projects"
  in the summary); shows a progress bar and a summary; writes the report CSV of every rejected or flagged row
  (default DIR/migration-report.csv). Running it again is safe: imported files are recognised by
  their digest, an interrupted import resumes. Exit code 1 when anything was refused.
- `review --platform-no N --user U --decision PASSED|REFUSED --operator ID` decides an imported user
  activated with a passport / HK-Macau-Taiwan pass (or an enterprise); the platform is notified.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cunguan.cli.options import DbOption
from cunguan.custody.errors import CustodyError

console = Console()
err_console = Console(stderr=True)
app = typer.Typer(help="Migration of an existing platform: import users, balances, projects; review.",
                  no_args_is_help=True)


def _engine(db: str | None):
    from cunguan.db.engine import create_engine
    from cunguan.db.migrate import upgrade

    engine = create_engine(db)
    upgrade(engine)
    return engine


@app.command("import")
def import_(directory: Path = typer.Argument(..., exists=True, file_okay=False, help="Directory with users.csv…"),
            platform_no: str = typer.Option(..., "--platform-no"),
            transfer_amount: str = typer.Option(None, "--transfer-amount",
                                                help="Yuan the platform paid into custody; balances must total it."),
            report: Path = typer.Option(None, "--report", help="Report CSV (default DIR/migration-report.csv)."),
            chunk_rows: int = typer.Option(1000, "--chunk-rows", min=1, max=10_000, help="Rows per transaction."),
            db: str = DbOption) -> None:
    """Import the migration files of DIR into custody for one platform."""
    from cunguan.clock import Clock
    from cunguan.migration import importer
    from cunguan.money import AmountError, format_yuan, parse_yuan

    transfer_fen = None
    if transfer_amount is not None:
        try:
            transfer_fen = parse_yuan(transfer_amount, field="--transfer-amount")
        except AmountError as exc:
            err_console.print(f"[red]{exc}[/]")
            raise typer.Exit(2) from None
    report_path = report or directory / "migration-report.csv"
    engine = _engine(db)
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TextColumn("line {task.fields[line]}"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        tasks: dict[str, int] = {}

        def progress(name: str, line: int, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total, line=0)
            bar.update(tasks[name], completed=done, line=line)

        try:
            result = importer.import_directory(engine, Clock(), directory, platform_no, transfer_fen=transfer_fen,
                                               report_path=report_path, chunk_rows=chunk_rows, progress=progress)
        except (importer.CannotImport, importer.formats.FileFormatError) as exc:
            err_console.print(f"[red]refused[/] {exc}")
            raise typer.Exit(1) from None
    table = Table("file", "status", "lines", "accepted", "flagged", "rejected", "total (yuan)")
    for f in result.files:
        style = {"REFUSED": "red", "ALREADY_IMPORTED": "yellow"}.get(f.status, "green")
        table.add_row(f.file_name, f"[{style}]{f.status}[/]", str(f.lines), str(f.accepted), str(f.flagged),
                      str(f.rejected), format_yuan(f.total_fen) if f.total_fen else "")
    console.print(table)
    for f in result.files:
        if f.message:
            console.print(f"{f.file_name}: {f.status}: {f.message}", soft_wrap=True)
    console.print(f"report: {report_path} ({result.report_rows} row(s) rejected or flagged)")
    if result.refused:
        raise typer.Exit(1)


@app.command("review")
def review(platform_no: str = typer.Option(..., "--platform-no"), user: str = typer.Option(..., "--user"),
           decision: str = typer.Option(..., "--decision", help="PASSED or REFUSED."),
           operator: str = typer.Option(..., "--operator", help="Your operator id (recorded)."),
           remark: str = typer.Option(None, "--remark"), db: str = DbOption) -> None:
    """Decide an imported user waiting for manual review after activation."""
    from cunguan.clock import Clock
    from cunguan.custody import stocked_users
    from cunguan.db.tx import run_in_transaction

    engine = _engine(db)
    try:
        result = run_in_transaction(engine, lambda conn: stocked_users.review_stocked_user(
            conn, Clock(), platform_no, user, operator_id=operator, decision=decision.upper(), remark=remark))
    except CustodyError as exc:
        err_console.print(f"[red]refused[/] {exc.message}")
        raise typer.Exit(1) from None
    console.print(f"{user}: {result.from_status} -> {result.audit_status} ({result.active_status}); "
                  f"{result.service_name} notification queued")
