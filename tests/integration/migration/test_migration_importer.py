"""The importer on a real database: the sample directory (every cleaning case), the report, balances
that must equal the platform's transfer (or nothing is written), idempotent re-runs, staged shares."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from migration_support import (
    P1,
    SAMPLE_TRANSFER_FEN,
    audit_clean,
    balance,
    counts,
    custody_balance,
    user,
    write_csv,
)
from sqlalchemy import select

from cunguan.custody import platforms
from cunguan.db.tables.migration import migration_users
from cunguan.db.tx import run_in_transaction
from cunguan.migration import balances, importer

IMPORTED_USERS = {"U001", "U002", "U003", "U004", "U007", "U008", "U009", "U015", "U016", "U017", "U018"}
SAMPLE_BALANCES = {"U001": 100_000, "U002": 25_050, "U003": 8_888, "U007": 1_000, "U009": 1, "U015": 5_000_000,
                   "U017": 0, "U018": 123_456}


def report_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def run(engine, clock, directory, transfer_fen=SAMPLE_TRANSFER_FEN, **kw) -> importer.ImportResult:
    return importer.import_directory(engine, clock, directory, P1, transfer_fen=transfer_fen,
                                     report_path=directory / "report.csv", **kw)


def test_sample_import_accepts_flags_and_rejects_with_reasons(engine, clock, platform, sample_dir):
    seen: list[tuple[str, int]] = []
    result = run(engine, clock, sample_dir, chunk_rows=4, progress=lambda name, line, done, size: seen.append((name, line)))
    assert not result.refused
    users = result.outcome("users.csv")
    assert (users.status, users.accepted, users.flagged, users.rejected) == ("IMPORTED", 5, 6, 10)
    by_line = {(r["file"], int(r["line"])): r for r in report_rows(sample_dir / "report.csv")}
    expected = {4: ("FLAGGED", "REVIEW_REQUIRED"), 5: ("FLAGGED", "REVIEW_REQUIRED"), 6: ("REJECTED", "UNDER_AGE"),
                7: ("REJECTED", "DOCUMENT_TYPE"), 8: ("FLAGGED", "CARD_INVALID"), 9: ("FLAGGED", "CARD_INVALID"),
                10: ("FLAGGED", "NO_QUICK_PAY"), 11: ("REJECTED", "MISSING_DATA"), 12: ("REJECTED", "MISSING_DATA"),
                13: ("REJECTED", "DUPLICATE_ID"), 14: ("REJECTED", "USER_EXISTS"), 15: ("REJECTED", "INVALID_CARD"),
                16: ("REJECTED", "INVALID_DOCUMENT"), 18: ("FLAGGED", "CARD_INVALID"), 21: ("REJECTED", "MISSING_DATA"),
                22: ("REJECTED", "INVALID_DATA")}
    got = {line: (r["outcome"], r["reasonCode"]) for (f, line), r in by_line.items() if f == "users.csv"}
    assert got == expected
    assert "U001" in by_line[("users.csv", 13)]["reason"]  # the duplicate ID names its holder
    assert ("users.csv", 22) in seen and seen[0][0] == "users.csv"  # progress per chunk, to the last line
    # imported users: deactivated, not activated, with their migration state
    with engine.connect() as conn:
        states = {r["platform_user_no"]: r for r in conn.execute(select(migration_users)).mappings()}
    assert set(states) == IMPORTED_USERS
    for no in IMPORTED_USERS:
        u = user(engine, no)
        assert not u.is_import_user_activate and u.active_status == "DEACTIVATED" and u.access_type == "NOT_AUTH"
    assert not states["U007"]["card_valid"] and not states["U008"]["card_valid"] and not states["U016"]["card_valid"]
    assert states["U009"]["card_valid"] and not states["U009"]["quick_pay"]
    assert states["U001"]["quick_pay"] and states["U003"]["review_required"] and states["U004"]["review_required"]
    assert user(engine, "U015").user_type == "ORGANIZATION"


def test_balances_equal_the_transfer_and_show_as_bank_recharges(engine, clock, platform, sample_dir):
    result = run(engine, clock, sample_dir)
    bal = result.outcome("balances.csv")
    assert bal.status == "IMPORTED" and bal.total_fen == SAMPLE_TRANSFER_FEN and bal.accepted == 8
    for no, fen in SAMPLE_BALANCES.items():
        assert balance(engine, no) == fen
    assert custody_balance(engine) == -SAMPLE_TRANSFER_FEN  # the custody account paid them: Σ = 0
    audit_clean(engine)
    with engine.connect() as conn:
        record = balances.user_migration_balance(conn, P1, "U018")
        assert record is not None
        same = balances.migration_recharge_records(conn, P1, record["requestNo"])
        assert balances.migration_recharge_records(conn, P1, "MIG-NOPE") == []
    assert same == [record]
    assert record["requestNo"] == f"MIG{bal.run_id}-9" and str(record["amount"]) == "1234.56"
    assert record["status"] == "SUCCESS" and record["rechargeWay"] == "BANK" and len(record["createTime"]) == 14
    assert record["createTime"] == "20261123120000" == record["transactionTime"]  # Beijing time of the clock


def test_total_mismatch_refuses_and_writes_nothing(engine, clock, platform, sample_dir):
    run(engine, clock, sample_dir, transfer_fen=None)  # users only (balances refused: no transfer given)
    before = counts(engine)
    result = run(engine, clock, sample_dir, transfer_fen=SAMPLE_TRANSFER_FEN + 1)
    bal = result.outcome("balances.csv")
    assert result.refused and bal.status == "REFUSED" and "52583.95" in bal.message and "52583.96" in bal.message
    assert counts(engine) == before  # not a row, not a posting, not a run
    assert custody_balance(engine) == 0 and balance(engine, "U001") == 0
    assert any(r["reasonCode"] == "TOTAL_MISMATCH" for r in report_rows(sample_dir / "report.csv"))
    audit_clean(engine)


def test_balance_of_a_rejected_user_or_a_repeated_user_refuses_everything(engine, clock, platform, sample_dir):
    write_csv(sample_dir / "balances.csv", "platformUserNo,balance", "U001,10", "U005,5", "U002,1.5", "U001,1",
              "U002,1.234")
    result = run(engine, clock, sample_dir, transfer_fen=1_000 + 500 + 150 + 100)
    assert result.outcome("balances.csv").status == "REFUSED"
    problems = {(int(r["line"]), r["reasonCode"]) for r in report_rows(sample_dir / "report.csv")
                if r["file"] == "balances.csv"}
    assert problems == {(3, "USER_NOT_IMPORTED"), (5, "DUPLICATE_BALANCE"), (6, "INVALID_AMOUNT")}
    assert counts(engine)["migration_balances"] == 0 and counts(engine)["postings"] == 0


def test_rerun_is_idempotent_and_says_already_imported(engine, clock, platform, sample_dir):
    first = run(engine, clock, sample_dir)
    after_first = counts(engine)
    second = run(engine, clock, sample_dir)
    assert [f.status for f in second.files] == ["ALREADY_IMPORTED"] * 5  # 4 files + the custody projects
    assert [(f.accepted, f.flagged, f.rejected) for f in second.files] == \
        [(f.accepted, f.flagged, f.rejected) for f in first.files]
    assert counts(engine) == after_first
    assert len(report_rows(sample_dir / "report.csv")) == first.report_rows == second.report_rows
    for no, fen in SAMPLE_BALANCES.items():
        assert balance(engine, no) == fen
    audit_clean(engine)


def test_another_file_with_the_same_people_creates_nobody_twice(engine, clock, platform, sample_dir, tmp_path):
    run(engine, clock, sample_dir)
    again = tmp_path / "again"
    again.mkdir()
    text = (sample_dir / "users.csv").read_text(encoding="utf-8").splitlines()
    write_csv(again / "users.csv", text[0], text[1], text[2].replace("U002", "U902"), text[17])
    before = counts(engine)
    result = importer.import_directory(engine, clock, again, P1, report_path=again / "r.csv")
    users = result.outcome("users.csv")
    assert (users.accepted, users.flagged, users.rejected) == (0, 0, 3)
    codes = [r["reasonCode"] for r in report_rows(again / "r.csv")]
    assert codes == ["USER_EXISTS", "DUPLICATE_ID", "USER_EXISTS"]
    assert counts(engine)["custody_users"] == before["custody_users"]
    # a second balances file cannot credit an already migrated user again
    write_csv(again / "balances.csv", "platformUserNo,balance", "U001,1")
    result = importer.import_directory(engine, clock, again, P1, transfer_fen=100, report_path=again / "r.csv")
    assert result.outcome("balances.csv").status == "REFUSED"
    assert [r["reasonCode"] for r in report_rows(again / "r.csv") if r["file"] == "balances.csv"] == ["BALANCE_EXISTS"]
    assert balance(engine, "U001") == SAMPLE_BALANCES["U001"]


def test_registered_user_numbers_and_ids_are_not_reused(engine, clock, platform, tmp_path, bank):
    from cunguan.custody import users as users_mod

    d = tmp_path / "d"
    d.mkdir()
    line = "U1,PERSONAL,INVESTOR,张伟,PRC_ID,110105198503150019,6222020000000000018,ICBK,13800000001"
    write_csv(d / "users.csv", "platformUserNo,userType,userRole,name,idCardType,idCardNo,bankcardNo,bankcode,mobile",
              line, line.replace("U1,", "U2,"))
    bank.add_card("6222020000000000018", real_name="张伟", id_card_no="110105198503150019", mobile="13800000001")
    req = users_mod.PersonalRegisterRequest(request_no="REG1", platform_user_no="U1", user_role="INVESTOR",
                                            real_name="张伟", id_card_no="110105198503150019",
                                            bankcard_no="6222020000000000018", mobile="13800000001",
                                            password="abc12345")
    run_in_transaction(engine, lambda c: users_mod.personal_register(c, clock, P1, req, verifier=bank))
    result = importer.import_directory(engine, clock, d, P1, report_path=d / "r.csv")
    assert [r["reasonCode"] for r in report_rows(d / "r.csv")] == ["USER_EXISTS", "DUPLICATE_ID"]
    assert result.outcome("users.csv").rejected == 2 and user(engine, "U1").is_import_user_activate


def test_projects_and_shares_are_staged_for_the_projects_room(engine, clock, platform, sample_dir):
    result = run(engine, clock, sample_dir)
    shares_run = result.outcome("shares.csv")
    assert result.outcome("projects.csv").accepted == 2 and result.outcome("projects.csv").rejected == 1
    assert (shares_run.accepted, shares_run.rejected) == (3, 2)
    with engine.connect() as conn:
        staged = list(importer.staged_shares(conn, P1, shares_run.run_id))
    assert [(s.project_no, s.holder_user_no, s.share_fen, s.borrower_user_no) for s in staged] == [
        ("P001", "U001", 600_000, "U017"), ("P001", "U002", 400_000, "U017"), ("P002", "U018", 500_000, "U015")]
    assert sum(s.share_fen for s in staged if s.project_no == "P001") == staged[0].project_amount_fen
    rows = {(r["file"], r["reasonCode"]) for r in report_rows(sample_dir / "report.csv")}
    assert {("projects.csv", "USER_NOT_IMPORTED"), ("shares.csv", "SHARES_EXCEED_PROJECT"),
            ("shares.csv", "UNKNOWN_PROJECT")} <= rows


def test_start_conditions(engine, clock, platform, sample_dir, tmp_path):
    with pytest.raises(importer.CannotImport, match="not registered"):
        importer.import_directory(engine, clock, sample_dir, "6000000099")
    with pytest.raises(importer.CannotImport, match="users.csv"):
        importer.import_directory(engine, clock, tmp_path, P1)
    (sample_dir / "users.csv").write_text("platformUserNo,name\nU1,x\n", encoding="utf-8")
    with pytest.raises(importer.formats.FileFormatError, match="userType"):
        importer.import_directory(engine, clock, sample_dir, P1)
    assert counts(engine)["custody_users"] == 0


def test_platforms_are_kept_apart(engine, clock, platform, sample_dir, platform_pem):
    run_in_transaction(engine, lambda conn: platforms.create_platform(
        conn, 1, platform_no="6000000002", name="另一平台", notify_url="http://127.0.0.1:9/n2",
        public_key_pem=platform_pem))
    run(engine, clock, sample_dir)
    other = importer.import_directory(engine, clock, sample_dir, "6000000002", transfer_fen=SAMPLE_TRANSFER_FEN)
    assert other.outcome("users.csv").status == "IMPORTED" and other.outcome("users.csv").accepted == 5
    assert balance(engine, "U001", "6000000002") == balance(engine, "U001") == 100_000
    audit_clean(engine)
