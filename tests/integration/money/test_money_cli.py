"""`cunguan money settings` and `cunguan money settle --file`."""

from __future__ import annotations

import datetime as dt

from typer.testing import CliRunner

from cunguan.cli import app
from cunguan.custody import advances
from cunguan.payments.settlement import render_csv

from .conftest import P1


def test_settings_and_settle_file(money, db_url, tmp_path):
    runner = CliRunner()
    shown = runner.invoke(app, ["money", "settings", P1, "--db", db_url])
    assert shown.exit_code == 0 and "advance PLATFORM" in shown.output and "audit mode off" in shown.output
    changed = runner.invoke(app, ["money", "settings", P1, "--advance-mode", "bank", "--bank-advance-limit", "5000",
                                  "--audit", "--db", db_url])
    assert changed.exit_code == 0, changed.output
    assert money.read(lambda c: advances.get_settings(c, P1)) == advances.MoneySettings(P1, "BANK", 500_000, True)
    bad = runner.invoke(app, ["money", "settings", P1, "--advance-mode", "SOMETIMES", "--db", db_url])
    assert bad.exit_code != 0

    money.user("U1")
    money.recharge("U1", "CLI-1", "100")
    money.rt.run_until_idle()
    pay_day = money.clock.beijing_date()
    money.next_working_day(dt.time(9, 0))
    settlement = money.rt.simulators["YEEPAY"].settlement_file(pay_day)
    path = tmp_path / f"YEEPAY_{pay_day:%Y%m%d}.csv"
    path.write_text(render_csv(settlement), encoding="utf-8")
    out = runner.invoke(app, ["money", "settle", "--file", str(path), "--db", db_url])
    assert out.exit_code == 0, out.output
    assert "1 matched" in out.output and "clean" in out.output
    assert money.unsettled("U1") == 0
    broken = tmp_path / f"YEEPAY_{pay_day - dt.timedelta(days=1):%Y%m%d}.csv"
    broken.write_text("not,a,settlement,file\n", encoding="utf-8")
    failed = runner.invoke(app, ["money", "settle", "--file", str(broken), "--db", db_url])
    assert failed.exit_code == 1
