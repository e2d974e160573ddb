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
) -> None:
    """Migrate the database and run the HTTP server (Lanmao interface, pages, console, /health)."""
    import uvicorn

    from cunguan.api.app import create_app
    from cunguan.db.migrate import upgrade

    engine = create_engine(db)
    upgrade(engine)
    app = create_app(engine, base_url=f"http://{host}:{port}")
    console.print(f"Cunguan on http://{host}:{port}  (database: {engine.url.render_as_string(hide_password=True)})")
    uvicorn.run(app, host=host, port=port, log_level="info")


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
