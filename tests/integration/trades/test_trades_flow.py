"""The money life of a project on the ledger: bids, release with commission and red packets,
repayment with the creditor check, debenture sale and purchase, compensation; both engines."""

from __future__ import annotations

from cunguan.custody import debentures, pre_transactions, projects, trades

from .conftest import fen


def test_bid_release_repay_cycle(env):
    env.user("B", role="BORROWERS")
    env.user("I1", fund=1000)
    env.user("I2", fund=1000)
    env.fund("SYS_GENERATE_002", 100)  # the marketing account's money for red packets
    env.establish("P1", "B", 1000)
    env.bid("BID-1", "I1", "P1", 600, marketing="10")
    env.bid("BID-2", "I2", "P1", 400)
    assert env.balance("I1") == (fen(1000), fen(600))
    assert env.project("P1")["tender_frozen_fen"] == fen(1000)
    out = env.trade("REL-1", {"tradeType": "TENDER", "projectNo": "P1", "details": [
        {"bizType": "TENDER", "freezeRequestNo": "BID-1", "sourcePlatformUserNo": "I1", "targetPlatformUserNo": "B",
         "amount": "600"},
        {"bizType": "TENDER", "freezeRequestNo": "BID-2", "amount": 400},
        {"bizType": "COMMISSION", "sourcePlatformUserNo": "B", "amount": "20"},
        {"bizType": "MARKETING", "freezeRequestNo": "BID-1", "amount": "10"}]})
    assert out.transaction_status == "SUCCESS" and out.detail_count == 4 and out.amount_fen == fen(1030)
    assert env.balance("I1") == (fen(400), 0) and env.balance("I2") == (fen(600), 0)
    assert env.balance("B") == (fen(990), 0)
    assert env.balance("SYS_GENERATE_004") == (fen(20), 0)
    assert env.balance("SYS_GENERATE_002") == (fen(90), 0)
    p = env.project("P1")
    assert p["loan_fen"] == fen(1000) and p["tender_frozen_fen"] == 0
    assert env.holdings("P1") == {"I1": (fen(600), 0), "I2": (fen(400), 0)}
    assert env.order("BID-1")["status"] == "UNFREEZED" and env.order("BID-1")["marketing_spent"]
    env.modify("P1", "REPAYING")
    # repayment: the borrower freezes principal + interest, then pays each investor from it
    env.fund("B", 100)
    env.freeze_order("REPAY-1", "B", "P1", 1060, "REPAYMENT")
    env.trade("RP-1", {"tradeType": "REPAYMENT", "projectNo": "P1", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "REPAY-1", "targetPlatformUserNo": "I1", "amount": "636",
         "income": "36"}]})
    env.trade("RP-2", {"tradeType": "REPAYMENT", "projectNo": "P1", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "REPAY-1", "targetPlatformUserNo": "I2", "amount": "424",
         "income": "24"}]})
    assert env.balance("I1") == (fen(1036), 0) and env.balance("I2") == (fen(1024), 0)
    assert env.balance("B") == (fen(30), 0)
    assert env.order("REPAY-1")["status"] == "UNFREEZED"
    p = env.project("P1")
    assert (p["repaid_principal_fen"], p["income_fen"]) == (fen(1000), fen(60))
    assert env.holdings("P1") == {"I1": (0, 0), "I2": (0, 0)}
    q = env.read(lambda c: projects.query_project_information(c, "6000000001", {"projectNo": "P1"}))
    assert q["loanAmount"] == 1000 and q["repaymentAmount"] == 1000 and q["income"] == 60
    assert q["annualInterestRate"] == q["annnualInterestRate"] and q["projectStatus"] == "REPAYING"
    env.modify("P1", "FINISH")
    env.audit_clean()


def test_creditor_check_refuses_principal_above_share(raised):
    env = raised
    env.fund("B", 2000)
    env.freeze_order("REPAY-X", "B", "R1", 1500, "REPAYMENT")
    err = env.refused("100008", env.trade, "RP-X", {"tradeType": "REPAYMENT", "projectNo": "R1", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "REPAY-X", "targetPlatformUserNo": "I2", "amount": "450",
         "income": "40"}]}, field="details[0].amount")
    assert "unlocked share" in err.message
    # two details in one trade count together
    env.refused("100008", env.trade, "RP-Y", {"tradeType": "REPAYMENT", "projectNo": "R1", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "REPAY-X", "targetPlatformUserNo": "I2", "amount": "300"},
        {"bizType": "REPAYMENT", "freezeRequestNo": "REPAY-X", "targetPlatformUserNo": "I2", "amount": "200"}]})
    # interest on top of the full principal is fine
    env.trade("RP-OK", {"tradeType": "REPAYMENT", "projectNo": "R1", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "REPAY-X", "targetPlatformUserNo": "I2", "amount": "450",
         "income": "50"}]})
    assert env.holdings("R1")["I2"] == (0, 0)
    env.audit_clean()


def test_debenture_sale_purchase_and_cancel(raised):
    env = raised
    env.user("BUY", fund=500)
    env.run(debentures.debenture_sale, {"requestNo": "SALE-1", "platformUserNo": "I1", "projectNo": "R1",
                                        "saleShare": "300"})
    assert env.holdings("R1")["I1"] == (fen(600), fen(300))
    assert env.sale("SALE-1")["status"] == "ONSALE"
    env.freeze_order("BUYF-1", "BUY", "R1", 250, "CREDIT_ASSIGNMENT", share="200", creditsale_request_no="SALE-1")
    assert env.sale("SALE-1")["reserved_fen"] == fen(200)
    # price 190 for share 200 (below par), commission from the seller's proceeds
    env.trade("CA-1", {"tradeType": "CREDIT_ASSIGNMENT", "projectNo": "R1", "saleRequestNo": "SALE-1", "details": [
        {"bizType": "CREDIT_ASSIGNMENT", "freezeRequestNo": "BUYF-1", "targetPlatformUserNo": "I1", "amount": "190",
         "share": "200"},
        {"bizType": "COMMISSION", "sourcePlatformUserNo": "I1", "amount": "2"}]})
    assert env.holdings("R1")["I1"] == (fen(400), fen(100)) and env.holdings("R1")["BUY"] == (fen(200), 0)
    assert env.balance("BUY") == (fen(310), fen(60))  # 60 still frozen on the buyer's order
    assert env.balance("I1") == (fen(400) + fen(188), 0)
    sale = env.sale("SALE-1")
    assert (sale["sold_fen"], sale["reserved_fen"], sale["status"]) == (fen(200), 0, "ONSALE")
    # a share is never sold twice: the order's reservation is spent
    env.refused("100008", env.trade, "CA-2", {"tradeType": "CREDIT_ASSIGNMENT", "projectNo": "R1",
                                              "saleRequestNo": "SALE-1", "details": [
        {"bizType": "CREDIT_ASSIGNMENT", "freezeRequestNo": "BUYF-1", "amount": "50", "share": "50"}]})
    env.run(debentures.cancel_debenture_sale, {"requestNo": "CSALE-1", "creditsaleRequestNo": "SALE-1"})
    assert env.holdings("R1")["I1"] == (fen(400), 0)
    assert env.sale("SALE-1")["status"] == "COMPLETED"
    env.refused("100008", env.run, debentures.cancel_debenture_sale,
                {"requestNo": "CSALE-2", "creditsaleRequestNo": "SALE-1"}, text="债权出让订单已结束")
    env.refused("100007", env.run, debentures.cancel_debenture_sale,
                {"requestNo": "CSALE-3", "creditsaleRequestNo": "NOPE"}, text="债权出让订单不存在")
    env.run(pre_transactions.cancel_pre_transaction, {"requestNo": "CX-B", "preTransactionNo": "BUYF-1", "amount": 60})
    assert env.balance("BUY") == (fen(310), 0)
    env.audit_clean()


def test_sale_completes_when_fully_sold(raised):
    env = raised
    env.user("BUY", fund=500)
    env.run(debentures.debenture_sale, {"requestNo": "SALE-2", "platformUserNo": "I2", "projectNo": "R1",
                                        "saleShare": "400"})
    env.refused("100008", env.run, debentures.debenture_sale,
                {"requestNo": "SALE-3", "platformUserNo": "I2", "projectNo": "R1", "saleShare": "1"})
    env.freeze_order("BUYF-2", "BUY", "R1", 420, "CREDIT_ASSIGNMENT", share="400", creditsale_request_no="SALE-2")
    env.refused("100008", lambda: env.freeze_order("BUYF-3", "I1", "R1", 10, "CREDIT_ASSIGNMENT", share="1",
                                                   creditsale_request_no="SALE-2"))  # nothing unreserved left
    env.trade("CA-3", {"tradeType": "CREDIT_ASSIGNMENT", "projectNo": "R1", "saleRequestNo": "SALE-2", "details": [
        {"bizType": "CREDIT_ASSIGNMENT", "freezeRequestNo": "BUYF-2", "amount": "420"}]})  # share defaults to 400
    assert env.sale("SALE-2")["status"] == "COMPLETED"
    assert env.holdings("R1")["I2"] == (0, 0) and env.holdings("R1")["BUY"] == (fen(400), 0)
    assert env.balance("I2") == (fen(600) + fen(420), 0)
    env.audit_clean()


def test_compensation_direct_and_indirect_then_repayment(raised):
    env = raised
    env.user("G", role="GUARANTEECORP", fund=1000)
    env.fund("SYS_GENERATE_001", 500)
    # platform compensatory account pays I2 directly, without a freeze
    env.trade("CP-1", {"tradeType": "COMPENSATORY", "projectNo": "R1", "details": [
        {"bizType": "COMPENSATORY", "sourcePlatformUserNo": "SYS_GENERATE_001", "targetPlatformUserNo": "I2",
         "amount": "420", "income": "20"}]})
    assert env.holdings("R1")["I2"] == (0, 0) and env.project("R1")["compensated_fen"] == fen(400)
    # the guarantor takes over I1's claim (indirect), from its COMPENSATORY freeze
    env.freeze_order("GF-1", "G", "R1", 600, "COMPENSATORY")
    env.trade("CP-2", {"tradeType": "INDIRECT_COMPENSATORY", "projectNo": "R1", "details": [
        {"bizType": "COMPENSATORY", "freezeRequestNo": "GF-1", "targetPlatformUserNo": "I1", "amount": "600"}]})
    assert env.holdings("R1")["I1"] == (0, 0) and env.holdings("R1")["G"] == (fen(600), 0)
    # the borrower repays: the compensator of the direct part, and the guarantor as the new holder
    env.fund("B", 100)
    env.freeze_order("BR-1", "B", "R1", 1001, "REPAYMENT")
    env.trade("RP-C", {"tradeType": "REPAYMENT", "projectNo": "R1", "details": [
        {"bizType": "COMPENSATORY_REPAYMENT", "freezeRequestNo": "BR-1", "targetPlatformUserNo": "SYS_GENERATE_001",
         "amount": "400"},
        {"bizType": "REPAYMENT", "freezeRequestNo": "BR-1", "targetPlatformUserNo": "G", "amount": "600"}]})
    env.refused("100008", env.trade, "RP-D", {"tradeType": "REPAYMENT", "projectNo": "R1", "details": [
        {"bizType": "COMPENSATORY_REPAYMENT", "sourcePlatformUserNo": "B", "freezeRequestNo": "BR-1",
         "targetPlatformUserNo": "SYS_GENERATE_001", "amount": "0.01"}]})
    p = env.project("R1")
    assert p["repaid_principal_fen"] + p["compensated_fen"] == p["loan_fen"]
    env.modify("R1", "FINISH")
    assert env.balance("G") == (fen(1000), 0)
    env.audit_clean()


def test_auto_repayment_from_available_needs_authorization(raised):
    env = raised
    env.fund("B", 700)
    trade = {"tradeType": "AUTO_REPAYMENT", "projectNo": "R1", "details": [
        {"bizType": "REPAYMENT", "sourcePlatformUserNo": "B", "targetPlatformUserNo": "I1", "amount": "650",
         "income": "50"}]}
    env.refused("100011", env.trade, "ARP-1", trade)
    env.grant("B", "REPAYMENT", cap="1000")
    env.trade("ARP-1", trade)
    assert env.balance("I1") == (fen(400) + fen(650), 0)
    env.refused("100011", env.trade, "ARP-2", {**trade, "details": [{**trade["details"][0], "targetPlatformUserNo": "I2",
                                                                      "amount": "400", "income": "0"}]})
    env.audit_clean()


def test_plain_money_trades(env):
    env.user("U1", fund=100)
    env.user("PARTNER", role="COLLABORATOR")
    for no, amount in (("SYS_GENERATE_000", 500), ("SYS_GENERATE_003", 50), ("SYS_GENERATE_005", 50),
                       ("SYS_GENERATE_006", 50)):
        env.fund(no, amount)
    env.trade("FT-1", {"tradeType": "FUNDS_TRANSFER", "details": [
        {"bizType": "FUNDS_TRANSFER", "targetPlatformUserNo": "SYS_GENERATE_002", "amount": "100"}]})
    env.trade("MK-1", {"tradeType": "MARKETING", "details": [
        {"bizType": "MARKETING", "targetPlatformUserNo": "U1", "amount": "5"},
        {"bizType": "INTEREST", "targetPlatformUserNo": "U1", "amount": "1.5"},
        {"bizType": "ALTERNATIVE_RECHARGE", "targetPlatformUserNo": "U1", "amount": "2"}]})
    env.trade("PF-1", {"tradeType": "PLATFORM_INDEPENDENT_PROFIT", "details": [
        {"bizType": "PLATFORM_INDEPENDENT_PROFIT", "targetPlatformUserNo": "PARTNER", "amount": "7"}]})
    assert env.balance("U1") == (fen("108.50"), 0) and env.balance("PARTNER") == (fen(7), 0)
    # a fee from a user needs a freeze order (the platform's own FREEZE_PRE_TRANSACTION)
    env.refused("100002", env.trade, "DD-1", {"tradeType": "PLATFORM_SERVICE_DEDUCT", "details": [
        {"bizType": "DEDUCT", "sourcePlatformUserNo": "U1", "amount": "3"}]})
    env.run(pre_transactions.freeze_pre_transaction, {"requestNo": "FP-1", "platformUserNo": "U1",
                                                      "bizType": "PRETRANSACTION", "amount": "3"})
    env.trade("DD-1", {"tradeType": "PLATFORM_SERVICE_DEDUCT", "details": [
        {"bizType": "DEDUCT", "freezeRequestNo": "FP-1", "amount": "3"}]})
    assert env.balance("U1") == (fen("105.50"), 0) and env.balance("SYS_GENERATE_004") == (fen(3), 0)
    # FUNDS_TRANSFER moves platform money only
    env.refused("100002", env.trade, "FT-2", {"tradeType": "FUNDS_TRANSFER", "details": [
        {"bizType": "FUNDS_TRANSFER", "sourcePlatformUserNo": "U1", "targetPlatformUserNo": "SYS_GENERATE_000",
         "amount": "1"}]})
    env.audit_clean()


def test_verify_deduct(env):
    env.user("U1", fund=10)
    req = trades.VerifyDeductRequest(request_no="VD-1", platform_user_no="U1",
                                     target_platform_user_no="SYS_GENERATE_004", amount="2.5", custom_define="服务费")
    out = env.run(trades.verify_deduct, req)
    assert out.amount_fen == fen("2.5") and env.balance("SYS_GENERATE_004") == (fen("2.5"), 0)
    env.refused("100014", env.run, trades.verify_deduct,
                trades.VerifyDeductRequest(request_no="VD-2", platform_user_no="U1",
                                           target_platform_user_no="SYS_GENERATE_004", amount="100"))
    env.refused("100009", env.run, trades.verify_deduct,
                trades.VerifyDeductRequest(request_no="VD-3", platform_user_no="U1",
                                           target_platform_user_no="NOBODY", amount="1"))
    env.audit_clean()


def test_auto_tender_from_available_within_the_authorization(env):
    env.user("B", role="BORROWERS")
    env.user("I1", fund=500)
    env.establish("AT", "B", 500)
    trade = {"tradeType": "AUTO_TENDER", "projectNo": "AT", "details": [
        {"bizType": "TENDER", "sourcePlatformUserNo": "I1", "amount": "200"}]}
    env.refused("100011", env.trade, "AT-1", trade)
    env.grant("I1", "TENDER", cap="250")
    env.trade("AT-1", trade)
    assert env.holdings("AT") == {"I1": (fen(200), 0)} and env.project("AT")["loan_fen"] == fen(200)
    env.refused("100011", env.trade, "AT-2", trade)  # 50 left of the cap
    env.grant("I1", "TENDER")  # a new grant without a cap replaces the old one
    env.trade("AT-3", trade)
    env.refused("100008", env.trade, "AT-4", trade)  # 400 + 200 > 500
    assert env.balance("I1") == (fen(100), 0)
    env.audit_clean()


def test_statements_per_trade_do_not_grow_with_details(env):
    """A trade loads and writes in bulk: 2 details or 40 details cost the same number of statements."""
    from sqlalchemy import event

    env.user("B", role="BORROWERS")
    env.establish("ST", "B", 100_000)
    for i in range(40):
        env.user(f"S{i}", fund=100)
        env.bid(f"SB-{i}", f"S{i}", "ST", 10)

    def count(request_no: str, bids: range) -> int:
        seen = []
        listener = lambda *a, **k: seen.append(1)  # noqa: E731
        event.listen(env.engine, "before_cursor_execute", listener)
        try:
            env.trade(request_no, {"tradeType": "TENDER", "projectNo": "ST", "details": [
                {"bizType": "TENDER", "freezeRequestNo": f"SB-{i}", "amount": "10"} for i in bids]})
        finally:
            event.remove(env.engine, "before_cursor_execute", listener)
        return len(seen)

    small, large = count("ST-1", range(0, 2)), count("ST-2", range(2, 40))
    assert large == small, (small, large)
    assert small <= 30, small
    env.audit_clean()
