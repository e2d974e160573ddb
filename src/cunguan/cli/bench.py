"""`cunguan bench ...`: throughput and latency benchmarks (the code lives in `benchmarks/`-style
modules under `cunguan.benchmarks` so an installed package can run them)."""

from __future__ import annotations

import typer

from cunguan.api.server import default_workers

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


@app.command("async")
def async_(
    details: int = typer.Option(100_000, "--details", min=1, help="bizDetails to submit in total."),
    db: str = typer.Option(None, "--db", help="PostgreSQL server URL to make the scratch database on, or a new "
                           "SQLite file (default: a temporary SQLite file)."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=64, help="Concurrent submitting clients."),
    batch_size: int = typer.Option(1000, "--batch-size", min=1, max=1000, help="bizDetails per batch."),
    threads: int = typer.Option(1, "--threads", min=1, max=8, help="Runner threads in the server."),
    workers: int = typer.Option(default_workers(), "--workers", min=1, max=8,
                                help="HTTP worker processes of the server (default: as `cunguan serve`)."),
    users: int = typer.Option(2000, "--users", min=1, help="Investors created by the prepare step."),
    profile: str = typer.Option(None, "--profile", help="cProfile the runner into this file and report its top "
                                 "entries (slows the runner: not the benchmark's figure)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object, no progress bar."),
) -> None:
    """ASYNC_TRANSACTION end to end: real server subprocess, signed batches over HTTP, NOTIFYs received."""
    from cunguan.benchmarks.async_bench import main

    main(details=details, db=db, as_json=as_json, users=users, batch_size=batch_size, concurrency=concurrency,
         runner_threads=threads, http_workers=workers, profile=profile, echo=typer.echo)


@app.command("sync")
def sync(
    clients: int = typer.Option(32, "--clients", min=1, max=256, help="Concurrent client connections."),
    seconds: float = typer.Option(20.0, "--seconds", min=0.5, help="Length of the timed phase."),
    db: str = typer.Option(None, "--db", help="PostgreSQL server URL to make the scratch database on, or a new "
                           "SQLite file (default: a temporary SQLite file)."),
    workers: int = typer.Option(default_workers(), "--workers", min=1, max=8,
                                help="HTTP worker processes of the server (default: as `cunguan serve`)."),
    sign_live: bool = typer.Option(False, "--sign-live", help="Clients sign each request in the timed phase "
                                   "(default: signed before the clock starts)."),
    investors: int = typer.Option(2000, "--investors", min=1, help="Investors created by the prepare step."),
    projects: int = typer.Option(32, "--projects", min=1, help="Projects the bids spread over."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object, no progress bar."),
) -> None:
    """Bid + one-detail SYNC_TRANSACTION, signed, from concurrent clients against the real server."""
    from cunguan.benchmarks.sync_bench import main

    main(clients=clients, seconds=seconds, db=db, workers=workers, sign_live=sign_live, investors=investors,
         projects_n=projects, as_json=as_json, echo=typer.echo)
