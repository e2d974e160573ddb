"""The `cunguan` command. Each room adds its own sub-command group in a module of this package and
registers it below, so the main app stays a table of contents."""

from __future__ import annotations

import typer

from cunguan.cli import async_batches as async_cli
from cunguan.cli import bench, core, platform
from cunguan.cli import console as console_cli
from cunguan.cli import custody_users as users_cli
from cunguan.cli import demo as demo_cli
from cunguan.cli import fees as fees_cli
from cunguan.cli import migrate as migrate_cli
from cunguan.cli import money as money_cli
from cunguan.cli import notify as notify_cli
from cunguan.cli import reconcile as reconcile_cli
from cunguan.cli import sweep as sweep_cli

app = typer.Typer(
    name="cunguan",
    help="Cunguan (存管): bank-side fund custody over the Lanmao custody interface, cross-bank fund "
    "collection, one double-entry ledger.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

core.register(app)
app.add_typer(async_cli.app, name="async")
app.add_typer(bench.app, name="bench")
app.add_typer(console_cli.app, name="console")
app.add_typer(fees_cli.app, name="fees")
app.add_typer(money_cli.app, name="money")
app.add_typer(notify_cli.app, name="notify")
app.add_typer(reconcile_cli.app, name="reconcile")
app.add_typer(sweep_cli.app, name="sweep")
app.add_typer(users_cli.app, name="users")
app.add_typer(migrate_cli.app, name="migrate")
platform.register(app)
demo_cli.register(app)

if __name__ == "__main__":  # pragma: no cover
    app()
