"""A runner process for the crash and multi-process tests: `python async_batches_worker.py URL MODE CHUNK [STALL_AT]`.

- `idle`: run chunks until nothing is pending, print `DONE <details>`.
- `crash`: print `CHUNK <n>` after each committed chunk; in chunk number STALL_AT, after executing half of
  its details (inside the open transaction), print `STALL` and hang, so the test can SIGKILL it there.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import async_batches_support as support  # noqa: E402

from cunguan.clock import Clock  # noqa: E402
from cunguan.custody import async_runner  # noqa: E402
from cunguan.db.engine import create_engine  # noqa: E402


def main() -> None:
    url, mode, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
    engine = create_engine(url)
    if mode == "idle":
        stats = async_runner.run_until_idle(engine, Clock(), executor=support.transfer_executor, chunk_size=chunk)
        print(f"DONE {stats.details}", flush=True)
        return
    assert mode == "crash"
    stall_at = int(sys.argv[4])
    chunk_no = 0

    def executor(conn, clock, platform_no, items):
        if chunk_no + 1 < stall_at:
            return support.transfer_executor(conn, clock, platform_no, items)
        half = len(items) // 2
        support.transfer_executor(conn, clock, platform_no, items[:half])
        print("STALL", flush=True)
        threading.Event().wait()  # hang inside the transaction until killed
        raise AssertionError("unreachable")

    while True:
        stats = async_runner.run_chunk(engine, Clock(), executor=executor, chunk_size=chunk)
        chunk_no += 1
        print(f"CHUNK {chunk_no} {stats.details}", flush=True)
        if not stats.details:
            return


if __name__ == "__main__":
    main()
