"""The bank's review of an imported user goes through the migration rules whichever door it comes by
(operator console, `cunguan users review`, `cunguan migrate review`): a passport holder imported with a
card of an unknown bank, activated into review, stays blocked (ABNORMAL) after PASSED until the card is
changed — the generic review would have activated them."""

from __future__ import annotations

import json

import pytest
from migration_support import P1, user, write_csv
from sqlalchemy import select
from typer.testing import CliRunner

from cunguan.cli import app
from cunguan.console import actions, operators
from cunguan.custody import reviews, stocked_users
from cunguan.custody.user_errors import InvalidField
from cunguan.db.tables.notify import notify_outbox
from cunguan.db.tx import run_in_transaction
from cunguan.migration import importer

HEADER = "platformUserNo,userType,userRole,name,idCardType,idCardNo,bankcardNo,bankcode,mobile"
runner = CliRunner()


@pytest.fixture
def in_review(engine, clock, platform, tmp_path, bank):
    """Imported, then activated into review: P1 (passport, unknown card) and P2 (passport, valid card)."""
    d = tmp_path / "m"
    d.mkdir()
    write_csv(d / "users.csv", HEADER,
              "P1X,PERSONAL,INVESTOR,John Smith,PASSPORT,E12345678,9999990000000000071,,13800000003",
              "P2X,PERSONAL,INVESTOR,Jane Roe,PASSPORT,E87654321,6217000000000000038,PCBC,13800000004")
    importer.import_directory(engine, clock, d, P1)
    for no in ("P1X", "P2X"):
        req = stocked_users.ActivateStockedUserRequest(request_no=f"ACT-{no}", platform_user_no=no,
                                                       password="Secret-123")
        result = run_in_transaction(engine, lambda c, r=req: stocked_users.activate_stocked_user(
            c, clock, P1, r, verifier=bank))
        assert result.audit_status == "AUDIT"
    return d


def _state(engine, no: str) -> dict:
    with engine.connect() as conn:
        return stocked_users.migration_state(conn, user(engine, no))


def _notified(engine, request_no: str) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(notify_outbox).where(notify_outbox.c.biz_ref == request_no)).mappings().all()
    return [dict(r) for r in rows]


def test_generic_review_of_a_blocked_imported_user_keeps_them_blocked(engine, clock, in_review):
    result = run_in_transaction(engine, lambda c: reviews.review_user(c, clock, P1, "P1X", operator_id="op1",
                                                                      decision="PASSED", remark="护照核验通过"))
    assert (result.audit_status, result.active_status) == ("PASSED", "DEACTIVATED")
    assert not user(engine, "P1X").active and _state(engine, "P1X")["state"] == "ABNORMAL"
    [row] = _notified(engine, "ACT-P1X")
    assert row["service_name"] == "ACTIVATE_STOCKED_USER" and json.loads(row["resp_data"])["auditStatus"] == "PASSED"
    # BACK is not a decision for an imported user (they are PASSED or REFUSED)
    with pytest.raises(InvalidField):
        run_in_transaction(engine, lambda c: reviews.review_user(c, clock, P1, "P2X", operator_id="op1",
                                                                 decision="BACK", remark="x"))
    assert _state(engine, "P2X")["state"] == "AUDIT"


def test_console_review_of_an_imported_user(engine, clock, in_review):
    reviewer = run_in_transaction(engine, lambda c: operators.create_operator(
        c, clock, username="reviewer", password="Console-Pass-1", role="reviewer"))
    result = actions.review_user(engine, clock, reviewer, platform_no=P1, platform_user_no="P1X", decision="PASSED",
                                 remark=None)
    assert result.active_status == "DEACTIVATED" and _state(engine, "P1X")["state"] == "ABNORMAL"
    result = actions.review_user(engine, clock, reviewer, platform_no=P1, platform_user_no="P2X", decision="PASSED",
                                 remark=None)
    assert result.active_status == "ACTIVATED" and _state(engine, "P2X")["state"] == "ACTIVATED"
    assert user(engine, "P2X").active


def test_users_review_command_of_an_imported_user(engine, db_url, in_review):
    out = runner.invoke(app, ["users", "review", "--platform-no", P1, "--user", "P1X", "--decision", "PASSED",
                              "--operator", "op7", "--db", db_url])
    assert out.exit_code == 0, out.output
    assert "(DEACTIVATED)" in out.output and "ACTIVATE_STOCKED_USER" in out.output
    assert _state(engine, "P1X")["state"] == "ABNORMAL" and not user(engine, "P1X").active
