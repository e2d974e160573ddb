"""Imported projects and balances over HTTP with the platform's LanmaoClient: QUERY_TRANSACTION finds a
migrated balance (`MIG…`, rechargeWay BANK), QUERY_PROJECT_INFORMATION shows the imported project as
STOCK, and the imported shares are repaid (USER_AUTO_PRE_TRANSACTION REPAYMENT + SYNC_TRANSACTION, with
the creditor check refusing principal above the share) and sold (DEBENTURE_SALE + the buyer's
CREDIT_ASSIGNMENT freeze + SYNC_TRANSACTION CREDIT_ASSIGNMENT)."""

from __future__ import annotations

from decimal import Decimal

from cunguan.clock import Clock
from cunguan.custody import platforms, shares, stocked_users, user_store
from cunguan.db import ledger_audit, ledger_store
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer

PASSWORD = "Secret-123"


def _call(client, service: str, data: dict) -> dict:
    result = client.call(service, {**data, "timestamp": client.timestamp()})
    assert result.http_status == 200 and result.signature_valid, result.body
    return result.data


def _ok(client, service: str, data: dict) -> dict:
    out = _call(client, service, data)
    assert out["code"] == "0" and out["status"] == "SUCCESS", out
    return out


def _activate(engine, bank, people, user_no: str, auth_list: str | None = None) -> None:
    p = people[user_no]
    bank.add_card(p["bankcardNo"], real_name=p["name"], id_card_no=p["idCardNo"], mobile=p["mobile"])
    req = stocked_users.ActivateStockedUserRequest(
        request_no=f"ACT-{user_no}", platform_user_no=user_no, password=PASSWORD, auth_list=auth_list,
        fail_time="20291231" if auth_list else None, amount="100000" if auth_list else None)
    run_in_transaction(engine, lambda c: stocked_users.activate_stocked_user(c, Clock(), "6000000001", req,
                                                                             verifier=bank))


def _fund(engine, user_no: str, fen: int) -> None:
    """Test-only: the borrower's repayment money (custody cash account → user)."""
    with engine.connect() as conn:
        cash = int(ledger_store.find_account(conn, platforms.custody_account_code("6000000001"))["id"])
        account = user_store.get_user(conn, "6000000001", user_no).ledger_account_id
    run_in_transaction(engine, lambda c: ledger_store.apply(c, [Transfer(cash, account, fen, "TEST_FUND", "e2e")]))


def test_migrated_balance_and_project_over_http(client, engine, imported, live_server):
    run_id = imported.outcome("balances.csv").run_id
    out = _ok(client, "QUERY_TRANSACTION", {"requestNo": f"MIG{run_id}-2", "transactionType": "RECHARGE"})
    [record] = out["records"]
    assert (record["platformUserNo"], record["amount"], record["status"], record["rechargeWay"]) == \
        ("U001", Decimal("1000.00"), "SUCCESS", "BANK")
    missing = _call(client, "QUERY_TRANSACTION", {"requestNo": f"MIG{run_id}-999", "transactionType": "RECHARGE"})
    assert missing["errorCode"] == "100007" and missing["code"] != "0"
    info = _ok(client, "QUERY_PROJECT_INFORMATION", {"projectNo": "P001"})
    assert (info["projectProperties"], info["projectStatus"], info["platformUserNo"]) == ("STOCK", "REPAYING", "U017")
    assert info["loanAmount"] == info["projectAmount"] == Decimal("10000.00")
    assert _call(client, "QUERY_PROJECT_INFORMATION", {"projectNo": "P002"})["errorCode"] == "100007"


def test_imported_shares_are_repaid_and_sold_over_http(client, engine, bank, imported, people, live_server):
    _activate(engine, bank, people, "U017", "REPAYMENT")
    _activate(engine, bank, people, "U002")
    _activate(engine, bank, people, "U018", "CREDIT_ASSIGNMENT")
    _fund(engine, "U017", 500_000)
    _ok(client, "USER_AUTO_PRE_TRANSACTION", {"requestNo": "E2E-REPAY-1", "platformUserNo": "U017",
                                              "bizType": "REPAYMENT", "amount": "5000", "projectNo": "P001"})
    too_much = _call(client, "SYNC_TRANSACTION", {"requestNo": "E2E-RP-0", "tradeType": "REPAYMENT",
                                                  "projectNo": "P001", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "E2E-REPAY-1", "sourcePlatformUserNo": "U017",
         "targetPlatformUserNo": "U002", "amount": "4200", "income": "100"}]})  # principal 4100 > share 4000
    assert too_much["errorCode"] == "100008", too_much
    paid = _ok(client, "SYNC_TRANSACTION", {"requestNo": "E2E-RP-1", "tradeType": "REPAYMENT", "projectNo": "P001",
                                            "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "E2E-REPAY-1", "sourcePlatformUserNo": "U017",
         "targetPlatformUserNo": "U002", "amount": "1100", "income": "100"}]})
    assert paid["transactionStatus"] == "SUCCESS"
    user = _ok(client, "QUERY_USER_INFORMATION", {"platformUserNo": "U002"})
    assert user["balance"] == Decimal("250.50") + Decimal("1100")
    info = _ok(client, "QUERY_PROJECT_INFORMATION", {"projectNo": "P001"})
    assert (info["repaymentAmount"], info["income"]) == (Decimal("1000.00"), Decimal("100.00"))

    _ok(client, "DEBENTURE_SALE", {"requestNo": "E2E-SALE-1", "platformUserNo": "U002", "projectNo": "P001",
                                   "saleShare": "3000"})
    _ok(client, "USER_AUTO_PRE_TRANSACTION", {"requestNo": "E2E-BUY-1", "platformUserNo": "U018",
                                              "bizType": "CREDIT_ASSIGNMENT", "amount": "1000", "projectNo": "P001",
                                              "share": "1000", "creditsaleRequestNo": "E2E-SALE-1"})
    sold = _ok(client, "SYNC_TRANSACTION", {"requestNo": "E2E-CA-1", "tradeType": "CREDIT_ASSIGNMENT",
                                            "projectNo": "P001", "saleRequestNo": "E2E-SALE-1", "details": [
        {"bizType": "CREDIT_ASSIGNMENT", "freezeRequestNo": "E2E-BUY-1", "sourcePlatformUserNo": "U018",
         "targetPlatformUserNo": "U002", "amount": "1000", "share": "1000"}]})
    assert sold["transactionStatus"] == "SUCCESS"
    with engine.connect() as conn:
        held = shares.project_holdings(conn, "6000000001", "P001")
    assert held == {"U001": (600_000, 0), "U002": (200_000, 200_000), "U018": (100_000, 0)}
    buyer = _ok(client, "QUERY_USER_INFORMATION", {"platformUserNo": "U018"})
    assert buyer["balance"] == Decimal("1234.56") - Decimal("1000")
    assert ledger_audit.audit(engine) == []
