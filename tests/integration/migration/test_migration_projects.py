"""Imported projects and shares are real custody projects: samples/migration (and small generated
files) imported, then the trade core's own services on them — REPAYMENT with the creditor check,
DEBENTURE_SALE + CREDIT_ASSIGNMENT, QUERY_PROJECT_INFORMATION (STOCK) —, project-level rejections,
idempotent re-runs and a resume after a failure in the middle of the creation pass; both engines."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from migration_support import P1, SAMPLE_TRANSFER_FEN, audit_clean, balance, enrol, write_csv
from sqlalchemy import func, select

from cunguan.custody import (
    debentures,
    platforms,
    pre_transactions,
    projects,
    shares,
    stocked_users,
    trades,
    user_store,
)
from cunguan.custody.errors import CustodyError
from cunguan.db import ledger_store
from cunguan.db.tables.custody_trades import custody_projects, custody_shares
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer
from cunguan.migration import importer

PASSWORD = "Secret-123"
USERS_HEADER = "platformUserNo,userType,userRole,name,idCardType,idCardNo,bankcardNo,bankcode,mobile"
PROJECTS_HEADER = "projectNo,borrowerPlatformUserNo,projectName,projectAmount,annualInterestRate,repaymentWay," \
                  "projectPeriod"


def report_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def run(engine, clock, directory, **kw) -> importer.ImportResult:
    kw.setdefault("transfer_fen", SAMPLE_TRANSFER_FEN)
    return importer.import_directory(engine, clock, directory, P1, report_path=directory / "report.csv", **kw)


def project(engine, project_no: str) -> dict | None:
    with engine.connect() as conn:
        return projects.find_project(conn, P1, project_no)


def holdings(engine, project_no: str) -> dict[str, tuple[int, int]]:
    with engine.connect() as conn:
        return shares.project_holdings(conn, P1, project_no)


def table_counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (custody_projects, custody_shares))


def activate(engine, clock, bank, user_no: str, auth_list: str | None = None) -> None:
    enrol(bank, user_no)
    req = stocked_users.ActivateStockedUserRequest(request_no=f"ACT-{user_no}", platform_user_no=user_no,
                                                   password=PASSWORD, auth_list=auth_list)
    run_in_transaction(engine, lambda c: stocked_users.activate_stocked_user(c, clock, P1, req, verifier=bank))


def fund(engine, user_no: str, fen: int, ref: str) -> None:
    """Test-only top-up: custody cash account (may overdraw) → the user (the borrower's repayment money)."""
    with engine.connect() as conn:
        cash = ledger_store.find_account(conn, platforms.custody_account_code(P1))["id"]
        account = user_store.get_user(conn, P1, user_no).ledger_account_id
    run_in_transaction(engine, lambda c: ledger_store.apply(c, [Transfer(int(cash), account, fen, "TEST_FUND", ref)]))


def call(engine, clock, fn, req):
    return run_in_transaction(engine, lambda c: fn(c, clock, P1, req))


def freeze(engine, clock, request_no: str, user_no: str, biz_type: str, amount: str, **extra):
    req = pre_transactions.UserPreTransactionRequest(request_no=request_no, platform_user_no=user_no,
                                                     biz_type=biz_type, amount=amount, project_no="P001", **extra)
    return call(engine, clock, pre_transactions.user_pre_transaction, req)


def trade(engine, clock, request_no: str, body: dict):
    return run_in_transaction(engine, lambda c: trades.execute(c, clock, P1, request_no, body))


def refused(code: str, fn, *args) -> CustodyError:
    with pytest.raises(CustodyError) as info:
        fn(*args)
    assert info.value.code == code, (info.value.code, info.value.message)
    return info.value


def test_sample_projects_become_custody_projects(engine, clock, platform, sample_dir):
    result = run(engine, clock, sample_dir)
    created = result.outcome(importer.CUSTODY_PROJECTS)
    assert (created.status, created.accepted, created.rejected, created.total_fen) == ("IMPORTED", 1, 1, 1_000_000)
    p = project(engine, "P001")
    assert p is not None and projects.is_migrated(p)
    assert (p["status"], p["project_properties"], p["exchange_asset"], p["borrower_user_no"]) == \
        ("REPAYING", "STOCK", False, "U017")
    assert (p["project_amount_fen"], p["loan_fen"], p["tender_frozen_fen"], p["repaid_principal_fen"]) == \
        (1_000_000, 1_000_000, 0, 0)
    assert holdings(engine, "P001") == {"U001": (600_000, 0), "U002": (400_000, 0)}
    # P002's share rows total above its amount: the whole project is refused, no holder half-imported
    assert project(engine, "P002") is None and holdings(engine, "P002") == {}
    assert project(engine, "P003") is None  # borrower rejected by cleaning
    rows = report_rows(sample_dir / "report.csv")
    assert {(r["file"], r["line"], r["reasonCode"]) for r in rows if r["file"] == "projects.csv"} == {
        ("projects.csv", "3", "PROJECT_REJECTED"), ("projects.csv", "4", "USER_NOT_IMPORTED")}
    with engine.connect() as conn:
        q = projects.query_project_information(conn, P1, {"projectNo": "P001"})
    assert q["projectProperties"] == "STOCK" and q["projectStatus"] == "REPAYING"
    assert (q["projectAmount"], q["loanAmount"], q["tenderAmount"], q["repaymentAmount"]) == \
        (Decimal("10000.00"), Decimal("10000.00"), Decimal("10000.00"), Decimal("0.00"))
    assert (q["annualInterestRate"], q["repaymentWay"], q["projectPeriod"], q["projectType"]) == \
        (Decimal("0.085"), "FIXED_PAYMENT_MORTGAGE", 365, "STANDARDPOWDER")
    audit_clean(engine)


def test_rerun_creates_nothing_twice(engine, clock, platform, sample_dir):
    first = run(engine, clock, sample_dir)
    before = table_counts(engine)
    first_rows = report_rows(sample_dir / "report.csv")
    second = run(engine, clock, sample_dir)
    again = second.outcome(importer.CUSTODY_PROJECTS)
    assert (again.status, again.accepted, again.rejected) == ("ALREADY_IMPORTED", 1, 1)
    assert table_counts(engine) == before == (1, 2)
    assert first.report_rows == second.report_rows
    assert report_rows(sample_dir / "report.csv") == first_rows
    audit_clean(engine)


def test_imported_share_is_repaid_within_the_creditor_check(engine, clock, platform, sample_dir, bank):
    run(engine, clock, sample_dir)
    # not activated yet: the borrower cannot freeze a repayment
    refused("100010", freeze, engine, clock, "REPAY-0", "U017", "REPAYMENT", "10")
    for no in ("U017", "U001", "U002"):
        activate(engine, clock, bank, no)
    fund(engine, "U017", 1_100_000, "fund-U017")
    freeze(engine, clock, "REPAY-1", "U017", "REPAYMENT", "10300")
    assert balance(engine, "U017") == 1_100_000
    # principal 4100 > U002's share of 4000: refused, nothing moves
    err = refused("100008", trade, engine, clock, "RP-BAD", {"tradeType": "REPAYMENT", "projectNo": "P001", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "REPAY-1", "targetPlatformUserNo": "U002", "amount": "4100"}]})
    assert err.field == "details[0].amount"
    assert holdings(engine, "P001")["U002"] == (400_000, 0) and balance(engine, "U002") == 25_050
    out = trade(engine, clock, "RP-1", {"tradeType": "REPAYMENT", "projectNo": "P001", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "REPAY-1", "sourcePlatformUserNo": "U017",
         "targetPlatformUserNo": "U001", "amount": "6300", "income": "300"},
        {"bizType": "REPAYMENT", "freezeRequestNo": "REPAY-1", "targetPlatformUserNo": "U002", "amount": "400",
         "income": "0"}]})
    assert out.transaction_status == "SUCCESS"
    assert balance(engine, "U001") == 100_000 + 630_000 and balance(engine, "U002") == 25_050 + 40_000
    assert holdings(engine, "P001") == {"U001": (0, 0), "U002": (360_000, 0)}
    p = project(engine, "P001")
    assert (p["repaid_principal_fen"], p["income_fen"]) == (640_000, 30_000)
    # the rest of U002's share, then the project can finish like any other
    trade(engine, clock, "RP-2", {"tradeType": "REPAYMENT", "projectNo": "P001", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "REPAY-1", "targetPlatformUserNo": "U002", "amount": "3600"}]})
    call(engine, clock, projects.modify_project, {"requestNo": "MOD-1", "projectNo": "P001", "status": "FINISH"})
    assert project(engine, "P001")["status"] == "FINISH"
    audit_clean(engine)


def test_imported_share_is_sold_by_credit_assignment(engine, clock, platform, sample_dir, bank):
    run(engine, clock, sample_dir)
    refused("100010", call, engine, clock, debentures.debenture_sale,
            {"requestNo": "SALE-0", "platformUserNo": "U002", "projectNo": "P001", "saleShare": "1000"})
    for no in ("U002", "U018"):
        activate(engine, clock, bank, no)
    call(engine, clock, debentures.debenture_sale,
         {"requestNo": "SALE-1", "platformUserNo": "U002", "projectNo": "P001", "saleShare": "1000"})
    assert holdings(engine, "P001")["U002"] == (400_000, 100_000)
    refused("100008", call, engine, clock, debentures.debenture_sale,  # more than the unlocked share
            {"requestNo": "SALE-2", "platformUserNo": "U002", "projectNo": "P001", "saleShare": "3000.01"})
    freeze(engine, clock, "BUY-1", "U018", "CREDIT_ASSIGNMENT", "980", share="1000", creditsale_request_no="SALE-1")
    out = trade(engine, clock, "CA-1", {"tradeType": "CREDIT_ASSIGNMENT", "projectNo": "P001",
                                        "saleRequestNo": "SALE-1", "details": [
        {"bizType": "CREDIT_ASSIGNMENT", "freezeRequestNo": "BUY-1", "sourcePlatformUserNo": "U018",
         "targetPlatformUserNo": "U002", "amount": "980", "share": "1000"}]})
    assert out.transaction_status == "SUCCESS"
    assert holdings(engine, "P001") == {"U001": (600_000, 0), "U002": (300_000, 0), "U018": (100_000, 0)}
    assert balance(engine, "U002") == 25_050 + 98_000 and balance(engine, "U018") == 123_456 - 98_000
    with engine.connect() as conn:
        assert debentures.find_sale(conn, P1, "SALE-1")["status"] == "COMPLETED"
    # the buyer's bought share is repaid like any other share
    activate(engine, clock, bank, "U017")
    fund(engine, "U017", 100_000, "fund-U017")
    freeze(engine, clock, "REPAY-9", "U017", "REPAYMENT", "1000")
    trade(engine, clock, "RP-9", {"tradeType": "REPAYMENT", "projectNo": "P001", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "REPAY-9", "targetPlatformUserNo": "U018", "amount": "1000"}]})
    assert holdings(engine, "P001")["U018"] == (0, 0)
    audit_clean(engine)


def _small_set(directory: Path) -> Path:
    """Four borrowers/investors, five projects: good, missing holder, no shares, established in custody
    already, and a second good one."""
    directory.mkdir()
    write_csv(directory / "users.csv", USERS_HEADER,
              "B1,PERSONAL,BORROWERS,马超,PRC_ID,110105197903150179,6228480000000000174,ABOC,13800000017",
              "I1,PERSONAL,INVESTOR,张伟,PRC_ID,110105198503150019,6222020000000000018,ICBK,13800000001",
              "I2,PERSONAL,INVESTOR,王芳,,110105199003150025,6225880000000000028,,13800000002")
    write_csv(directory / "projects.csv", PROJECTS_HEADER,
              "G1,B1,好标的,1000,0.08,ONE_TIME_SERVICING,30",
              "M1,B1,缺持有人,1000,0.08,ONE_TIME_SERVICING,30",
              "N1,B1,无份额,1000,0.08,ONE_TIME_SERVICING,30",
              "E1,B1,已存在,1000,0.08,ONE_TIME_SERVICING,30",
              "G2,B1,,500,0.1,FIXED_BASIS_MORTGAGE,",
              "R1,B1,缺利率,500,,ONE_TIME_SERVICING,30",
              "R2,B1,利率过高,500,12,ONE_TIME_SERVICING,30")
    write_csv(directory / "shares.csv", "projectNo,platformUserNo,share",
              "G1,I1,600", "M1,I1,100", "M1,NOBODY,100", "G1,I2,300", "E1,I1,10", "G2,I2,500")
    return directory


def test_project_level_rejections(engine, clock, platform, tmp_path):
    d = _small_set(tmp_path / "small")
    run_in_transaction(engine, lambda c: user_store.create_user(
        c, 1, platform_no=P1, platform_user_no="B0", user_type="PERSONAL", user_role="BORROWERS", name="测试",
        id_card_type="PRC_ID", id_card_no=None, personal_id_unique=False, mobile=None, bankcard_no=None,
        bankcode=None, access_type="FULL_CHECKED", audit_status="PASSED", active_status="ACTIVATED", request_no=None))
    call(engine, clock, projects.establish_project, {
        "requestNo": "EST-E1", "platformUserNo": "B0", "projectNo": "E1", "projectAmount": "50",
        "projectName": "平台自建", "projectType": "STANDARDPOWDER", "annnualInterestRate": "0.1",
        "repaymentWay": "ONE_TIME_SERVICING"})
    result = run(engine, clock, d, transfer_fen=None)
    out = result.outcome(importer.CUSTODY_PROJECTS)
    assert (out.accepted, out.rejected, out.total_fen) == (2, 3, 140_000)
    assert holdings(engine, "G1") == {"I1": (60_000, 0), "I2": (30_000, 0)}
    assert project(engine, "G1")["loan_fen"] == 90_000 and project(engine, "G1")["project_amount_fen"] == 100_000
    g2 = project(engine, "G2")
    assert g2["project_name"] == "G2" and g2["project_period"] is None and g2["loan_fen"] == 50_000
    assert project(engine, "M1") is None and project(engine, "N1") is None and project(engine, "R1") is None
    assert project(engine, "E1")["borrower_user_no"] == "B0" and holdings(engine, "E1") == {}
    codes = {(r["file"], r["line"], r["reasonCode"]) for r in report_rows(d / "report.csv")}
    assert {("projects.csv", "3", "PROJECT_REJECTED"), ("projects.csv", "4", "NO_SHARES"),
            ("projects.csv", "5", "PROJECT_EXISTS"), ("projects.csv", "7", "MISSING_DATA"),
            ("projects.csv", "8", "INVALID_DATA"),
            ("shares.csv", "4", "USER_NOT_IMPORTED")} <= codes
    # a later shares file cannot change a project that was created or rejected
    later = tmp_path / "later"
    later.mkdir()
    (later / "users.csv").write_bytes((d / "users.csv").read_bytes())
    write_csv(later / "shares.csv", "projectNo,platformUserNo,share", "G1,B1,10", "M1,B1,10")
    again = run(engine, clock, later, transfer_fen=None)
    assert again.outcome("shares.csv").rejected == 2
    assert {r["reasonCode"] for r in report_rows(later / "report.csv") if r["file"] == "shares.csv"} == \
        {"PROJECT_CLOSED"}
    assert holdings(engine, "G1") == {"I1": (60_000, 0), "I2": (30_000, 0)}
    audit_clean(engine)


def test_creation_resumes_after_a_failure_and_creates_each_project_once(engine, clock, platform, tmp_path,
                                                                       monkeypatch):
    d = _small_set(tmp_path / "small")
    real = shares.import_holdings
    calls = {"n": 0}

    def failing(conn, platform_no, project_no, held, now_us):
        calls["n"] += 1
        if project_no == "G2":
            raise RuntimeError("power cut")
        return real(conn, platform_no, project_no, held, now_us)

    monkeypatch.setattr(shares, "import_holdings", failing)
    with pytest.raises(RuntimeError, match="power cut"):
        run(engine, clock, d, transfer_fen=None, chunk_rows=2)
    # chunks (G1, M1) and (N1, E1) committed, (G2) rolled back
    assert project(engine, "G1") is not None and project(engine, "E1") is not None and project(engine, "G2") is None
    monkeypatch.setattr(shares, "import_holdings", real)
    result = run(engine, clock, d, transfer_fen=None, chunk_rows=2)
    out = result.outcome(importer.CUSTODY_PROJECTS)
    assert (out.status, out.accepted, out.rejected) == ("IMPORTED", 3, 2)  # E1 is not in custody here: imported
    assert table_counts(engine) == (3, 4)
    assert holdings(engine, "G2") == {"I2": (50_000, 0)}
    audit_clean(engine)


def test_a_repeated_holder_refuses_the_project_and_later_rows_of_it(engine, clock, platform, tmp_path):
    d = tmp_path / "dup"
    d.mkdir()
    write_csv(d / "users.csv", USERS_HEADER,
              "B1,PERSONAL,BORROWERS,马超,PRC_ID,110105197903150179,6228480000000000174,ABOC,13800000017",
              "I1,PERSONAL,INVESTOR,张伟,PRC_ID,110105198503150019,6222020000000000018,ICBK,13800000001",
              "I2,PERSONAL,INVESTOR,王芳,,110105199003150025,6225880000000000028,,13800000002")
    write_csv(d / "projects.csv", PROJECTS_HEADER, "X1,B1,重复,1000,0.08,ONE_TIME_SERVICING,30",
              "X2,B1,正常,1000,0.08,ONE_TIME_SERVICING,30")
    write_csv(d / "shares.csv", "projectNo,platformUserNo,share",
              "X1,I1,100", "X2,I1,100", "X1,I1,100", "X1,I2,50", "X2,I2,900")
    result = run(engine, clock, d, transfer_fen=None, chunk_rows=2)  # the rows of X1 span three chunks
    assert (result.outcome("shares.csv").accepted, result.outcome("shares.csv").rejected) == (3, 2)
    rows = [(r["file"], r["line"], r["reasonCode"]) for r in report_rows(d / "report.csv")]
    assert rows == [("shares.csv", "4", "DUPLICATE_SHARE"), ("shares.csv", "5", "PROJECT_CLOSED"),
                    ("projects.csv", "2", "PROJECT_REJECTED")]
    assert project(engine, "X1") is None
    assert holdings(engine, "X2") == {"I1": (10_000, 0), "I2": (90_000, 0)}
    audit_clean(engine)
