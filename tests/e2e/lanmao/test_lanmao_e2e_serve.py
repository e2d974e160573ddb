"""`cunguan serve` as a user runs it: a fresh directory, the demo platform appears, and a client
configured from the printed key files is answered."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from cunguan.client import LanmaoClient
from cunguan.db.engine import create_engine
from cunguan.db.tables.custody_async import custody_async_details

pytestmark = pytest.mark.db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[str]:
    """The command lines of the server's child processes."""
    names = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        names.append(Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
    return names


def test_serve_creates_a_working_demo_platform(db_url: str, tmp_path: Path) -> None:
    port = _free_port()
    cli = Path(sys.executable).with_name("cunguan")
    log = (tmp_path / "serve.log").open("w+")
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen([str(cli), "serve", "--db", db_url, "--port", str(port), "--workers", "2"], cwd=tmp_path,
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        output = (tmp_path / "serve.log").read_text()
        assert "Demo platform 6000000001 (created)" in output
        assert f"http://127.0.0.1:{port}/bha-neo-app/lanmaotech" in output
        assert "BEGIN PRIVATE KEY" not in output
        demo = tmp_path / "var" / "demo"
        with LanmaoClient(f"http://127.0.0.1:{port}/bha-neo-app/lanmaotech", "6000000001",
                          (demo / "platform_private.pem").read_text(), (demo / "bank_public.pem").read_text()) as c:
            result = c.call("QUERY_USER_INFORMATION", {"platformUserNo": "SYS_GENERATE_007"})
            assert result.outcome == "S" and result.signature_valid and result.data["userRole"] == "PLATFORM_URGENT"
            # The ASYNC runner runs in a process of its own: a batch accepted by an HTTP worker is settled.
            batch = c.call("ASYNC_TRANSACTION", {"batchNo": "SERVE-1", "bizDetails": [
                {"requestNo": "SERVE-1-1", "tradeType": "FUNDS_TRANSFER", "details": [
                    {"bizType": "FUNDS_TRANSFER", "targetPlatformUserNo": "NOBODY", "amount": "1.00"}]}]})
            assert batch.outcome == "S", batch.data
        spawned = [c for c in _children(proc.pid) if "spawn_main" in c]
        assert len(spawned) == 3, spawned  # 2 HTTP workers and the runner
        engine = create_engine(db_url)
        deadline = time.monotonic() + 30
        while True:
            with engine.connect() as conn:
                status = conn.execute(select(custody_async_details.c.status, custody_async_details.c.error_code)).one()
            if status[0] != "PENDING" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        engine.dispose()
        assert tuple(status) == ("FAIL", "100009")  # NOBODY is not a user of the platform
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
