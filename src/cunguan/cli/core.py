"""serve, db upgrade, audit: the commands every installation needs."""

from __future__ import annotations

import typer
from rich.console import Console

from cunguan.api.server import MAX_WORKERS, default_workers
from cunguan.cli.options import DbOption
from cunguan.db.engine import create_engine, database_url

console = Console(stderr=True)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(db: str = DbOption) -> None:
    """Create or migrate the database schema to the newest revision (Alembic)."""
    from cunguan.db.migrate import upgrade

    engine = create_engine(db)
    upgrade(engine)
    console.print(f"[green]schema up to date[/] on {engine.url.render_as_string(hide_password=True)}")


def serve(
    db: str = DbOption,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(default_workers(), min=1, max=MAX_WORKERS, help="HTTP worker processes (default:"
                                " one per core, at most 8; the background work runs in this process beside them)."),
    scheduler: bool = typer.Option(True, help="Also run the cross-bank collection scheduler (every minute)."),
    sms_sink: str = typer.Option("var/sms.jsonl", help="Local file that receives the SMS messages."),
) -> None:
    """Migrate the database and run the server: HTTP worker processes (Lanmao interface, pages, console,
    /health) and, in this process, the background workers (notifications, money, ASYNC runner, fees,
    collection scheduler)."""
    from cunguan.api import server
    from cunguan.custody.demo import ensure_demo_platform
    from cunguan.db.engine import database_url
    from cunguan.db.migrate import upgrade

    url = database_url(db)
    engine = create_engine(url)
    upgrade(engine)
    base_url = f"http://{host}:{port}"
    console.print(ensure_demo_platform(engine, base_url=base_url).describe())
    console.print(f"Cunguan on {base_url}  (database: {engine.url.render_as_string(hide_password=True)}; "
                  f"{workers} HTTP worker process{'es' if workers > 1 else ''})")
    engine.dispose()
    server.run(url, host, port, workers=workers, base_url=base_url,
               extra_background=(lambda: _start_scheduler(create_engine(url), sms_sink)) if scheduler else None)


def _start_scheduler(engine, sms_sink: str):
    from cunguan.notify.sms import FileSmsSink
    from cunguan.sweep.background import start_background
    from cunguan.sweep.runtime import default_context

    console.print(f"collection scheduler: every 60 s; SMS messages go to {sms_sink}")
    return start_background(default_context(engine), FileSmsSink(sms_sink))


def audit(db: str = DbOption) -> None:
    """Recompute every account from postings and freezes, check every invariant and the hash chain.
    Exit code 0 only when everything holds; otherwise the first violation is printed."""
    from cunguan.db.ledger_audit import first_violation

    engine = create_engine(database_url(db))
    violation = first_violation(engine)
    if violation is not None:
        console.print(f"[red]AUDIT FAILED[/] {violation}")
        raise typer.Exit(1)
    console.print("[green]audit clean[/]: balances, frozen amounts, freezes, totals and hash chain hold")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("audit")(audit)
    app.add_typer(db_app, name="db")
