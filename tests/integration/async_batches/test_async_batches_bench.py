"""The `cunguan bench async` harness on a small run: real server subprocess, signed batches, every
NOTIFY received and checked, figures and the audit reported."""

from __future__ import annotations

from cunguan.benchmarks import async_bench


def test_small_benchmark_run(db_url, engine, tmp_path):
    profile = tmp_path / "runner.prof"
    result = async_bench.run(db_url, details=260, users=15, batch_size=100, concurrency=3, runner_threads=1,
                             baseline_transfers=3000, profile=str(profile))
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
    # --profile: the runner's own process profiled its chunks; the report names the top entries by own time
    assert profile.stat().st_size > 0
    top = result.profile_top
    assert len(top) == async_bench.PROFILE_TOP
    assert [e["own_s"] for e in top] == sorted((e["own_s"] for e in top), reverse=True)
    assert all(e["calls"] >= 1 and e["cumulative_s"] >= e["own_s"] >= 0 for e in top)
    assert any("async_runner.py" in e["function"] or "trade_batch.py" in e["function"] for e in top), top
    assert "profile:" in result.line()


def test_profile_top_reads_a_stats_file(tmp_path):
    import cProfile

    def busy(n: int) -> int:
        return sum(i * i for i in range(n))

    profiler = cProfile.Profile()
    profiler.runcall(busy, 200_000)
    path = tmp_path / "p.prof"
    profiler.dump_stats(str(path))
    top = async_bench.profile_top(str(path), n=3)
    assert len(top) == 3
    assert any("busy" in e["function"] or "genexpr" in e["function"] for e in top), top
