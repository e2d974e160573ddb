"""`cunguan demo`: run one whole custody lifecycle against a running `cunguan serve` and print each step
with the users' balances. The logic lives in `cunguan.client.demo_flow`; this module only parses the
options and prints."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from cunguan.cli.options import DbOption

console = Console()


def _table(report) -> Table:
    table = Table(title=f"Cunguan demo — platform {report.platform_no}, project {report.project_no}")
    table.add_column("#", justify="right")
    table.add_column("step")
    table.add_column("result")
    for label in report.users:
        table.add_column(f"{label}\nbalance / frozen", justify="right")
    for i, step in enumerate(report.steps, 1):
        cells = []
        for user_no in report.users.values():
            b = step.balances.get(user_no)
            cells.append("—" if b is None else f"{b[0]:.2f} / {b[2]:.2f}")
        table.add_row(str(i), step.title, step.outcome, *cells)
    return table


def demo(
    url: str = typer.Option("http://127.0.0.1:8000", "--url", help="Base URL of the running server."),
    db: str = DbOption,
    platform_no: str = typer.Option("6000000001", "--platform-no", help="The demo platform's number."),
    key_dir: Path = typer.Option(Path("var") / "demo", "--key-dir",
                                 help="Where `cunguan serve` wrote the demo platform's keys."),
) -> None:
    """Register users on the bank pages, recharge, bid, release, repay, transfer a share, withdraw —
    against a RUNNING server (SMS codes are read from its database, --db)."""
    from cunguan.client import demo_flow
    from cunguan.db.engine import create_engine
    from cunguan.settings import Settings

    engine = create_engine(db)
    try:
        client = demo_flow.load_client(url, platform_no, key_dir, lanmao_prefix=Settings.from_env().lanmao_prefix)
    except demo_flow.DemoFailed as exc:
        console.print(f"[red]demo cannot start[/]: {exc}")
        raise typer.Exit(2) from None

    def show(step) -> None:
        console.print(f"[green]✓[/] {step.title}: [bold]{step.outcome}[/]")

    run = demo_flow.DemoRun(client, url, demo_flow.sms_reader(engine), on_step=show)
    try:
        report = run.run()
    except demo_flow.DemoFailed as exc:
        console.print(f"[red]demo failed[/]: {exc}")
        raise typer.Exit(1) from None
    finally:
        client.close()
        engine.dispose()
    console.print(_table(report))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
