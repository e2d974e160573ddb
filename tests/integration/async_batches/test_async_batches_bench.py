"""The `cunguan bench async` harness on a small run: real server subprocess, signed batches, every
NOTIFY received and checked, figures and the audit reported."""

from __future__ import annotations

from cunguan.benchmarks import async_bench


def test_small_benchmark_run(db_url, engine):
    result = async_bench.run(db_url, details=260, users=15, batch_size=100, concurrency=3, runner_threads=1,
                             baseline_transfers=3000)
    assert (result.details, result.batches) == (260, 3)
    assert result.audit_ok and result.outcomes_ok
    # 182 TENDER (every 37th asks a fen above its bid: 4) and 78 REPAYMENT (every 41st above the share: 1)
    assert (result.succeeded, result.failed) == (255, 5)
    assert 0 < result.stages_s["accept"] <= result.stages_s["apply"] <= result.stages_s["notify"] == result.seconds
    assert result.rate_per_s > 0 and result.max_rss_mib > 10
    # every success posts at least its one transfer; the ratio is the run's posting rate over the baseline's
    assert result.postings >= result.succeeded and result.baseline_rate_per_s > 0
    assert abs(result.ratio_to_baseline - result.postings_per_s / result.baseline_rate_per_s) < 0.001
    # CPU per detail by role: acceptance, the runner and (PostgreSQL on this host) the database each did work
    cpu = result.cpu_ms_per_detail
    expected_roles = {"http", "runner", "supervisor", "total"} | ({"database"} if engine.dialect.name == "postgresql" else set())
    assert set(cpu) == expected_roles, cpu
    assert cpu["http"] > 0 and cpu["runner"] > 0 and (engine.dialect.name != "postgresql" or cpu["database"] > 0)
    assert abs(cpu["total"] - sum(v for k, v in cpu.items() if k != "total")) < 0.01
