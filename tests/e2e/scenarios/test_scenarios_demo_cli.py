"""`cunguan demo` against a running server (the live server on the wall clock, with the demo platform
`cunguan serve` would create): the flow function, and once the Typer command."""

from __future__ import annotations

from decimal import Decimal

from typer.testing import CliRunner

from cunguan.cli import app
from cunguan.client import demo_flow
from cunguan.custody.demo import ensure_demo_platform
from cunguan.db import ledger_audit

D = Decimal


def _demo_platform(engine, live_server, tmp_path):
    return ensure_demo_platform(engine, base_url=str(live_server), directory=tmp_path,
                                settings=live_server.app.state.settings)


def test_scenarios_demo_flow_runs_the_whole_lifecycle(engine, live_server, tmp_path):
    demo = _demo_platform(engine, live_server, tmp_path)
    assert demo.created
    client = demo_flow.load_client(str(live_server), demo.platform_no, tmp_path,
                                   lanmao_prefix=live_server.app.state.settings.lanmao_prefix)
    seen = []
    try:
        report = demo_flow.DemoRun(client, str(live_server), demo_flow.sms_reader(engine), run_id="00c0ffee",
                                   on_step=seen.append).run()
    finally:
        client.close()
    assert [s.title for s in seen] == [s.title for s in report.steps] and len(report.steps) == 11
    inv, buyer, borrower = (report.users[k] for k in ("investor", "buyer", "borrower"))
    last = report.steps[-1]
    assert last.outcome == "ACCEPT"  # NORMAL withdrawal: paid on the next working day
    assert last.balances[inv] == (D("1011.67"), D("1011.67"), D("0.00"))  # 506.67 repaid + 505 for the share
    assert last.balances[buyer] == (D("95.00"), D("95.00"), D("0.00"))
    # frozen until handed to the payout channel at the 23:00 cut-off (at once after it): then gone
    assert last.balances[borrower] in ((D("483.33"), D("0.00"), D("483.33")), (D("0.00"), D("0.00"), D("0.00")))
    bid_step = report.steps[6]
    assert bid_step.balances[inv] == (D("1000.00"), D("0.00"), D("1000.00"))
    assert ledger_audit.audit(engine) == []


def test_scenarios_demo_command(engine, db_url, live_server, tmp_path):
    _demo_platform(engine, live_server, tmp_path)
    result = CliRunner().invoke(app, ["demo", "--url", str(live_server), "--db", db_url, "--key-dir",
                                      str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "register investor" in result.output and "borrower withdraws 483.33" in result.output
    assert "1011.67" in result.output and "ACCEPT" in result.output
    missing = CliRunner().invoke(app, ["demo", "--url", str(live_server), "--db", db_url, "--key-dir",
                                       str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "cunguan serve" in missing.output
