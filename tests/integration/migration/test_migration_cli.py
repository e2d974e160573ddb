"""`cunguan migrate import` and `cunguan migrate review` against a real database."""

from __future__ import annotations

from migration_support import P1, balance, user
from typer.testing import CliRunner

from cunguan.cli import app
from cunguan.custody import stocked_users
from cunguan.db.tx import run_in_transaction

runner = CliRunner()


def test_import_summary_report_and_exit_codes(engine, db_url, platform, sample_dir, tmp_path):
    wrong = runner.invoke(app, ["migrate", "import", str(sample_dir), "--platform-no", P1, "--db", db_url,
                                "--transfer-amount", "52583.94"])
    assert wrong.exit_code == 1, wrong.output
    assert "REFUSED" in wrong.output and "nothing was written" in wrong.output
    assert balance(engine, "U001") == 0
    report = tmp_path / "r.csv"
    ok = runner.invoke(app, ["migrate", "import", str(sample_dir), "--platform-no", P1, "--db", db_url,
                             "--transfer-amount", "52583.95", "--report", str(report)])
    assert ok.exit_code == 0, ok.output
    assert "ALREADY_IMPORTED" in ok.output and "IMPORTED" in ok.output and "52583.95" in ok.output
    assert report.read_text(encoding="utf-8").startswith("file,line,platformUserNo,outcome,reasonCode,reason")
    assert balance(engine, "U001") == 100_000
    bad = runner.invoke(app, ["migrate", "import", str(sample_dir), "--platform-no", P1, "--db", db_url,
                              "--transfer-amount", "1.001"])
    assert bad.exit_code == 2 and "2 decimals" in bad.output
    nobody = runner.invoke(app, ["migrate", "import", str(sample_dir), "--platform-no", "6000000099", "--db", db_url])
    assert nobody.exit_code == 1 and "not registered" in nobody.output


def test_review_command(engine, db_url, clock, platform, sample_dir):
    ok = runner.invoke(app, ["migrate", "import", str(sample_dir), "--platform-no", P1, "--db", db_url,
                             "--transfer-amount", "52583.95"])
    assert ok.exit_code == 0, ok.output
    early = runner.invoke(app, ["migrate", "review", "--platform-no", P1, "--user", "U003", "--decision", "PASSED",
                                "--operator", "op7", "--db", db_url])
    assert early.exit_code == 1 and "not waiting for review" in early.output
    req = stocked_users.ActivateStockedUserRequest("ACT-3", "U003", password="Secret-123")
    run_in_transaction(engine, lambda c: stocked_users.activate_stocked_user(c, clock, P1, req))
    done = runner.invoke(app, ["migrate", "review", "--platform-no", P1, "--user", "U003", "--decision", "passed",
                               "--operator", "op7", "--db", db_url])
    assert done.exit_code == 0, done.output
    assert "AUDIT -> PASSED (ACTIVATED)" in done.output and "ACTIVATE_STOCKED_USER" in done.output
    assert user(engine, "U003").active
