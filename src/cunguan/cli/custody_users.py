"""`cunguan users ...`: the bank operators' side of custody users — users waiting for review, one
user's record (ID and card numbers masked), and the review decision (PASSED / BACK / REFUSED), which
notifies the platform. Every command takes the platform number: users exist only within a platform."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from cunguan.cli.options import DbOption
from cunguan.custody.errors import CustodyError

console = Console()
err_console = Console(stderr=True)
app = typer.Typer(help="Custody users: pending reviews, lookup, operator review.", no_args_is_help=True)


def _engine(db: str | None):
    from cunguan.db.engine import create_engine
    from cunguan.db.migrate import upgrade

    engine = create_engine(db)
    upgrade(engine)
    return engine


@app.command("pending")
def pending(platform_no: str = typer.Option(None, "--platform-no", help="Only this platform."),
            db: str = DbOption) -> None:
    """Users waiting for an operator's review, oldest first."""
    from cunguan.custody import reviews
    from cunguan.custody.masking import mask_id_card

    engine = _engine(db)
    with engine.connect() as conn:
        waiting = reviews.pending_reviews(conn, platform_no)
    table = Table("platform", "platformUserNo", "type", "role", "name", "ID", "access")
    for u in waiting:
        table.add_row(u.platform_no, u.platform_user_no, u.user_type, u.user_role, u.name or "",
                      f"{u.id_card_type or ''} {mask_id_card(u.id_card_no)}", u.access_type)
    console.print(table)
    console.print(f"{len(waiting)} waiting")


@app.command("show")
def show(platform_no: str = typer.Option(..., "--platform-no"), user: str = typer.Option(..., "--user"),
         db: str = DbOption) -> None:
    """One user as QUERY_USER_INFORMATION sees it (numbers masked, balances in yuan)."""
    from cunguan.clock import Clock
    from cunguan.custody import users
    from cunguan.money import format_yuan

    engine = _engine(db)
    try:
        with engine.connect() as conn:
            info = users.query_user_information(conn, Clock(), platform_no, users.QueryUserInformationRequest(user))
    except CustodyError as exc:
        err_console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(1) from None
    for key, value in vars(info).items():
        if key.endswith("_fen"):
            key, value = key[:-4], format_yuan(value)
        console.print(f"{key}: {value}")


@app.command("review")
def review(platform_no: str = typer.Option(..., "--platform-no"), user: str = typer.Option(..., "--user"),
           decision: str = typer.Option(..., "--decision", help="PASSED, BACK or REFUSED."),
           operator: str = typer.Option(..., "--operator", help="Your operator id (recorded)."),
           remark: str = typer.Option(None, "--remark", help="Told to the platform (e.g. what to fix)."),
           db: str = DbOption) -> None:
    """Decide a user in AUDIT; the platform is notified through the outbox."""
    from cunguan.clock import Clock
    from cunguan.custody import reviews
    from cunguan.db.tx import run_in_transaction

    engine = _engine(db)
    try:
        result = run_in_transaction(engine, lambda conn: reviews.review_user(
            conn, Clock(), platform_no, user, operator_id=operator, decision=decision.upper(), remark=remark))
    except CustodyError as exc:
        err_console.print(f"[red]refused[/] {exc.message}")
        raise typer.Exit(1) from None
    console.print(f"{user}: {result.from_status} -> {result.audit_status} ({result.active_status}); "
                  f"{result.service_name} notification queued")
