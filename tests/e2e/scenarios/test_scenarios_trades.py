"""Seed scenarios 3–8, 11, 13, 14 (custody.md): bid, release, failed project, repayment, compensation,
debt transfer, red packets, exchange assets, consumer finance / supply chain — over HTTP with the
platform's LanmaoClient against the live server. Users' money comes in by DIRECT_RECHARGE through the
payment simulator; the platform's system accounts are topped up by the test (scenario_kit.fund_system)."""

from __future__ import annotations

import datetime as dt

from .scenario_kit import PASSWORD, D, fen


def _expired(clock) -> str:
    return (clock.beijing_now() + dt.timedelta(minutes=20)).strftime("%Y%m%d%H%M%S")


def _funded_project(w, project_no: str, borrower: str, investors: dict[str, str], amount: object) -> None:
    """Borrower + investors (with TENDER authorization), recharged, the project established."""
    w.register(borrower, role="BORROWERS", auth_list="RECHARGE,REPAYMENT")
    for user_no, money in investors.items():
        w.register(user_no, auth_list="RECHARGE,TENDER,CREDIT_ASSIGNMENT")
        w.recharge(user_no, money)
    w.establish(project_no, borrower, amount)


def _release(w, request_no: str, project_no: str, borrower: str, bids: dict[str, tuple[str, str]], **extra):
    details = [{"bizType": "TENDER", "freezeRequestNo": bid_no, "sourcePlatformUserNo": user_no,
                "targetPlatformUserNo": borrower, "amount": amount} for bid_no, (user_no, amount) in bids.items()]
    return w.trade(request_no, "TENDER", details + extra.pop("more", []), projectNo=project_no, **extra)


def test_scenario_03_bid_on_the_page_and_by_authorization_never_over_raising(w, clock):
    _funded_project(w, "PJ-3", "B3", {"I3a": "800", "I3b": "800"}, "1000")
    w.register("I3c", auth_list="RECHARGE")  # no TENDER authorization
    w.recharge("I3c", "100")
    b = w.browser()
    b.open("USER_PRE_TRANSACTION", {"platformUserNo": "I3a", "requestNo": "BID-3a", "bizType": "TENDER",
                                    "amount": "600", "projectNo": "PJ-3", "expired": _expired(clock)})
    wrong = b.post("submit", password="not-the-one")
    assert 'id="error"' in wrong.text and w.balance("I3a") == (fen(800), 0)
    resp = b.callback(b.post("submit", password=PASSWORD))
    assert resp["status"] == "SUCCESS" and resp["bizType"] == "TENDER" and resp["requestNo"] == "BID-3a"
    w.refused("USER_AUTO_PRE_TRANSACTION", {"requestNo": "BID-3c", "platformUserNo": "I3c", "bizType": "TENDER",
                                            "amount": "50", "projectNo": "PJ-3"}, "100011")
    w.refused("USER_AUTO_PRE_TRANSACTION", {"requestNo": "BID-3x", "platformUserNo": "I3b", "bizType": "TENDER",
                                            "amount": "400.01", "projectNo": "PJ-3"}, "100008")  # over the amount
    w.freeze("BID-3b", "I3b", "PJ-3", "400")
    w.refused("USER_AUTO_PRE_TRANSACTION", {"requestNo": "BID-3y", "platformUserNo": "I3b", "bizType": "TENDER",
                                            "amount": "0.01", "projectNo": "PJ-3"}, "100008")  # fully raised
    assert w.project("PJ-3")["tenderAmount"] == 1000
    assert w.query_user("I3a") == (D("800.00"), D("200.00"), D("600.00"))
    assert w.balance("I3b") == (fen(800), fen(400)) and w.balance("B3") == (0, 0)  # nothing moved yet
    pt = w.ok("QUERY_TRANSACTION", {"requestNo": "BID-3a", "transactionType": "PRETRANSACTION"})["records"][0]
    assert pt["status"] == "FREEZED" and pt["amount"] == D("600.00")
    assert w.notified("USER_PRE_TRANSACTION", "BID-3a")["status"] == "SUCCESS"
    w.finish()


def test_scenario_04_release_with_commission_and_investment_red_packet(w):
    _funded_project(w, "PJ-4", "B4", {"I4a": "700", "I4b": "300"}, "1000")
    w.fund_system("SYS_GENERATE_002", 50)
    w.freeze("BID-4a", "I4a", "PJ-4", "700", preMarketingAmount="8.80")
    w.freeze("BID-4b", "I4b", "PJ-4", "300")
    _release(w, "REL-4", "PJ-4", "B4", {"BID-4a": ("I4a", "700"), "BID-4b": ("I4b", "300.00")}, more=[
        {"bizType": "COMMISSION", "sourcePlatformUserNo": "B4", "amount": "15"},
        {"bizType": "MARKETING", "freezeRequestNo": "BID-4a", "sourcePlatformUserNo": "SYS_GENERATE_002",
         "targetPlatformUserNo": "B4", "amount": "8.80"}])
    assert w.balance("B4") == (fen("993.80"), 0) and w.balance("SYS_GENERATE_004") == (fen(15), 0)
    assert w.balance("SYS_GENERATE_002") == (fen("41.20"), 0)
    assert w.balance("I4a") == (0, 0) and w.balance("I4b") == (0, 0)
    assert w.shares("PJ-4") == {"I4a": (fen(700), 0), "I4b": (fen(300), 0)}
    q = w.project("PJ-4")
    assert q["loanAmount"] == 1000 and q["tenderAmount"] == 1000
    # the red packet is paid once; the release is applied once
    w.refused("SYNC_TRANSACTION", {"requestNo": "REL-4b", "tradeType": "TENDER", "projectNo": "PJ-4", "details": [
        {"bizType": "MARKETING", "freezeRequestNo": "BID-4a", "sourcePlatformUserNo": "SYS_GENERATE_002",
         "targetPlatformUserNo": "B4", "amount": "8.80"}]}, "100008")
    w.refused("SYNC_TRANSACTION", {"requestNo": "REL-4", "tradeType": "TENDER", "projectNo": "PJ-4", "details": [
        {"bizType": "TENDER", "freezeRequestNo": "BID-4b", "amount": "1"}]}, "100013")
    tx = w.ok("QUERY_TRANSACTION", {"requestNo": "REL-4", "transactionType": "TRANSACTION"})["records"][0]
    assert tx["status"] == "SUCCESS"
    w.finish()


def test_scenario_05_failed_project_unfreezes_bids_and_spends_no_red_packet(w):
    _funded_project(w, "PJ-5", "B5", {"I5a": "500", "I5b": "500"}, "2000")
    w.fund_system("SYS_GENERATE_002", 20)
    w.freeze("BID-5a", "I5a", "PJ-5", "500", preMarketingAmount="5")
    w.freeze("BID-5b", "I5b", "PJ-5", "200")
    w.ok("MODIFY_PROJECT", {"requestNo": "MOD-5", "projectNo": "PJ-5", "status": "MISCARRY"})
    w.refused("SYNC_TRANSACTION", {"requestNo": "REL-5", "tradeType": "TENDER", "projectNo": "PJ-5", "details": [
        {"bizType": "TENDER", "freezeRequestNo": "BID-5a", "amount": "500"},
        {"bizType": "MARKETING", "freezeRequestNo": "BID-5a", "amount": "5"}]}, "100015")
    w.ok("CANCEL_PRE_TRANSACTION", {"requestNo": "CX-5a", "preTransactionNo": "BID-5a", "amount": "500"})
    w.ok("CANCEL_PRE_TRANSACTION", {"requestNo": "CX-5b", "preTransactionNo": "BID-5b", "amount": "200"})
    assert w.balance("I5a") == (fen(500), 0) and w.balance("I5b") == (fen(500), 0)
    assert w.balance("SYS_GENERATE_002") == (fen(20), 0) and w.balance("B5") == (0, 0)
    q = w.project("PJ-5")
    assert q["projectStatus"] == "MISCARRY" and q["tenderAmount"] == 0 and q["loanAmount"] == 0
    assert w.shares("PJ-5") == {}
    pt = w.ok("QUERY_TRANSACTION", {"requestNo": "BID-5a", "transactionType": "PRETRANSACTION"})["records"][0]
    assert pt["status"] != "FREEZED"
    w.finish()


def _released(w, project_no: str, borrower: str, investors: dict[str, str]) -> None:
    total = sum(D(v) for v in investors.values())
    _funded_project(w, project_no, borrower, investors, str(total))
    for user_no, amount in investors.items():
        w.freeze(f"BID-{user_no}", user_no, project_no, amount)
    _release(w, f"REL-{project_no}", project_no, borrower,
             {f"BID-{u}": (u, a) for u, a in investors.items()})
    w.ok("MODIFY_PROJECT", {"requestNo": f"MOD-{project_no}", "projectNo": project_no, "status": "REPAYING"})


def test_scenario_06_repayment_with_the_creditor_check(w):
    _released(w, "PJ-6", "B6", {"I6a": "600", "I6b": "400"})
    w.recharge("B6", "100")  # the interest
    w.freeze("RPF-6", "B6", "PJ-6", "1050", "REPAYMENT")
    assert w.balance("B6") == (fen(1100), fen(1050))
    # principal above a holder's share is refused: nothing moves
    w.refused("SYNC_TRANSACTION", {"requestNo": "RP-6x", "tradeType": "REPAYMENT", "projectNo": "PJ-6", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "RPF-6", "sourcePlatformUserNo": "B6",
         "targetPlatformUserNo": "I6b", "amount": "430", "income": "20"}]}, "100008")
    w.trade("RP-6a", "REPAYMENT", [
        {"bizType": "REPAYMENT", "freezeRequestNo": "RPF-6", "sourcePlatformUserNo": "B6",
         "targetPlatformUserNo": "I6a", "amount": "330", "income": "30"},
        {"bizType": "REPAYMENT", "freezeRequestNo": "RPF-6", "sourcePlatformUserNo": "B6",
         "targetPlatformUserNo": "I6b", "amount": "420", "income": "20"}], projectNo="PJ-6")
    assert w.shares("PJ-6") == {"I6a": (fen(300), 0)}
    w.refused("MODIFY_PROJECT", {"requestNo": "MOD-6x", "projectNo": "PJ-6", "status": "FINISH"}, "100008")
    w.trade("RP-6b", "REPAYMENT", [
        {"bizType": "REPAYMENT", "freezeRequestNo": "RPF-6", "sourcePlatformUserNo": "B6",
         "targetPlatformUserNo": "I6a", "amount": "300"}], projectNo="PJ-6")
    q = w.project("PJ-6")
    assert (q["loanAmount"], q["repaymentAmount"], q["income"]) == (1000, 1000, 50)
    w.ok("MODIFY_PROJECT", {"requestNo": "MOD-6", "projectNo": "PJ-6", "status": "FINISH"})
    assert w.balance("I6a") == (fen(630), 0) and w.balance("I6b") == (fen(420), 0)
    assert w.balance("B6") == (fen(50), 0) and w.shares("PJ-6") == {}
    w.finish()


def test_scenario_07_compensation_direct_and_indirect_then_repaid(w):
    _released(w, "PJ-7", "B7", {"I7a": "500", "I7b": "500"})
    w.fund_system("SYS_GENERATE_001", 600)
    g = w.enterprise("G7", role="GUARANTEECORP", auth_list="COMPENSATORY,RECHARGE")
    w.recharge_b2b(g, "600")
    # direct: the platform's compensatory account pays I7a (principal + interest); I7a's share is spent
    w.trade("CP-7a", "COMPENSATORY", [
        {"bizType": "COMPENSATORY", "sourcePlatformUserNo": "SYS_GENERATE_001", "targetPlatformUserNo": "I7a",
         "amount": "510", "income": "10"}], projectNo="PJ-7")
    # indirect: the guarantor freezes and pays I7b, and takes over I7b's share
    w.freeze("GF-7", g, "PJ-7", "510", "COMPENSATORY")
    w.trade("CP-7b", "INDIRECT_COMPENSATORY", [
        {"bizType": "COMPENSATORY", "freezeRequestNo": "GF-7", "sourcePlatformUserNo": g,
         "targetPlatformUserNo": "I7b", "amount": "510", "income": "10"}], projectNo="PJ-7")
    assert w.balance("I7a") == (fen(510), 0) and w.balance("I7b") == (fen(510), 0)
    assert w.balance("SYS_GENERATE_001") == (fen(90), 0) and w.balance(g) == (fen(90), 0)
    assert w.shares("PJ-7") == {g: (fen(500), 0)}
    # the borrower repays the compensators: the platform (还代偿款) and the guarantor as the new holder
    w.recharge("B7", "50")
    w.freeze("RPF-7", "B7", "PJ-7", "1040", "REPAYMENT")
    w.refused("SYNC_TRANSACTION", {"requestNo": "RP-7x", "tradeType": "REPAYMENT", "projectNo": "PJ-7", "details": [
        {"bizType": "COMPENSATORY_REPAYMENT", "freezeRequestNo": "RPF-7", "sourcePlatformUserNo": "B7",
         "targetPlatformUserNo": "SYS_GENERATE_001", "amount": "520", "income": "10"}]}, "100008")
    w.trade("RP-7", "REPAYMENT", [
        {"bizType": "COMPENSATORY_REPAYMENT", "freezeRequestNo": "RPF-7", "sourcePlatformUserNo": "B7",
         "targetPlatformUserNo": "SYS_GENERATE_001", "amount": "520", "income": "20"},
        {"bizType": "REPAYMENT", "freezeRequestNo": "RPF-7", "sourcePlatformUserNo": "B7",
         "targetPlatformUserNo": g, "amount": "520", "income": "20"}], projectNo="PJ-7")
    assert w.balance("SYS_GENERATE_001") == (fen(610), 0) and w.balance(g) == (fen(610), 0)
    assert w.balance("B7") == (fen(10), 0) and w.shares("PJ-7") == {}
    w.ok("MODIFY_PROJECT", {"requestNo": "MOD-7", "projectNo": "PJ-7", "status": "FINISH"})
    w.finish()


def test_scenario_08_debt_transfer_with_cancel(w):
    _released(w, "PJ-8", "B8", {"S8": "1000"})
    w.register("Y8a", auth_list="RECHARGE,CREDIT_ASSIGNMENT")
    w.register("Y8b", auth_list="RECHARGE,CREDIT_ASSIGNMENT")
    w.recharge("Y8a", "500")
    w.recharge("Y8b", "500")
    w.ok("DEBENTURE_SALE", {"requestNo": "SALE-8", "platformUserNo": "S8", "projectNo": "PJ-8", "saleShare": "600"})
    assert w.shares("PJ-8") == {"S8": (fen(1000), fen(600))}  # locked while on sale
    w.refused("DEBENTURE_SALE", {"requestNo": "SALE-8x", "platformUserNo": "S8", "projectNo": "PJ-8",
                                 "saleShare": "400.01"}, "100008")  # never sold twice
    # above par: 300 share for 310; below par: 200 share for 190
    w.freeze("BUY-8a", "Y8a", "PJ-8", "310", "CREDIT_ASSIGNMENT", share="300", creditsaleRequestNo="SALE-8")
    w.freeze("BUY-8b", "Y8b", "PJ-8", "190", "CREDIT_ASSIGNMENT", share="200", creditsaleRequestNo="SALE-8")
    for buy, buyer, price, share in (("BUY-8a", "Y8a", "310", "300"), ("BUY-8b", "Y8b", "190", "200")):
        w.trade(f"CA-{buy}", "CREDIT_ASSIGNMENT", [
            {"bizType": "CREDIT_ASSIGNMENT", "freezeRequestNo": buy, "sourcePlatformUserNo": buyer,
             "targetPlatformUserNo": "S8", "amount": price, "share": share}], projectNo="PJ-8", saleRequestNo="SALE-8")
    assert w.shares("PJ-8") == {"S8": (fen(500), fen(100)), "Y8a": (fen(300), 0), "Y8b": (fen(200), 0)}
    assert w.balance("S8") == (fen(500), 0) and w.balance("Y8a") == (fen(190), 0) and w.balance("Y8b") == (fen(310), 0)
    w.ok("CANCEL_DEBENTURE_SALE", {"requestNo": "CS-8", "creditsaleRequestNo": "SALE-8"})
    assert w.shares("PJ-8")["S8"] == (fen(500), 0)  # the unsold share is unlocked
    w.refused("CANCEL_DEBENTURE_SALE", {"requestNo": "CS-8b", "creditsaleRequestNo": "SALE-8"}, "100008",
              "债权出让订单已结束")
    sale = w.ok("QUERY_TRANSACTION", {"requestNo": "SALE-8", "transactionType": "DEBENTURE_SALE"})["records"][0]
    assert sale["status"] == "COMPLETED"
    w.finish()


def test_scenario_11_cash_and_investment_red_packets(w):
    _funded_project(w, "PJ-11", "B11", {"I11": "100"}, "100")
    w.fund_system("SYS_GENERATE_002", 30)
    # cash red packet: marketing → user at any time, final, spendable at once
    w.trade("RP-CASH-1", "MARKETING", [{"bizType": "MARKETING", "sourcePlatformUserNo": "SYS_GENERATE_002",
                                        "targetPlatformUserNo": "I11", "amount": "12.34"}])
    assert w.balance("I11") == (fen("112.34"), 0) and w.balance("SYS_GENERATE_002") == (fen("17.66"), 0)
    # investment red packet: tied to the bid, recorded not frozen, paid at release only
    w.freeze("BID-11", "I11", "PJ-11", "100", preMarketingAmount="5")
    assert w.balance("SYS_GENERATE_002") == (fen("17.66"), 0)
    w.refused("SYNC_TRANSACTION", {"requestNo": "REL-11x", "tradeType": "TENDER", "projectNo": "PJ-11", "details": [
        {"bizType": "TENDER", "freezeRequestNo": "BID-11", "amount": "100"},
        {"bizType": "MARKETING", "freezeRequestNo": "BID-11", "amount": "6"}]}, "100008")  # not the bid's packet
    _release(w, "REL-11", "PJ-11", "B11", {"BID-11": ("I11", "100")}, more=[
        {"bizType": "MARKETING", "freezeRequestNo": "BID-11", "targetPlatformUserNo": "B11", "amount": "5"}])
    assert w.balance("B11") == (fen(105), 0) and w.balance("SYS_GENERATE_002") == (fen("12.66"), 0)
    assert w.balance("I11") == (fen("12.34"), 0)
    w.finish()


def test_scenario_13_exchange_asset_project(w):
    w.register("B13", role="BORROWERS")
    w.register("I13", auth_list="RECHARGE,TENDER")
    w.recharge("I13", "5000")
    base = {"requestNo": "EST-13x", "platformUserNo": "B13", "projectNo": "PJ-13", "projectAmount": "5000",
            "projectName": "交易所资产", "projectType": "STANDARDPOWDER", "annnualInterestRate": "0.07",
            "repaymentWay": "FIXED_BASIS_MORTGAGE"}
    w.refused("ESTABLISH_PROJECT", {**base, "extend": {"exchangeAsset": True, "originalContractNo": "HT-2026-001"}},
              "100002")  # no disbursement record
    w.ok("ESTABLISH_PROJECT", {**base, "requestNo": "EST-13", "extend": {
        "exchangeAsset": True, "originalContractNo": "HT-2026-001", "disbursementRecordNo": "FK-2026-001"}})
    q = w.project("PJ-13")
    assert q["projectProperties"] == "STOCK" and q["projectStatus"] == "COLLECTING"
    w.establish("PJ-13n", "B13", "100")
    assert w.project("PJ-13n")["projectProperties"] == "NEW"
    w.freeze("BID-13", "I13", "PJ-13", "5000")
    _release(w, "REL-13", "PJ-13", "B13", {"BID-13": ("I13", "5000")})
    assert w.shares("PJ-13") == {"I13": (fen(5000), 0)} and w.balance("B13") == (fen(5000), 0)
    w.finish()


def test_scenario_14_consumer_finance_merchant_partner_and_repayment(w):
    w.register("B14", role="BORROWERS", auth_list="RECHARGE,REPAYMENT")
    w.register("I14", auth_list="RECHARGE,TENDER")
    merchant = w.enterprise("M14", role="SUPPLIER")
    partner = w.enterprise("C14", role="COLLABORATOR", auth_list="RECHARGE,COMPENSATORY")
    w.recharge("I14", "2000")
    w.recharge_b2b(partner, "1000")
    w.fund_system("SYS_GENERATE_003", 100)
    w.establish("PJ-14", "B14", "2000", projectType="ENTRUST_PAY")
    auth = w.ok("AUTHORIZATION_ENTRUST_PAY", {"requestNo": "EP-14", "borrowPlatformUserNo": "B14",
                                              "projectNo": "PJ-14", "checkType": "LIMIT", "entrustedType": "ENTERPRISE",
                                              "entrustedPlatformUserNo": merchant})
    assert auth["authorizeStatus"] == "PASSED"
    w.freeze("BID-14", "I14", "PJ-14", "2000")
    # release straight to the merchant (委托支付); the partner's profit share (分润) from the platform
    _release(w, "REL-14", "PJ-14", merchant, {"BID-14": ("I14", "2000")})
    w.trade("PF-14", "PLATFORM_INDEPENDENT_PROFIT", [
        {"bizType": "PLATFORM_INDEPENDENT_PROFIT", "targetPlatformUserNo": partner, "amount": "40"}])
    assert w.balance(merchant) == (fen(2000), 0) and w.balance("B14") == (0, 0)
    assert w.balance(partner) == (fen(1040), 0) and w.balance("SYS_GENERATE_003") == (fen(60), 0)
    assert w.shares("PJ-14") == {"I14": (fen(2000), 0)}
    w.ok("MODIFY_PROJECT", {"requestNo": "MOD-14", "projectNo": "PJ-14", "status": "REPAYING"})
    # the borrower defaults: the partner compensates the investor
    w.freeze("CF-14", partner, "PJ-14", "1000", "COMPENSATORY")
    w.trade("CP-14", "COMPENSATORY", [
        {"bizType": "COMPENSATORY", "freezeRequestNo": "CF-14", "sourcePlatformUserNo": partner,
         "targetPlatformUserNo": "I14", "amount": "1000", "income": "20"}], projectNo="PJ-14")
    assert w.balance("I14") == (fen(1000), 0) and w.shares("PJ-14") == {"I14": (fen(1020), 0)}
    # then the borrower repays: the investor's rest and the partner's compensation
    w.recharge("B14", "2100")
    w.freeze("RPF-14", "B14", "PJ-14", "2100", "REPAYMENT")
    w.trade("RP-14", "REPAYMENT", [
        {"bizType": "REPAYMENT", "freezeRequestNo": "RPF-14", "sourcePlatformUserNo": "B14",
         "targetPlatformUserNo": "I14", "amount": "1040", "income": "20"},
        {"bizType": "COMPENSATORY_REPAYMENT", "freezeRequestNo": "RPF-14", "sourcePlatformUserNo": "B14",
         "targetPlatformUserNo": partner, "amount": "1000", "income": "20"}], projectNo="PJ-14")
    assert w.shares("PJ-14") == {}
    assert w.balance(partner) == (fen(1040), 0) and w.balance("I14") == (fen(2040), 0)
    assert w.balance("B14") == (fen(60), fen(60))
    w.ok("CANCEL_PRE_TRANSACTION", {"requestNo": "CX-14", "preTransactionNo": "RPF-14", "amount": "60"})
    w.ok("MODIFY_PROJECT", {"requestNo": "MOD-14f", "projectNo": "PJ-14", "status": "FINISH"})
    w.finish()


def test_scenario_02_03_recharge_and_bid(w, clock):
    """Recharge-and-bid (protocol §5.6): the RECHARGE page carries a TENDER authorization for one project
    and an amount; once the payment company confirms, USER_AUTO_PRE_TRANSACTION with originalRechargeNo
    freezes the bid with no page and no standing TENDER authorization — within authtenderAmount, for
    that project only, by that user only."""
    w.register("BRB", role="BORROWERS")
    w.register("IRB")  # no TENDER authorization at all
    w.register("IRX")
    w.establish("PJ-RB", "BRB", "1000")
    w.establish("PJ-RB2", "BRB", "1000")
    b = w.browser()
    b.open("RECHARGE", {"platformUserNo": "IRB", "requestNo": "RB-1", "amount": "500", "expectPayCompany": "YEEPAY",
                        "rechargeWay": "SWIFT", "bankcode": "ICBK", "authtradeType": "TENDER",
                        "authtenderAmount": "300", "projectNo": "PJ-RB", "expired": _expired(clock)})
    assert b.callback(b.post("submit", password=PASSWORD))["status"] == "SUCCESS"
    w.wait_for(lambda: w.recharge_status("RB-1") == "SUCCESS", "recharge RB-1 credited")
    bid = {"platformUserNo": "IRB", "bizType": "TENDER", "projectNo": "PJ-RB", "originalRechargeNo": "RB-1",
           "amount": "100"}
    w.refused("USER_AUTO_PRE_TRANSACTION", {**bid, "requestNo": "RB-B0", "projectNo": "PJ-RB2"}, "100011")
    w.refused("USER_AUTO_PRE_TRANSACTION", {**bid, "requestNo": "RB-B1", "platformUserNo": "IRX"}, "100011")
    w.refused("USER_AUTO_PRE_TRANSACTION", {**bid, "requestNo": "RB-B2", "amount": "300.01"}, "100011")
    assert w.ok("USER_AUTO_PRE_TRANSACTION", {**bid, "requestNo": "RB-B3", "amount": "200"})["bizType"] == "TENDER"
    w.refused("USER_AUTO_PRE_TRANSACTION", {**bid, "requestNo": "RB-B4", "amount": "100.01"}, "100011")  # 100 left
    w.ok("USER_AUTO_PRE_TRANSACTION", {**bid, "requestNo": "RB-B5", "amount": "100"})
    assert w.balance("IRB") == (fen(500), fen(300)) and w.project("PJ-RB")["tenderAmount"] == 300
    w.finish()
