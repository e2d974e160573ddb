"""Run an import in a subprocess and stop dead inside a chunk's transaction, for the crash test.

    python migration_crash_worker.py DB_URL DIR PLATFORM TRANSFER_FEN|- CHUNK_ROWS FILE_NAME N

The N-th chunk of FILE_NAME writes its rows, then the worker prints BLOCKED and waits for the test to
kill it (SIGKILL): the chunk's transaction is open and never commits."""

from __future__ import annotations

import sys
from pathlib import Path

from cunguan.clock import Clock
from cunguan.db.engine import create_engine
from cunguan.migration import importer


def main() -> None:
    db_url, directory, platform_no, transfer, chunk_rows, file_name, nth = sys.argv[1:8]
    engine = create_engine(db_url)
    real_advance = importer._advance
    seen = {"chunks": 0}
    kind = importer.KINDS[file_name]

    def advance(conn, run, from_line, to_line, **kw):
        real_advance(conn, run, from_line, to_line, **kw)
        if run["kind"] == kind:
            seen["chunks"] += 1
            if seen["chunks"] == int(nth):
                print("BLOCKED", to_line, flush=True)
                sys.stdin.read()  # never returns: the test kills us here, inside the transaction

    importer._advance = advance
    importer.import_directory(engine, Clock(), Path(directory), platform_no,
                              transfer_fen=None if transfer == "-" else int(transfer), chunk_rows=int(chunk_rows))
    print("FINISHED", flush=True)


if __name__ == "__main__":
    main()
