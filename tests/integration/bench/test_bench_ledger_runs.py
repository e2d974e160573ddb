"""The ledger benchmark runs end to end on a tiny size and its figures come from honest work: the
ledger and both baselines wrote the same transfers, the same totals and the same balances.
No timing is asserted (a loaded machine must not fail the suite)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from cunguan.benchmarks import ledger as bench


def _tiny_cases() -> list[bench.Case]:
    return [bench.Case(1, "uniform", 4), bench.Case(1, "hot", 3), bench.Case(25, "uniform", 50),
            bench.Case(25, "hot", 50)]


def test_bench_ledger_output_shape_and_equal_totals(db_url: str, db_kind: str) -> None:
    results = bench.run_engine(db_kind, db_url, _tiny_cases(), accounts=40)

    assert [r.case for r in results] == ["single-uniform", "single-hot", "batch25-uniform", "batch25-hot"]
    for result, case in zip(results, _tiny_cases(), strict=True):
        row = json.loads(result.json())
        for field in ("engine", "case", "transfers", "rate_per_s", "baseline_rate_per_s", "ratio"):
            assert field in row
        assert row["engine"] == db_kind
        assert row["transfers"] == case.transfers
        assert row["rate_per_s"] > 0 and row["baseline_rate_per_s"] > 0
        assert row["ratio"] == pytest.approx(row["rate_per_s"] / row["baseline_rate_per_s"], rel=0.01)
        assert row["total_fen"] == row["baseline_total_fen"] > 0
        assert (row["meets_target"] is None) == (case.batch == 1)
        assert result.case in result.line() and db_kind in result.line()

    # The ledger really went through the ledger: postings with keys, chained, balanced.
    engine = bench.create_engine(db_url)
    try:
        with engine.connect() as conn:
            count, keyed, total = conn.execute(text(
                "SELECT count(*), count(idem_key), coalesce(sum(amount_fen), 0) FROM postings WHERE biz_type = :b"
            ), {"b": bench.BIZ_TYPE}).one()
            last_seq = conn.execute(text("SELECT last_seq FROM ledger_chain WHERE id = 1")).scalar_one()
            raw_total = conn.execute(text("SELECT coalesce(sum(amount_fen), 0) FROM bench_raw_journal")).scalar_one()
            drv_total = conn.execute(text("SELECT coalesce(sum(amount_fen), 0) FROM bench_drv_journal")).scalar_one()
            balance_sum = conn.execute(text("SELECT sum(balance_fen) FROM accounts")).scalar_one()
    finally:
        engine.dispose()
    assert count == keyed == sum(c.transfers for c in _tiny_cases())
    assert total == sum(r.total_fen for r in results) == raw_total == drv_total
    assert last_seq >= count + 40  # the funding postings come first
    assert balance_sum == 0


def test_bench_ledger_detects_a_baseline_that_wrote_something_else(db_url: str, db_kind: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The totals check can fail: a baseline that drops a transfer is caught, not reported as fast."""
    original = bench.RawSide.run

    def lossy(self, item):
        ref, batch = item
        return original(self, (ref, batch[:-1] or batch))

    monkeypatch.setattr(bench.RawSide, "run", lossy)
    with pytest.raises(bench.BenchMismatch):
        bench.run_engine(db_kind, db_url, [bench.Case(10, "uniform", 20)], accounts=20)


def test_bench_ledger_case_lists() -> None:
    full, quick = bench.cases(), bench.cases(quick=True)
    for case_list in (full, quick):
        assert {(c.batch, c.mode) for c in case_list} == {(b, m) for b in (1, 100, 1000) for m in ("uniform", "hot")}
        assert all(c.transfers % c.batch == 0 for c in case_list)
    assert sum(c.transfers for c in quick) < sum(c.transfers for c in full)
