"""`cunguan bench ...`: throughput and latency benchmarks (the code lives in `benchmarks/`-style
modules under `cunguan.benchmarks` so an installed package can run them)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Benchmarks that print figures against a raw baseline run in the same process.",
                  no_args_is_help=True)


@app.command("ledger")
def ledger(
    engine: str = typer.Option(None, "--engine", help="sqlite or postgresql (default: both)."),
    db: str = typer.Option(None, "--db", help="PostgreSQL server URL to make the scratch database on "
                           "(default postgresql://postgres@127.0.0.1:5432/test), or a new SQLite file."),
    quick: bool = typer.Option(False, "--quick", help="A reduced run (under a minute)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per case, no progress bar."),
) -> None:
    """Ledger write throughput (real path) against raw hand-written SQL, single and batched transfers."""
    from cunguan.benchmarks.ledger import main

    if engine is not None and engine not in ("sqlite", "postgresql"):
        raise typer.BadParameter("use sqlite or postgresql", param_hint="--engine")
    main(engine=engine, db=db, quick=quick, as_json=as_json, echo=typer.echo)
