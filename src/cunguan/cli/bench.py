"""`cunguan bench ...`: throughput and latency benchmarks (the code lives in `benchmarks/`-style
modules under `cunguan.benchmarks` so an installed package can run them)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Benchmarks that print figures against a raw baseline run in the same process.",
                  no_args_is_help=True)
