"""`cunguan platform ...` and `cunguan bank-key ...`: register platforms and their keys, print the
bank's public key (what platforms configure to verify responses). The bank's private key is never
printed."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from cunguan.cli.options import DbOption
from cunguan.custody.errors import CustodyError

console = Console(stderr=True)
platform_app = typer.Typer(help="Custody platforms and their request-signing keys.", no_args_is_help=True)
bank_key_app = typer.Typer(help="The bank's response/notification signing key.", no_args_is_help=True)


def _engine(db: str | None):
    from cunguan.db.engine import create_engine
    from cunguan.db.migrate import upgrade

    engine = create_engine(db)
    upgrade(engine)
    return engine


def _read_key(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        console.print(f"[red]cannot read public key file {path}[/]: {type(exc).__name__}")
        raise typer.Exit(2) from None


def _now() -> int:
    from cunguan.clock import Clock
    from cunguan.custody.platforms import now_us

    return now_us(Clock())


@platform_app.command("create")
def create(
    platform_no: str = typer.Option(..., "--platform-no", help="Platform number (e.g. 10 digits)."),
    name: str = typer.Option(..., "--name", help="Platform name."),
    public_key: Path = typer.Option(..., "--public-key", help="PEM (or Base64 DER) RSA public key file."),
    notify_url: str = typer.Option(..., "--notify-url", help="Where NOTIFY messages are POSTed."),
    key_serial: str = typer.Option("1", "--key-serial", help="keySerial of this key."),
    db: str = DbOption,
) -> None:
    """Register a platform with its first key; opens its custody and SYS_GENERATE_000..007 accounts."""
    from cunguan.custody import platforms
    from cunguan.db.tx import run_in_transaction

    pem = _read_key(public_key)
    engine = _engine(db)
    now = _now()
    try:
        platform = run_in_transaction(engine, lambda conn: platforms.create_platform(
            conn, now, platform_no=platform_no, name=name, notify_url=notify_url, public_key_pem=pem,
            key_serial=key_serial))
    except CustodyError as exc:
        console.print(f"[red]refused[/] {exc.message}")
        raise typer.Exit(1) from None
    console.print(f"[green]platform {platform.platform_no} created[/] (key serial {key_serial}, "
                  f"system accounts SYS_GENERATE_000..007)")


@platform_app.command("add-key")
def add_key(
    platform_no: str = typer.Option(..., "--platform-no"),
    key_serial: str = typer.Option(..., "--key-serial"),
    public_key: Path = typer.Option(..., "--public-key", help="PEM (or Base64 DER) RSA public key file."),
    db: str = DbOption,
) -> None:
    """Register another key serial for a platform (rotation: every active serial verifies)."""
    from cunguan.custody import platforms
    from cunguan.db.tx import run_in_transaction

    pem = _read_key(public_key)
    engine = _engine(db)
    now = _now()
    try:
        run_in_transaction(engine, lambda conn: platforms.add_key(
            conn, now, platform_no=platform_no, key_serial=key_serial, public_key_pem=pem))
    except CustodyError as exc:
        console.print(f"[red]refused[/] {exc.message}")
        raise typer.Exit(1) from None
    console.print(f"[green]key serial {key_serial} added[/] to platform {platform_no}")


@platform_app.command("revoke-key")
def revoke_key(
    platform_no: str = typer.Option(..., "--platform-no"),
    key_serial: str = typer.Option(..., "--key-serial"),
    db: str = DbOption,
) -> None:
    """Stop accepting signatures made with one key serial (after a platform finished rotating)."""
    from cunguan.custody import platforms
    from cunguan.db.tx import run_in_transaction

    engine = _engine(db)
    if not run_in_transaction(engine, lambda conn: platforms.revoke_key(
            conn, platform_no=platform_no, key_serial=key_serial)):
        console.print(f"[red]no key serial {key_serial} for platform {platform_no}[/]")
        raise typer.Exit(1)
    console.print(f"[green]key serial {key_serial} revoked[/] for platform {platform_no}")


@platform_app.command("set-status")
def set_status(
    platform_no: str = typer.Option(..., "--platform-no"),
    status: str = typer.Option(..., "--status", help="ACTIVE or DISABLED (disabled platforms get 100005)."),
    db: str = DbOption,
) -> None:
    """Enable or disable a platform's access to the interface."""
    from cunguan.custody import platforms
    from cunguan.db.tx import run_in_transaction

    status = status.upper()
    if status not in (platforms.ACTIVE, platforms.DISABLED):
        raise typer.BadParameter("use ACTIVE or DISABLED", param_hint="--status")
    engine = _engine(db)
    now = _now()
    try:
        run_in_transaction(engine, lambda conn: platforms.set_status(conn, now, platform_no, status))
    except CustodyError as exc:
        console.print(f"[red]refused[/] {exc.message}")
        raise typer.Exit(1) from None
    console.print(f"[green]platform {platform_no} is {status}[/]")


@platform_app.command("list")
def list_(db: str = DbOption) -> None:
    """Every platform with its status, notify URL and key serials."""
    from cunguan.custody import platforms

    engine = _engine(db)
    with engine.connect() as conn:
        rows = [(p, platforms.list_keys(conn, p.platform_no)) for p in platforms.list_platforms(conn)]
    table = Table("platformNo", "name", "status", "notify URL", "key serials")
    for p, keys in rows:
        table.add_row(p.platform_no, p.name, p.status, p.notify_url,
                      ", ".join(f"{serial}" + ("" if status == "ACTIVE" else f" ({status})") for serial, status in keys))
    Console().print(table)


@bank_key_app.command("public")
def bank_public(db: str = DbOption) -> None:
    """Print the bank's public key (PEM); generated on first use."""
    from cunguan.custody.platforms import bank_public_key_pem
    from cunguan.settings import Settings

    engine = _engine(db)
    typer.echo(bank_public_key_pem(engine, Settings.from_env()), nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(platform_app, name="platform")
    app.add_typer(bank_key_app, name="bank-key")
