"""`cunguan async ...`: the ASYNC_TRANSACTION runner from the command line.

`run-once` settles pending details with the default (trade core) executor, chunk by chunk, each
chunk its own transaction, exactly what the server's runner threads do (safe to run beside them);
`status` counts details and batches by status.
"""

from __future__ import annotations

import json

import typer

from cunguan.cli.options import DbOption
from cunguan.clock import Clock
from cunguan.custody import async_runner
from cunguan.db.engine import create_engine

app = typer.Typer(help="ASYNC_TRANSACTION batches: run the runner once, show the backlog.", no_args_is_help=True)


@app.command("run-once")
def run_once(
    chunk: int = typer.Option(async_runner.DEFAULT_CHUNK, "--chunk", min=1, max=async_runner.MAX_CHUNK,
                              help="Details per chunk transaction."),
    max_chunks: int = typer.Option(None, "--max-chunks", min=1, help="Stop after this many chunks."),
    db: str = DbOption,
) -> None:
    """Settle pending details until none is left (or --max-chunks); print the totals."""
    engine = create_engine(db)
    stats = async_runner.run_until_idle(engine, Clock(), chunk_size=chunk, max_chunks=max_chunks)
    typer.echo(f"details {stats.details} (success {stats.succeeded}, fail {stats.failed}); "
               f"batches finished {len(stats.batches_done)}")


@app.command("status")
def status(db: str = DbOption, as_json: bool = typer.Option(False, "--json", help="One JSON object.")) -> None:
    """Details by status (PENDING/SUCCESS/FAIL) and batches by status (PROCESSING/DONE)."""
    engine = create_engine(db)
    with engine.connect() as conn:
        counts = async_runner.counts(conn.execution_options(sqlite_deferred=True))
    if as_json:
        typer.echo(json.dumps(counts))
        return
    for key, value in counts.items():
        typer.echo(f"{key:<20} {value}")
