"""The operators' commands against a real database."""

from __future__ import annotations

import datetime as dt

from typer.testing import CliRunner

from cunguan.cli import app
from cunguan.clock import Clock
from cunguan.sweep.cycle import last_day


def test_sweep_cli_seed_run_due_show(db_url, tmp_path):
    runner = CliRunner()
    seeded = runner.invoke(app, ["sweep", "demo-seed", "--db", db_url])
    assert seeded.exit_code == 0, seeded.output
    today = Clock().beijing_date()
    month_end = dt.date(today.year, today.month, last_day(today.year, today.month))
    if month_end == today:  # the rule is effective from tomorrow: use next month's end
        nxt = today + dt.timedelta(days=1)
        month_end = dt.date(nxt.year, nxt.month, last_day(nxt.year, nxt.month))
    ran = runner.invoke(app, ["sweep", "run-due", "--db", db_url, "--date", month_end.isoformat()])
    assert ran.exit_code == 0, ran.output
    assert "SUCCESS moved 199960.00" in ran.output
    again = runner.invoke(app, ["sweep", "run-due", "--db", db_url, "--date", month_end.isoformat()])
    assert "0 run(s)" in again.output
    shown = runner.invoke(app, ["sweep", "show", "zhang0001", "--db", db_url])
    assert shown.exit_code == 0, shown.output
    assert "****0001" in shown.output and "199960.00" in shown.output
    assert "955880000100001" not in shown.output  # full numbers never shown
    sink = tmp_path / "sms.jsonl"
    sent = runner.invoke(app, ["sweep", "deliver-sms", "--db", db_url, "--sink", str(sink)])
    assert sent.exit_code == 0 and "1 message(s)" in sent.output
    assert runner.invoke(app, ["sweep", "show", "nobody", "--db", db_url]).exit_code == 1
    assert runner.invoke(app, ["sweep", "run-due", "--db", db_url, "--date", "2026-13-01"]).exit_code == 2


def test_sweep_cli_scheduler_one_tick(db_url, tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["sweep", "demo-seed", "--db", db_url]).exit_code == 0
    res = runner.invoke(app, ["sweep", "scheduler", "--db", db_url, "--ticks", "1", "--sink", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert "0 run(s)" in res.output  # the demo rule takes effect tomorrow


def test_sweep_fee_config_from_env():
    from cunguan.sweep.runtime import config_from_env

    assert config_from_env({}).customer_fee_fen == 0 and config_from_env({}).interbank_fee_fen == 100
    cfg = config_from_env({"CUNGUAN_SWEEP_FEE_YUAN": "0.50", "CUNGUAN_SWEEP_IBPS_FEE_YUAN": "0"})
    assert (cfg.customer_fee_fen, cfg.interbank_fee_fen) == (50, 0)
