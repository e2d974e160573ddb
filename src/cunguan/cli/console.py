"""`cunguan console ...`: bank operators of the operator console (web pages under /console).

The first admin can only be made here (the console itself needs an admin to create operators).
The password is asked twice at a hidden prompt, or read from the first line of stdin with
`--password-stdin` (for scripts); it is never an option value, so it stays out of shell history and
process lists.
"""

from __future__ import annotations

import sys

import typer

from cunguan.cli.options import DbOption
from cunguan.clock import Clock
from cunguan.console import operators, roles
from cunguan.console.errors import ConsoleError
from cunguan.db.engine import create_engine
from cunguan.db.tx import run_in_transaction

app = typer.Typer(help="Operator console: bank operators (operator, reviewer, admin).", no_args_is_help=True)


@app.command("create-operator")
def create_operator_cmd(
    username: str = typer.Option(..., "--username", help="Login name: 3-40 letters, digits, '.', '_' or '-'."),
    role: str = typer.Option(..., "--role", help="operator (read-only), reviewer (reviews, re-sends) or admin."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin's first line."),
    db: str = DbOption,
) -> None:
    """Create a console operator."""
    if role not in roles.ROLES:
        raise typer.BadParameter(f"use one of {', '.join(roles.ROLES)}", param_hint="--role")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = create_engine(db)
    try:
        op = run_in_transaction(engine, lambda conn: operators.create_operator(
            conn, Clock(), username=username, password=password, role=role))
    except ConsoleError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"operator {op.username} created (role {op.role})")


@app.command("list-operators")
def list_operators_cmd(db: str = DbOption) -> None:
    """List console operators (never their password hashes)."""
    engine = create_engine(db)
    with engine.connect() as conn:
        rows = operators.list_operators(conn)
    for op in rows:
        typer.echo(f"{op.username:<40} {op.role:<9} {op.status}")
    typer.echo(f"{len(rows)} operator(s)", err=True)
