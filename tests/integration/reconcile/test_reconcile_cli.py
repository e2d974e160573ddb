"""`cunguan reconcile DATE`: Rich summary, stored run, CSV, exit code 1 while differences remain."""

from __future__ import annotations

import csv

import checkfiles_builder as builder  # tests/support
from typer.testing import CliRunner

from cunguan.cli import app
from cunguan.cli import reconcile as reconcile_cli
from cunguan.db.tables.reconcile import reconcile_runs
from cunguan.payments.settlement import write_file

P1 = builder.P1


def _run(monkeypatch, env, *args):
    monkeypatch.setattr(reconcile_cli, "Clock", lambda: env.clock)  # the CLI's clock = the test's business day
    return CliRunner().invoke(app, ["reconcile", *args], catch_exceptions=False)


def test_a_clean_day_exits_0(day_env, db_url, monkeypatch, tmp_path):
    day = builder.build_busy_day(day_env)
    out = tmp_path / "clean.csv"
    res = _run(monkeypatch, day_env, day.isoformat(), "--platform-no", P1, "--db", db_url, "--csv", str(out))
    assert res.exit_code == 0, res.output
    assert "clean: no differences" in res.output and "1 matched" in res.output
    assert out.read_text(encoding="utf-8").splitlines() == [
        "platform_no,biz_date,run_no,difference_id,check,kind,source,ref,ours_yuan,theirs_yuan,detail,status,"
        "adjustment_id"]


def test_differences_exit_1_with_the_csv(day_env, db_url, monkeypatch, tmp_path):
    tue, _wed, tampered, payouts = builder.build_problem_days(day_env)
    files = tmp_path / "settlement"
    write_file(tampered, files)
    statement = tmp_path / "payouts.csv"
    with statement.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("order_no", "amount_fen", "status", "reason_code"))
        for line in payouts(tue):
            w.writerow((line.order_no, line.amount_fen, line.status, line.reason_code or ""))
    out = tmp_path / "diff.csv"
    res = _run(monkeypatch, day_env, tue.strftime("%Y%m%d"), "--db", db_url, "--csv", str(out),
               "--settlement-dir", str(files), "--payout-file", str(statement))
    assert res.exit_code == 1, res.output
    assert "6 difference(s), 6 open" in res.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert sorted((r["check"], r["kind"]) for r in rows) == sorted([
        ("LEDGER", "LEDGER_IMBALANCE"), ("SETTLEMENT", "MISSING_THEIRS"), ("SETTLEMENT", "AMOUNT_MISMATCH"),
        ("SETTLEMENT", "MISSING_OURS"), ("PAYOUT", "MISSING_THEIRS"), ("PAYOUT", "MISSING_OURS")])
    mismatch = next(r for r in rows if r["kind"] == "AMOUNT_MISMATCH")
    assert (mismatch["ours_yuan"], mismatch["theirs_yuan"], mismatch["status"]) == ("100.00", "100.01", "OPEN")
    with day_env.engine.connect() as conn:
        assert conn.execute(reconcile_runs.select()).mappings().one()["status"] == "DIFFERENCES"


def test_bad_date_and_a_day_not_over(day_env, db_url, monkeypatch):
    assert _run(monkeypatch, day_env, "2026/11/20", "--db", db_url).exit_code == 2
    res = _run(monkeypatch, day_env, day_env.today().isoformat(), "--platform-no", P1, "--db", db_url)
    assert res.exit_code == 2 and "not over" in res.output
