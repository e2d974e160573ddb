"""`cunguan async status` and `cunguan async run-once` (default executor: the trade core)."""

from __future__ import annotations

import json

import async_batches_support as support
from typer.testing import CliRunner

from cunguan.cli import app
from cunguan.clock import Clock
from cunguan.custody.async_batches import accept


def test_status_and_run_once(engine, db_url, platform):
    support.make_users(engine, {"A": 0})
    detail = {"tradeType": "FUNDS_TRANSFER", "details": [{"bizType": "FUNDS_TRANSFER", "amount": 1,
                                                          "sourcePlatformUserNo": "SYS_GENERATE_000",
                                                          "targetPlatformUserNo": "A"}]}
    accept(engine, Clock(), support.PLATFORM_NO, "1", {"batchNo": "B-1", "bizDetails": [{"requestNo": "F-1", **detail}]})
    runner = CliRunner()
    before = runner.invoke(app, ["async", "status", "--db", db_url, "--json"])
    assert before.exit_code == 0, before.output
    assert json.loads(before.output)["details_pending"] == 1
    ran = runner.invoke(app, ["async", "run-once", "--db", db_url, "--chunk", "10"])
    assert ran.exit_code == 0, ran.output
    assert "details 1 (success 0, fail 1); batches finished 1" in ran.output  # SYS_GENERATE_000 has no money
    after = runner.invoke(app, ["async", "status", "--db", db_url])
    assert "details_fail" in after.output and "batches_done         1" in after.output
