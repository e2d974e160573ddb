"""Runnable without the CLI: `python benchmarks/bench_ledger.py [--engine sqlite] [--quick] [--json]`.

The code lives in `cunguan.benchmarks.ledger` so that the installed `cunguan bench ledger` runs it too."""

from __future__ import annotations

import argparse

from cunguan.benchmarks.ledger import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"])
    parser.add_argument("--db")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    main(engine=args.engine, db=args.db, quick=args.quick, as_json=args.json)
