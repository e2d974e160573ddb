"""Options shared by every sub-command."""

from __future__ import annotations

import typer

DbOption = typer.Option(
    None, "--db", envvar="CUNGUAN_DATABASE_URL",
    help="Database URL (sqlite:///path or postgresql://user@host/db). Default: var/cunguan.sqlite3.",
)
