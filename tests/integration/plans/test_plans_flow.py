"""A plan's whole life on the business layer: purchase, append, matching by TENDER releases, repayments
back into the plan, unified interest, exit, plan-share sale bought by another investor, the query."""

from __future__ import annotations

from decimal import Decimal

from cunguan.custody import plans, pre_transactions, trade_queries

from .conftest import fen

D = Decimal


def _ca_freeze(env, request_no, buyer, project_no, amount, share, sale_no):
    return env.run(pre_transactions.user_auto_pre_transaction, {
        "requestNo": request_no, "platformUserNo": buyer, "bizType": "CREDIT_ASSIGNMENT", "amount": str(amount),
        "projectNo": project_no, "share": str(share), "creditsaleRequestNo": sale_no})


def test_plan_life(plan_world):
    env = plan_world
    env.purchase("PUR-1", "I1", "PLAN-A", 600)
    env.purchase("PUR-2", "I2", "PLAN-A", 400)
    assert env.balance("I1") == (fen(1000), fen(600)) and env.balance("I2") == (fen(1000), fen(400))
    # append: more money frozen on the same freeze order
    r = env.append("APP-1", "PUR-1", 100)
    assert r.transaction_status == "SUCCESS" and r.amount_fen == fen(100)
    assert env.balance("I1") == (fen(1000), fen(700))
    assert env.order("PUR-1")["amount"] == D("700.00") and env.order("PUR-1")["unmatchAmount"] == D("700.00")
    # matching: the platform releases projects with the plan freezes as bids
    env.release("REL-R1", "R1", [("PUR-1", 300), ("PUR-2", 200)])
    env.release("REL-R2", "R2", [("PUR-1", 400), ("PUR-2", 200)])
    assert env.balance("I1") == (fen(300), 0) and env.balance("I2") == (fen(600), 0)
    assert env.balance("B1") == (fen(500), 0) and env.balance("B2") == (fen(600), 0)
    assert env.holdings("R1") == {"I1": (fen(300), 0), "I2": (fen(200), 0)}
    assert env.matches("PUR-1") == {"R1": (fen(300), fen(300)), "R2": (fen(400), fen(400))}
    o1 = env.order("PUR-1")
    assert o1["unmatchAmount"] == 0 and o1["details"][0]["matchProjectNo"] == "R1"
    assert [(d["matchProjectNo"], d["matchShare"]) for d in o1["details"]] == [("R1", D("300.00")), ("R2", D("400.00"))]
    assert env.order("PUR-2")["unmatchAmount"] == D("200.00") - D("200.00")
    env.modify("R1", "REPAYING")
    env.modify("R2", "REPAYING")
    # repayment: principal + interest paid to plan holders is frozen again under the plan order
    env.fund("B1", 30)
    env.repay_freeze("RF-1", "B1", "R1", 330)
    env.trade("REP-1", {"tradeType": "REPAYMENT", "projectNo": "R1", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "RF-1", "targetPlatformUserNo": "I1", "amount": "165",
         "income": "15"},
        {"bizType": "REPAYMENT", "freezeRequestNo": "RF-1", "targetPlatformUserNo": "I2", "amount": "110",
         "income": "10"}]})
    assert env.balance("I1") == (fen(465), fen(165)) and env.balance("I2") == (fen(710), fen(110))
    assert env.order("PUR-1")["unmatchAmount"] == D("165.00") and env.order("PUR-2")["unmatchAmount"] == D("110.00")
    assert env.matches("PUR-1")["R1"] == (fen(300), fen(150)) and env.matches("PUR-2")["R1"] == (fen(200), fen(100))
    assert env.holdings("R1") == {"I1": (fen(150), 0), "I2": (fen(100), 0)}
    # unified interest (统一派息) from the interest account: to the available balance
    env.trade("INT-1", {"tradeType": "MARKETING", "details": [
        {"bizType": "INTEREST", "sourcePlatformUserNo": "SYS_GENERATE_005", "targetPlatformUserNo": "I1",
         "amount": "12.34"},
        {"bizType": "INTEREST", "targetPlatformUserNo": "I2", "amount": "8.22"}]})
    assert env.balance("I1") == (fen("477.34"), fen(165)) and env.balance("I2") == (fen("718.22"), fen(110))
    assert env.balance("SYS_GENERATE_005") == (fen("79.44"), 0)
    # partial exit; more than unmatched is refused
    env.unfreeze("UNF-1", "PUR-1", 65)
    assert env.balance("I1") == (fen("477.34"), fen(100)) and env.order("PUR-1")["unmatchAmount"] == D("100.00")
    env.refused("100014", env.unfreeze, "UNF-2", "PUR-1", "100.01", text="冻结金额不足")
    # reinvestment: the money back in the plan is matched to a new project
    env.project("R3", "B1", 100)
    env.release("REL-R3", "R3", [("PUR-1", 100)])
    assert env.order("PUR-1")["unmatchAmount"] == 0 and env.balance("I1") == (fen("377.34"), 0)
    # the plan sells part of its R2 shares (both offers or none); I3 buys I1's offer
    env.run(plans.intelligent_project_debenture_sale, {"requestNo": "PSALE-1", "details": [
        {"saleRequestNo": "S-1", "intelRequestNo": "PUR-1", "platformUserNo": "I1", "projectNo": "R2",
         "saleShare": "200"},
        {"saleRequestNo": "S-2", "intelRequestNo": "PUR-2", "platformUserNo": "I2", "projectNo": "R2",
         "saleShare": 50}]})
    assert env.holdings("R2") == {"I1": (fen(400), fen(200)), "I2": (fen(200), fen(50))}
    _ca_freeze(env, "CA-F1", "I3", "R2", 205, 200, "S-1")
    env.trade("CA-1", {"tradeType": "CREDIT_ASSIGNMENT", "projectNo": "R2", "saleRequestNo": "S-1", "details": [
        {"bizType": "CREDIT_ASSIGNMENT", "freezeRequestNo": "CA-F1", "targetPlatformUserNo": "I1", "amount": "205",
         "share": "200"},
        {"bizType": "COMMISSION", "sourcePlatformUserNo": "I1", "amount": "2"}]})
    # the seller's proceeds net of the fee flow back into the plan order
    assert env.balance("I1") == (fen("580.34"), fen(203)) and env.balance("I3") == (fen(795), 0)
    assert env.holdings("R2") == {"I1": (fen(200), 0), "I2": (fen(200), fen(50)), "I3": (fen(200), 0)}
    q = env.order("PUR-1")
    assert q["unmatchAmount"] == D("203.00") and q["amount"] == D("700.00") and q["annualInterestRate"] == D("0.08")
    assert q["platformUserNo"] == "I1" and q["intelProjectNo"] == "PLAN-A"
    assert [(d["matchProjectNo"], d["matchShare"]) for d in q["details"]] == [
        ("R1", D("150.00")), ("R2", D("200.00")), ("R3", D("100.00"))]
    # the purchase is visible as a PRETRANSACTION record
    with env.engine.connect() as conn:
        rec = trade_queries.trade_records(conn, "6000000001", "PRETRANSACTION", "PUR-1", None)
    assert rec is not None and rec[0]["bizType"] == "TENDER" and rec[0]["status"] == "FREEZED"
    env.audit_clean()
    env.custody_consistent()


def test_mixed_holder_repayment_split(plan_world):
    """I1 holds R1 both directly (a bid) and through the plan: the plan's part of a repayment is
    proportional to the plan's share."""
    env = plan_world
    env.purchase("PUR-1", "I1", "PLAN-A", 400)
    env.run(pre_transactions.user_auto_pre_transaction, {"requestNo": "BID-1", "platformUserNo": "I1",
                                                         "bizType": "TENDER", "amount": "100", "projectNo": "R1"})
    env.run(pre_transactions.user_auto_pre_transaction, {"requestNo": "BID-2", "platformUserNo": "I2",
                                                         "bizType": "TENDER", "amount": "100", "projectNo": "R1"})
    # over-raise still refused with a plan freeze: the bids leave room for 300.00 only
    env.refused("100008", env.release, "REL-X", "R1", [("PUR-1", "300.01")])
    env.release("REL-R1", "R1", [("PUR-1", 300), ("BID-1", 100), ("BID-2", 100)])
    assert env.holdings("R1") == {"I1": (fen(400), 0), "I2": (fen(100), 0)}
    assert env.balance("I1") == (fen(600), fen(100)) and env.order("PUR-1")["unmatchAmount"] == D("100.00")
    env.modify("R1", "REPAYING")
    env.fund("B1", 100)
    env.repay_freeze("RF-1", "B1", "R1", 600)
    env.trade("REP-1", {"tradeType": "REPAYMENT", "projectNo": "R1", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "RF-1", "targetPlatformUserNo": "I1", "amount": "220.01",
         "income": "20.01"}]})
    # 3/4 of the share is the plan's: principal 150.00 of 200.00, money floor(220.01 × 3/4) = 165.00
    assert env.matches("PUR-1")["R1"] == (fen(300), fen(150))
    assert env.balance("I1") == (fen("820.01"), fen(265)) and env.order("PUR-1")["unmatchAmount"] == D("265.00")
    assert env.holdings("R1")["I1"] == (fen(200), 0)
    env.audit_clean()
    env.custody_consistent()


def test_plain_sale_by_plan_holder_sells_direct_share_first(plan_world):
    env = plan_world
    env.purchase("PUR-1", "I1", "PLAN-A", 300)
    env.run(pre_transactions.user_auto_pre_transaction, {"requestNo": "BID-1", "platformUserNo": "I1",
                                                         "bizType": "TENDER", "amount": "100", "projectNo": "R1"})
    env.release("REL-R1", "R1", [("PUR-1", 300), ("BID-1", 100)])
    env.modify("R1", "REPAYING")
    from cunguan.custody import debentures

    env.run(debentures.debenture_sale, {"requestNo": "S-9", "platformUserNo": "I1", "projectNo": "R1",
                                        "saleShare": "250"})
    _ca_freeze(env, "CA-F", "I3", "R1", 250, 250, "S-9")
    env.trade("CA-9", {"tradeType": "CREDIT_ASSIGNMENT", "projectNo": "R1", "saleRequestNo": "S-9", "details": [
        {"bizType": "CREDIT_ASSIGNMENT", "freezeRequestNo": "CA-F", "amount": "250"}]})
    # 100 direct share went first; 150 of the plan's share was sold: 150/250 of the price back to the plan
    assert env.matches("PUR-1")["R1"] == (fen(300), fen(150))
    assert env.order("PUR-1")["unmatchAmount"] == D("150.00")
    assert env.balance("I1") == (fen(850), fen(150))
    env.audit_clean()
    env.custody_consistent()


def test_append_both_trade_types_and_refill_after_exit(plan_world):
    env = plan_world
    env.purchase("PUR-1", "I1", "PLAN-A", 100)
    env.append("APP-1", "PUR-1", "50.5", trade_type="APPEND_FREEZE", sourcePlatformUserNo="I1")
    env.trade("APP-2", {"tradeType": "INTELLIGENT_APPEND", "details": [
        {"bizType": "APPEND_FREEZE", "freezeRequestNo": "PUR-1", "amount": "10"},
        {"bizType": "APPEND_FREEZE", "freezeRequestNo": "PUR-1", "amount": "20"}]})
    assert env.balance("I1") == (fen(1000), fen("180.50"))
    assert env.order("PUR-1")["amount"] == D("180.50")
    with env.engine.connect() as conn:
        rec = trade_queries.trade_records(conn, "6000000001", "TRANSACTION", "APP-2", None)
    assert rec is not None and rec[0]["amount"] == D("30.00") and len(rec[0]["details"]) == 2
    env.unfreeze("UNF-1", "PUR-1", "180.50")
    assert env.balance("I1") == (fen(1000), 0)
    env.refused("100014", env.unfreeze, "UNF-2", "PUR-1", "0.01", text="冻结金额不足")
    env.append("APP-3", "PUR-1", 5)  # an emptied plan order takes money again
    assert env.balance("I1") == (fen(1000), fen(5)) and env.order("PUR-1")["unmatchAmount"] == D("5.00")
    env.audit_clean()
    env.custody_consistent()


def test_async_batch_appends_and_matches(plan_world):
    """ASYNC_TRANSACTION runs plan trades through the same executor: an append, a release of plan money,
    and a refused append (its detail FAIL, nothing of it written)."""
    from sqlalchemy import select

    from cunguan.custody import async_batches, async_runner
    from cunguan.db.tables.custody_async import custody_async_details

    env = plan_world
    env.purchase("PUR-1", "I1", "PLAN-A", 100)
    async_batches.accept(env.engine, env.clock, "6000000001", "1", {"batchNo": "BATCH-1", "bizDetails": [
        {"requestNo": "A-1", "tradeType": "INTELLIGENT_APPEND", "details": [
            {"bizType": "APPEND_FREEZE", "freezeRequestNo": "PUR-1", "amount": "400"}]},
        {"requestNo": "A-2", "tradeType": "TENDER", "projectNo": "R1", "details": [
            {"bizType": "TENDER", "freezeRequestNo": "PUR-1", "amount": "500"}]},
        {"requestNo": "A-3", "tradeType": "APPEND_FREEZE", "details": [
            {"bizType": "APPEND_FREEZE", "freezeRequestNo": "PUR-1", "amount": "500.01"}]}]})
    async_runner.run_until_idle(env.engine, env.clock)
    with env.engine.connect() as conn:
        status = dict(conn.execute(select(custody_async_details.c.request_no,
                                          custody_async_details.c.error_code)).all())
    assert status == {"A-1": None, "A-2": None, "A-3": "100014"}
    assert env.balance("I1") == (fen(500), 0) and env.matches("PUR-1") == {"R1": (fen(500), fen(500))}
    env.audit_clean()
    env.custody_consistent()
