"""`cunguan bench sync` runs end to end in a tiny configuration (real server subprocess, signed requests,
a few clients for a couple of seconds): the JSON carries the figures, no request failed, every
success left its business rows, and the ledger audits clean. No speed is asserted (a loaded machine
must not fail the suite)."""

from __future__ import annotations

import json

from cunguan.benchmarks import sync_bench


def test_bench_sync_tiny_run(db_url: str, db_kind: str) -> None:
    result = sync_bench.run(db_url, clients=3, seconds=1.5, investors=12, projects_n=2, baseline_seconds=0.5)
    row = json.loads(json.dumps(sync_bench.asdict(result), ensure_ascii=False))
    for name in ("requests", "rate_per_s", "p50_ms", "p99_ms", "errors", "baseline_rate_per_s", "ratio",
                 "commit_rate_per_s", "sign_ms", "server_cpu_ms_per_request", "audit_ok", "rows_ok"):
        assert name in row, name
    assert row["engine"] == db_kind
    assert row["errors"] == 0, row["first_errors"]
    assert row["requests"] > 0 and row["rate_per_s"] > 0
    assert 0 < row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
    # both services ran, alternating: a release never outnumbers its bids
    bids, releases = row["by_service"]["USER_AUTO_PRE_TRANSACTION"], row["by_service"]["SYNC_TRANSACTION"]
    assert bids >= releases >= bids - 3
    assert row["baseline_requests"] > 0 and row["ratio"] > 0
    assert row["audit_ok"] is True and row["rows_ok"] is True
    assert row["signing"] == "presigned"
    assert row["sign_ms"] > 0  # a real signature was timed (the machine's reference figure)
    assert db_kind in result.line()


def test_bench_sync_live_signing(db_url: str) -> None:
    result = sync_bench.run(db_url, clients=2, seconds=1.0, investors=4, projects_n=1, sign_live=True,
                            baseline_seconds=0.3)
    assert result.signing == "live"
    assert result.errors == 0, result.first_errors
    assert result.requests > 0 and result.audit_ok and result.rows_ok
