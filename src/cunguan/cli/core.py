"""serve, db upgrade, audit: the commands every installation needs."""

from __future__ import annotations

import typer
from rich.console import Console

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
    scheduler: bool = typer.Option(True, help="Also run the cross-bank collection scheduler (every minute)."),
    sms_sink: str = typer.Option("var/sms.jsonl", help="Local file that receives the SMS messages."),
) -> None:
    """Migrate the database and run the HTTP server (Lanmao interface, pages, console, /health)."""
    import uvicorn

    from cunguan.api.app import create_app
    from cunguan.db.migrate import upgrade

    engine = create_engine(db)
    upgrade(engine)
    app = create_app(engine, base_url=f"http://{host}:{port}")
    from cunguan.custody.demo import ensure_demo_platform
    console.print(ensure_demo_platform(engine, base_url=f"http://{host}:{port}").describe())
    console.print(f"Cunguan on http://{host}:{port}  (database: {engine.url.render_as_string(hide_password=True)})")
    stop_scheduler = _start_scheduler(engine, sms_sink) if scheduler else None
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        if stop_scheduler is not None:
            stop_scheduler()


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
