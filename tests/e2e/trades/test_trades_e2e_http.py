"""The trade core over HTTP with the platform's LanmaoClient against the live server: signed
envelopes, wire amounts, error codes; the money checked on the ledger and the audit clean."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from wire_calls import fen, ok, refused  # tests/support

D = Decimal


def establish(client, project_no: str, borrower: str, amount) -> None:
    ok(client, "ESTABLISH_PROJECT", {
        "requestNo": f"EST-{project_no}", "platformUserNo": borrower, "projectNo": project_no, "projectAmount": amount,
        "projectName": "测试标的", "projectType": "STANDARDPOWDER", "projectPeriod": 30,
        "annnualInterestRate": D("0.15"), "repaymentWay": "ONE_TIME_SERVICING", "extend": None,
        "projectDescription": None})


def auto_freeze(client, request_no: str, user_no: str, project_no: str, amount, biz_type: str = "TENDER", **extra):
    return ok(client, "USER_AUTO_PRE_TRANSACTION", {"requestNo": request_no, "platformUserNo": user_no,
                                                    "bizType": biz_type, "amount": amount, "projectNo": project_no,
                                                    **extra})


def test_bid_release_repay_sell_cancel(client, world):
    world.register("B", role="BORROWERS", auth_list="REPAYMENT")
    world.register("I1", auth_list="TENDER,CREDIT_ASSIGNMENT", fund=1000)
    world.register("I2", auth_list="TENDER,CREDIT_ASSIGNMENT", fund=1000)
    world.fund("SYS_GENERATE_002", 50)
    establish(client, "E2E-1", "B", D("1000.00"))
    assert auto_freeze(client, "BID-1", "I1", "E2E-1", "600", preMarketingAmount=D("8.8"))["bizType"] == "TENDER"
    auto_freeze(client, "BID-2", "I2", "E2E-1", 400)
    refused(client, "USER_AUTO_PRE_TRANSACTION", {"requestNo": "BID-3", "platformUserNo": "I2", "bizType": "TENDER",
                                                  "amount": "0.01", "projectNo": "E2E-1"}, "100008")  # full
    q = ok(client, "QUERY_PROJECT_INFORMATION", {"projectNo": "E2E-1"})
    assert q["tenderAmount"] == 1000 and q["loanAmount"] == 0 and q["projectStatus"] == "COLLECTING"
    # release: bids → borrower, commission → platform income, the red packet from the marketing account
    r = ok(client, "SYNC_TRANSACTION", {"requestNo": "REL-1", "tradeType": "TENDER", "projectNo": "E2E-1", "details": [
        {"bizType": "TENDER", "freezeRequestNo": "BID-1", "sourcePlatformUserNo": "I1", "targetPlatformUserNo": "B",
         "amount": D("600")},
        {"bizType": "TENDER", "freezeRequestNo": "BID-2", "sourcePlatformUserNo": "I2", "targetPlatformUserNo": "B",
         "amount": "400.00"},
        {"bizType": "COMMISSION", "sourcePlatformUserNo": "B", "amount": 10, "targetPlatformUserNo": None},
        {"bizType": "MARKETING", "freezeRequestNo": "BID-1", "sourcePlatformUserNo": "SYS_GENERATE_002",
         "targetPlatformUserNo": "B", "amount": "8.80"}]})
    assert r["requestNo"] == "REL-1" and r["transactionStatus"] == "SUCCESS"
    assert world.balance("B") == (fen("998.80"), 0) and world.balance("SYS_GENERATE_004") == (fen(10), 0)
    assert world.balance("SYS_GENERATE_002") == (fen("41.20"), 0)
    ok(client, "MODIFY_PROJECT", {"requestNo": "MOD-1", "projectNo": "E2E-1", "status": "REPAYING"})
    again = refused(client, "MODIFY_PROJECT", {"requestNo": "MOD-2", "projectNo": "E2E-1", "status": "REPAYING"},
                    "100008", "标的当前不能变更为:REPAYING")
    assert again["code"] == "0"  # observed as P by the gem
    # repayment: principal + interest; the creditor check refuses principal above a holder's share
    world.fund("B", 100)
    auto_freeze(client, "RPF-1", "B", "E2E-1", "1060", "REPAYMENT")
    bad = refused(client, "SYNC_TRANSACTION", {"requestNo": "RP-BAD", "tradeType": "REPAYMENT", "projectNo": "E2E-1",
                                               "details": [{"bizType": "REPAYMENT", "freezeRequestNo": "RPF-1",
                                                            "sourcePlatformUserNo": "B", "targetPlatformUserNo": "I2",
                                                            "amount": "430", "income": "20"}]}, "100008")
    assert bad["code"] == "1"
    ok(client, "SYNC_TRANSACTION", {"requestNo": "RP-1", "tradeType": "REPAYMENT", "projectNo": "E2E-1", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "RPF-1", "sourcePlatformUserNo": "B", "targetPlatformUserNo": "I2",
         "amount": "424", "income": "24"},
        {"bizType": "REPAYMENT", "freezeRequestNo": "RPF-1", "sourcePlatformUserNo": "B", "targetPlatformUserNo": "I1",
         "amount": "336", "income": "36"}]})  # I1 gets 300 principal back, keeps a 300 share
    q = ok(client, "QUERY_PROJECT_INFORMATION", {"projectNo": "E2E-1"})
    assert (q["loanAmount"], q["repaymentAmount"], q["income"]) == (1000, 700, 60)
    assert q["annualInterestRate"] == D("0.15") and q["annnualInterestRate"] == D("0.15")
    # debenture sale of I1's remaining 300, bought by I2 for 310
    ok(client, "DEBENTURE_SALE", {"requestNo": "SALE-1", "platformUserNo": "I1", "projectNo": "E2E-1",
                                  "saleShare": "300"})
    auto_freeze(client, "BUY-1", "I2", "E2E-1", "320", "CREDIT_ASSIGNMENT", share="200", creditsaleRequestNo="SALE-1")
    ok(client, "SYNC_TRANSACTION", {"requestNo": "CA-1", "tradeType": "CREDIT_ASSIGNMENT", "projectNo": "E2E-1",
                                    "saleRequestNo": "SALE-1", "details": [
        {"bizType": "CREDIT_ASSIGNMENT", "freezeRequestNo": "BUY-1", "sourcePlatformUserNo": "I2",
         "targetPlatformUserNo": "I1", "amount": "210", "share": "200"}]})
    assert world.balance("I2") == (fen(1000) - fen(400) + fen(424) - fen(210), fen(110))
    ok(client, "CANCEL_DEBENTURE_SALE", {"requestNo": "CS-1", "creditsaleRequestNo": "SALE-1"})
    ended = refused(client, "CANCEL_DEBENTURE_SALE", {"requestNo": "CS-2", "creditsaleRequestNo": "SALE-1"}, "100008",
                    "债权出让订单已结束")
    assert ended["code"] == "0"
    refused(client, "CANCEL_DEBENTURE_SALE", {"requestNo": "CS-3", "creditsaleRequestNo": "NOPE"}, "100007",
            "债权出让订单不存在")
    ok(client, "CANCEL_PRE_TRANSACTION", {"requestNo": "CX-1", "preTransactionNo": "BUY-1", "amount": "110"})
    assert world.balance("I2")[1] == 0
    refused(client, "SYNC_TRANSACTION", {"requestNo": "CA-1", "tradeType": "FUNDS_TRANSFER", "details": [
        {"bizType": "FUNDS_TRANSFER", "targetPlatformUserNo": "I1", "amount": 1}]}, "100013")
    world.audit_clean()


def test_failed_project_cancels_bids_and_spends_no_red_packet(client, world):
    world.register("B", role="BORROWERS")
    world.register("I1", auth_list="TENDER", fund=100)
    world.fund("SYS_GENERATE_002", 20)
    establish(client, "E2E-F", "B", 1000)
    auto_freeze(client, "FB-1", "I1", "E2E-F", 100, preMarketingAmount="5")
    ok(client, "MODIFY_PROJECT", {"requestNo": "MF-1", "projectNo": "E2E-F", "status": "MISCARRY"})
    refused(client, "SYNC_TRANSACTION", {"requestNo": "FR-1", "tradeType": "TENDER", "projectNo": "E2E-F", "details": [
        {"bizType": "TENDER", "freezeRequestNo": "FB-1", "amount": 100},
        {"bizType": "MARKETING", "freezeRequestNo": "FB-1", "amount": 5}]}, "100015")
    refused(client, "CANCEL_PRE_TRANSACTION", {"requestNo": "FC-0", "preTransactionNo": "FB-1", "amount": "100.01"},
            "100014", "冻结金额不足")
    ok(client, "CANCEL_PRE_TRANSACTION", {"requestNo": "FC-1", "preTransactionNo": "FB-1", "amount": D("0.1"),
                                          "commission": None, "profitDetails": None})
    ok(client, "CANCEL_PRE_TRANSACTION", {"requestNo": "FC-2", "preTransactionNo": "FB-1", "amount": "99.90"})
    assert world.balance("I1") == (fen(100), 0) and world.balance("SYS_GENERATE_002") == (fen(20), 0)
    q = ok(client, "QUERY_PROJECT_INFORMATION", {"projectNo": "E2E-F"})
    assert q["projectStatus"] == "MISCARRY" and q["tenderAmount"] == 0
    refused(client, "QUERY_PROJECT_INFORMATION", {"projectNo": "NOPE"}, "100007")
    world.audit_clean()


def test_freeze_unfreeze_over_http(client, world):
    world.register("U", fund=10)
    ok(client, "FREEZE", {"requestNo": "GF-1", "platformUserNo": "U", "amount": "4", "generaFreezeRequest": ""})
    ok(client, "FREEZE", {"generalFreezeRequestNo": "GG-1", "platformUserNo": "U", "amount": 1})
    refused(client, "FREEZE", {"requestNo": "GF-2", "platformUserNo": "U", "amount": "5.01"}, "100014")
    refused(client, "FREEZE", {"requestNo": "GF-3", "platformUserNo": "NOBODY", "amount": "1"}, "100009")
    ok(client, "UNFREEZE", {"requestNo": "UF-1", "originalFreezeRequestNo": "GF-1", "platformUserNo": "U",
                            "amount": "1.5"})
    refused(client, "UNFREEZE", {"requestNo": "UF-2", "originalFreezeRequestNo": "GF-1", "platformUserNo": "U",
                                 "amount": "3"}, "100014", "冻结金额不足")
    refused(client, "UNFREEZE", {"requestNo": "UF-3", "originalFreezeRequestNo": "XX", "platformUserNo": "U",
                                 "amount": "1"}, "100007", "冻结订单不存在")
    ok(client, "FREEZE_PRE_TRANSACTION", {"requestNo": "FP-1", "platformUserNo": "U", "bizType": "PRETRANSACTION",
                                          "amount": "2"})
    assert world.balance("U") == (fen(10), fen("5.50"))
    world.audit_clean()


def test_concurrent_bids_and_replays_over_http(client, world):
    world.register("B", role="BORROWERS")
    world.register("BIG", auth_list="TENDER", fund=1000)
    establish(client, "E2E-C", "B", 1000)
    auto_freeze(client, "CB-0", "BIG", "E2E-C", 950)  # 50 left
    n = 16
    for i in range(n):
        world.register(f"C{i}", auth_list="TENDER", fund=100)
    barrier = threading.Barrier(n)

    def bid(i: int):
        barrier.wait()
        return client.call("USER_AUTO_PRE_TRANSACTION", {"requestNo": f"CB-{i + 1}", "platformUserNo": f"C{i}",
                                                         "bizType": "TENDER", "amount": "20", "projectNo": "E2E-C"})

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(bid, range(n)))
    wins = [r for r in results if r.outcome == "S"]
    assert len(wins) == 2 and all(r.data["errorCode"] == "100008" for r in results if r.outcome != "S")
    q = ok(client, "QUERY_PROJECT_INFORMATION", {"projectNo": "E2E-C"})
    assert q["tenderAmount"] == 990
    # one trade replayed by 16 threads: applied once
    barrier2 = threading.Barrier(n)
    trade = {"requestNo": "REL-C", "tradeType": "TENDER", "projectNo": "E2E-C", "details": [
        {"bizType": "TENDER", "freezeRequestNo": "CB-0", "amount": "950"}]}

    def replay(_i: int):
        barrier2.wait()
        return client.call("SYNC_TRANSACTION", trade)

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(replay, range(n)))
    assert sum(r.outcome == "S" for r in results) == 1
    assert all(r.data["errorCode"] == "100013" for r in results if r.outcome != "S")
    assert world.balance("B") == (fen(950), 0) and world.balance("BIG") == (fen(50), 0)
    world.audit_clean()


# ---------------------------------------------------------------- QUERY_TRANSACTION (custody/transaction_queries.py)


def _query(client, kind: str, request_no: str, **extra):
    result = client.call("QUERY_TRANSACTION", {"requestNo": request_no, "transactionType": kind, **extra})
    assert result.http_status == 200 and result.signature_valid, result.body
    return result.data


def test_query_transaction_across_types(client, world):
    world.register("B", role="BORROWERS")
    world.register("I1", auth_list="TENDER", fund=500)
    establish(client, "QT-1", "B", D("1000.00"))
    auto_freeze(client, "QT-BID", "I1", "QT-1", "120.50")
    ok(client, "FREEZE", {"requestNo": "QT-FRZ", "platformUserNo": "I1", "amount": "10"})
    ok(client, "FREEZE", {"generalFreezeRequestNo": "QT-GEN", "platformUserNo": "I1", "amount": "2.5"})
    ok(client, "CANCEL_PRE_TRANSACTION", {"requestNo": "QT-CX", "preTransactionNo": "QT-BID", "amount": "20.50"})

    pre = _query(client, "PRETRANSACTION", "QT-BID")
    assert pre["code"] == "0" and pre["status"] == "SUCCESS"
    (record,) = pre["records"]
    assert record["requestNo"] == "QT-BID" and record["platformUserNo"] == "I1"
    assert record["bizType"] == "TENDER" and record["status"] == "FREEZED"
    assert D(str(record["amount"])) == D("120.50")

    (cancel,) = _query(client, "CANCEL_PRETRANSACTION", "QT-CX")["records"]
    assert D(str(cancel["amount"])) == D("20.50")
    (plain,) = _query(client, "FREEZE", "QT-FRZ")["records"]
    assert D(str(plain["amount"])) == D("10.00") and plain["platformUserNo"] == "I1"
    (general,) = _query(client, "GENERAL_FREEZE", "QT-GEN", platformUserNo="I1")["records"]
    assert D(str(general["amount"])) == D("2.50") and general["generalFreezeRequestNo"] == "QT-GEN"

    missing = _query(client, "RECHARGE", "QT-BID")  # a request number of another type
    assert (missing["code"], missing["status"], missing["errorCode"]) == ("1", "INIT", "100007")
    bad = _query(client, "GENERAL_FREEZE", "QT-GEN")  # needs platformUserNo
    assert bad["errorCode"] == "100002" and "platformUserNo" in bad["errorMessage"]
    unknown = _query(client, "NO_SUCH_TYPE", "QT-BID")
    assert unknown["errorCode"] == "100002" and "transactionType" in unknown["errorMessage"]
    world.audit_clean()
