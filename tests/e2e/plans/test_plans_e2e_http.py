"""A wealth-management plan over HTTP with the platform's LanmaoClient against the live server: signed
envelopes, wire amounts, error codes; money checked on the ledger, the audit clean, the sums consistent."""

from __future__ import annotations

from decimal import Decimal

from wire_calls import fen, ok, refused  # tests/support

D = Decimal


def establish_project(client, project_no: str, borrower: str, amount) -> None:
    ok(client, "ESTABLISH_PROJECT", {
        "requestNo": f"EST-{project_no}", "platformUserNo": borrower, "projectNo": project_no, "projectAmount": amount,
        "projectName": "计划标的", "projectType": "STANDARDPOWDER", "projectPeriod": 30,
        "annnualInterestRate": D("0.12"), "repaymentWay": "ONE_TIME_SERVICING"})


def order(client, no: str) -> dict:
    return ok(client, "QUERY_INTELLIGENT_PROJECT_ORDER", {"requestNo": no})


def test_plan_over_http(client, world):
    world.register("B1", role="BORROWERS", auth_list="REPAYMENT")
    world.register("B2", role="BORROWERS", auth_list="REPAYMENT")
    world.register("I1", auth_list="TENDER", fund=1000)
    world.register("I2", auth_list="TENDER", fund=1000)
    world.register("I3", auth_list="TENDER,CREDIT_ASSIGNMENT", fund=1000)
    world.register("I4", fund=1000)  # no authorization
    world.fund("SYS_GENERATE_005", 100)
    # establish the plan
    ok(client, "ESTABLISH_INTELLIGENT_PROJECT", {"requestNo": "EP-1", "intelProjectNo": "PLAN-1",
                                                 "intelProjectName": "月月盈", "intelProjectDescription": None,
                                                 "annualInterestRate": D("0.085")})
    refused(client, "ESTABLISH_INTELLIGENT_PROJECT", {"requestNo": "EP-2", "intelProjectNo": "PLAN-1",
                                                      "intelProjectName": "重复", "annualInterestRate": "0.08"}, "100008")
    # two investors buy; one without authorization is refused
    ok(client, "PURCHASE_INTELLIGENT_PROJECT", {"requestNo": "PUR-1", "platformUserNo": "I1", "amount": D("600"),
                                                "intelProjectNo": "PLAN-1", "remark": None})
    ok(client, "PURCHASE_INTELLIGENT_PROJECT", {"requestNo": "PUR-2", "platformUserNo": "I2", "amount": "400.00",
                                                "intelProjectNo": "PLAN-1"})
    refused(client, "PURCHASE_INTELLIGENT_PROJECT", {"requestNo": "PUR-4", "platformUserNo": "I4", "amount": 1,
                                                     "intelProjectNo": "PLAN-1"}, "100011")
    refused(client, "PURCHASE_INTELLIGENT_PROJECT", {"requestNo": "PUR-1", "platformUserNo": "I1", "amount": 1,
                                                     "intelProjectNo": "PLAN-1"}, "100013")
    assert world.balance("I1") == (fen(1000), fen(600))
    pre = ok(client, "QUERY_TRANSACTION", {"requestNo": "PUR-1", "transactionType": "PRETRANSACTION"})
    assert pre["records"][0]["amount"] == 600 and pre["records"][0]["status"] == "FREEZED"
    # append on the same freeze order
    r = ok(client, "SYNC_TRANSACTION", {"requestNo": "APP-1", "tradeType": "INTELLIGENT_APPEND", "details": [
        {"bizType": "APPEND_FREEZE", "sourcePlatformUserNo": "I1", "freezeRequestNo": "PUR-1", "amount": 100}]})
    assert r["transactionStatus"] == "SUCCESS"
    assert world.balance("I1") == (fen(1000), fen(700))
    q = order(client, "PUR-1")
    assert q["amount"] == 700 and q["unmatchAmount"] == 700 and q["details"] == []
    # match to two projects with TENDER releases whose bids are the plan freezes
    establish_project(client, "P-1", "B1", D("500"))
    establish_project(client, "P-2", "B2", D("800"))
    ok(client, "SYNC_TRANSACTION", {"requestNo": "REL-1", "tradeType": "TENDER", "projectNo": "P-1", "details": [
        {"bizType": "TENDER", "freezeRequestNo": "PUR-1", "sourcePlatformUserNo": "I1", "targetPlatformUserNo": "B1",
         "amount": 300},
        {"bizType": "TENDER", "freezeRequestNo": "PUR-2", "sourcePlatformUserNo": "I2", "targetPlatformUserNo": "B1",
         "amount": 200}]})
    refused(client, "SYNC_TRANSACTION", {"requestNo": "REL-X", "tradeType": "TENDER", "projectNo": "P-2", "details": [
        {"bizType": "TENDER", "freezeRequestNo": "PUR-2", "amount": "200.01"}]}, "100014", "冻结金额不足")
    ok(client, "SYNC_TRANSACTION", {"requestNo": "REL-2", "tradeType": "TENDER", "projectNo": "P-2", "details": [
        {"bizType": "TENDER", "freezeRequestNo": "PUR-1", "amount": 400},
        {"bizType": "TENDER", "freezeRequestNo": "PUR-2", "amount": 200}]})
    q = order(client, "PUR-1")
    assert q["unmatchAmount"] == 0
    assert [(d["matchProjectNo"], d["matchShare"]) for d in q["details"]] == [("P-1", 300), ("P-2", 400)]
    ok(client, "MODIFY_PROJECT", {"requestNo": "MOD-1", "projectNo": "P-1", "status": "REPAYING"})
    ok(client, "MODIFY_PROJECT", {"requestNo": "MOD-2", "projectNo": "P-2", "status": "REPAYING"})
    # the borrower repays; the money credited to the plan holders is frozen again under their plan orders
    world.fund("B1", 30)
    ok(client, "USER_AUTO_PRE_TRANSACTION", {"requestNo": "RF-1", "platformUserNo": "B1", "bizType": "REPAYMENT",
                                             "amount": 530, "projectNo": "P-1"})
    ok(client, "SYNC_TRANSACTION", {"requestNo": "REP-1", "tradeType": "REPAYMENT", "projectNo": "P-1", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "RF-1", "sourcePlatformUserNo": "B1", "targetPlatformUserNo": "I1",
         "amount": D("318"), "income": D("18")},
        {"bizType": "REPAYMENT", "freezeRequestNo": "RF-1", "targetPlatformUserNo": "I2", "amount": 212,
         "income": 12}]})
    assert world.balance("I1") == (fen(618), fen(318)) and world.balance("I2") == (fen(812), fen(212))
    q = order(client, "PUR-1")
    assert q["unmatchAmount"] == 318 and q["details"][0] == {"matchProjectNo": "P-1", "matchShare": 0,
                                                              "matchAmount": 300}
    # unified interest (统一派息) from SYS_GENERATE_005: to the available balance
    ok(client, "SYNC_TRANSACTION", {"requestNo": "INT-1", "tradeType": "MARKETING", "details": [
        {"bizType": "INTEREST", "sourcePlatformUserNo": "SYS_GENERATE_005", "targetPlatformUserNo": "I1",
         "amount": D("5.95")},
        {"bizType": "INTEREST", "sourcePlatformUserNo": "SYS_GENERATE_005", "targetPlatformUserNo": "I2",
         "amount": D("3.40")}]})
    assert world.balance("I1") == (fen("623.95"), fen(318)) and world.balance("SYS_GENERATE_005") == (fen("90.65"), 0)
    # partial exit; asking more than unmatched is refused with 冻结金额不足
    ok(client, "INTELLIGENT_PROJECT_UNFREEZE", {"requestNo": "UNF-1", "intelRequestNo": "PUR-1", "amount": 118})
    refused(client, "INTELLIGENT_PROJECT_UNFREEZE", {"requestNo": "UNF-2", "intelRequestNo": "PUR-1",
                                                     "amount": "200.01"}, "100014", "冻结金额不足")
    assert world.balance("I1") == (fen("623.95"), fen(200)) and order(client, "PUR-1")["unmatchAmount"] == 200
    exit_ = ok(client, "QUERY_TRANSACTION", {"requestNo": "UNF-1", "transactionType": "CANCEL_PRETRANSACTION"})
    assert exit_["records"][0]["preTransactionNo"] == "PUR-1" and exit_["records"][0]["amount"] == 118
    # the plan sells part of I1's P-2 share; I3 buys it; the proceeds flow back into the plan order
    refused(client, "INTELLIGENT_PROJECT_DEBENTURE_SALE", {"requestNo": "PS-0", "details": [
        {"saleRequestNo": "S-1", "intelRequestNo": "PUR-1", "platformUserNo": "I1", "projectNo": "P-2",
         "saleShare": 150},
        {"saleRequestNo": "S-2", "intelRequestNo": "PUR-2", "platformUserNo": "I2", "projectNo": "P-2",
         "saleShare": "200.01"}]}, "100008")
    refused(client, "QUERY_TRANSACTION", {"requestNo": "S-1", "transactionType": "DEBENTURE_SALE"}, "100007")
    ok(client, "INTELLIGENT_PROJECT_DEBENTURE_SALE", {"requestNo": "PS-1", "details": [
        {"saleRequestNo": "S-1", "intelRequestNo": "PUR-1", "platformUserNo": "I1", "projectNo": "P-2",
         "saleShare": 150}]})
    ok(client, "USER_AUTO_PRE_TRANSACTION", {"requestNo": "CA-F1", "platformUserNo": "I3",
                                             "bizType": "CREDIT_ASSIGNMENT", "amount": 152, "projectNo": "P-2",
                                             "share": 150, "creditsaleRequestNo": "S-1"})
    ok(client, "SYNC_TRANSACTION", {"requestNo": "CA-1", "tradeType": "CREDIT_ASSIGNMENT", "projectNo": "P-2",
                                    "saleRequestNo": "S-1", "details": [
        {"bizType": "CREDIT_ASSIGNMENT", "freezeRequestNo": "CA-F1", "sourcePlatformUserNo": "I3",
         "targetPlatformUserNo": "I1", "amount": 152, "share": 150}]})
    assert world.balance("I1") == (fen("775.95"), fen(352)) and world.balance("I3") == (fen(848), 0)
    sale = ok(client, "QUERY_TRANSACTION", {"requestNo": "S-1", "transactionType": "DEBENTURE_SALE"})
    assert sale["records"][0]["status"] == "COMPLETED"
    # the order shows its matches
    q = order(client, "PUR-1")
    assert q["requestNo"] == "PUR-1" and q["platformUserNo"] == "I1" and q["amount"] == 700
    assert q["annualInterestRate"] == D("0.085") and q["intelProjectNo"] == "PLAN-1" and q["unmatchAmount"] == 352
    assert [(d["matchProjectNo"], d["matchShare"]) for d in q["details"]] == [("P-1", 0), ("P-2", 250)]
    q2 = order(client, "PUR-2")
    assert q2["unmatchAmount"] == 212 and [(d["matchProjectNo"], d["matchShare"]) for d in q2["details"]] == [
        ("P-1", 0), ("P-2", 200)]
    refused(client, "QUERY_INTELLIGENT_PROJECT_ORDER", {"requestNo": "NOPE"}, "100007")
    proj = ok(client, "QUERY_PROJECT_INFORMATION", {"projectNo": "P-2"})
    assert proj["loanAmount"] == 600
    world.audit_clean()
    world.sums_consistent()
