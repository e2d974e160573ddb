"""Each plan service's refusals write nothing (business rows, postings, freezes, register, authorizations)."""

from __future__ import annotations

from decimal import Decimal

from cunguan.custody import debentures, plans, pre_transactions

from .conftest import fen

D = Decimal


def test_establish(plan_world):
    env = plan_world
    out = env.establish_plan("PLAN-B", rate="0.095")
    assert out == {"requestNo": "EST-PLAN-B", "intelProjectNo": "PLAN-B"}
    env.refused("100008", env.establish_plan, "PLAN-B", "0.1", "EST-2", field="intelProjectNo")
    env.refused("100013", env.establish_plan, "PLAN-C", "0.1", "EST-PLAN-B")
    env.refused("100002", env.establish_plan, "PLAN-C", "abc", "EST-3", field="annualInterestRate")
    env.refused("100002", env.run, plans.establish_intelligent_project,
                {"requestNo": "EST-4", "intelProjectNo": "PLAN-D", "annualInterestRate": "0.1"},
                field="intelProjectName")
    # the ESTABLISH_PROJECT spelling is accepted too
    env.run(plans.establish_intelligent_project, {"requestNo": "EST-5", "intelProjectNo": "PLAN-E",
                                                  "intelProjectName": "E", "annnualInterestRate": "0.07"})


def test_purchase_refusals(plan_world):
    env = plan_world
    env.user("I9", fund=100)  # no TENDER authorization
    env.refused("100011", env.purchase, "PUR-9", "I9", "PLAN-A", 10)
    env.refused("100007", env.purchase, "PUR-1", "I1", "NO-PLAN", 10, field="intelProjectNo")
    env.refused("100014", env.purchase, "PUR-1", "I1", "PLAN-A", "1000.01")
    env.refused("100009", env.purchase, "PUR-1", "NOBODY", "PLAN-A", 10)
    env.refused("100008", env.purchase, "PUR-1", "SYS_GENERATE_005", "PLAN-A", 10)
    env.refused("100002", env.purchase, "PUR-1", "I1", "PLAN-A", "1.001", field="amount")
    env.grant("I9", "TENDER", cap="50")
    env.refused("100011", env.purchase, "PUR-9", "I9", "PLAN-A", "50.01")
    env.purchase("PUR-9", "I9", "PLAN-A", 50)
    env.refused("100013", env.purchase, "PUR-9", "I9", "PLAN-A", 1)
    assert env.balance("I9") == (fen(100), fen(50))
    env.audit_clean()


def test_append_refusals(plan_world):
    env = plan_world
    env.purchase("PUR-1", "I1", "PLAN-A", 100)
    env.run(pre_transactions.user_auto_pre_transaction, {"requestNo": "BID-1", "platformUserNo": "I2",
                                                         "bizType": "TENDER", "amount": "10", "projectNo": "R1"})
    env.refused("100007", env.append, "APP-1", "NO-ORDER", 1, field="details[0].freezeRequestNo")
    env.refused("100019", env.append, "APP-1", "BID-1", 1, field="details[0].freezeRequestNo")
    env.refused("100008", env.trade, "APP-1", {"tradeType": "INTELLIGENT_APPEND", "details": [
        {"bizType": "APPEND_FREEZE", "freezeRequestNo": "PUR-1", "sourcePlatformUserNo": "I2", "amount": "1"}]})
    env.refused("100002", env.trade, "APP-1", {"tradeType": "INTELLIGENT_APPEND", "details": [
        {"bizType": "APPEND_FREEZE", "freezeRequestNo": "PUR-1", "targetPlatformUserNo": "I2", "amount": "1"}]})
    env.refused("100014", env.append, "APP-1", "PUR-1", "900.01")
    env.refused("100002", env.trade, "APP-1", {"tradeType": "INTELLIGENT_APPEND", "details": [
        {"bizType": "TENDER", "freezeRequestNo": "PUR-1", "amount": "1"}]}, field="details[0].bizType")
    env.refused("100002", env.trade, "APP-1", {"tradeType": "INTELLIGENT_APPEND", "details": [
        {"bizType": "APPEND_FREEZE", "amount": "1"}]}, field="details[0].freezeRequestNo")
    env.refused("100002", env.trade, "APP-1", {"tradeType": "INTELLIGENT_APPEND", "projectNo": "R1", "details": [
        {"bizType": "APPEND_FREEZE", "freezeRequestNo": "PUR-1", "amount": "1"}]}, field="projectNo")
    env.refused("100002", env.trade, "APP-1", {"tradeType": "APPEND_FREEZE", "details": []}, field="details")
    # an APPEND_FREEZE detail is not a detail of ordinary trades
    env.refused("100002", env.trade, "APP-1", {"tradeType": "MARKETING", "details": [
        {"bizType": "APPEND_FREEZE", "freezeRequestNo": "PUR-1", "amount": "1"}]})
    env.append("APP-1", "PUR-1", 1)
    env.refused("100013", env.append, "APP-1", "PUR-1", 1)
    assert env.balance("I1") == (fen(1000), fen(101))
    env.audit_clean()


def test_match_refusals(plan_world):
    env = plan_world
    env.purchase("PUR-1", "I1", "PLAN-A", 600)
    # a plan freeze released above what the project raises, or above what the plan holds unmatched
    env.refused("100008", env.release, "REL-1", "R1", [("PUR-1", "500.01")])
    env.refused("100014", env.release, "REL-1", "R2", [("PUR-1", "600.01")])
    env.release("REL-1", "R2", [("PUR-1", 550)])
    env.refused("100014", env.release, "REL-2", "R1", [("PUR-1", "50.01")])
    # a plan order pays TENDER only: not a repayment, not a debenture purchase
    env.modify("R2", "REPAYING")
    env.refused("100019", env.trade, "REP-X", {"tradeType": "REPAYMENT", "projectNo": "R2", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "PUR-1", "targetPlatformUserNo": "I2", "amount": "1"}]})
    # CANCEL_PRE_TRANSACTION does not reach a plan order (exit is INTELLIGENT_PROJECT_UNFREEZE)
    env.refused("100007", env.run, pre_transactions.cancel_pre_transaction,
                {"requestNo": "CXL-1", "preTransactionNo": "PUR-1", "amount": "1"})
    env.audit_clean()


def test_unfreeze_refusals(plan_world):
    env = plan_world
    env.purchase("PUR-1", "I1", "PLAN-A", 100)
    env.refused("100007", env.unfreeze, "UNF-1", "NO-ORDER", 1, field="intelRequestNo")
    env.refused("100014", env.unfreeze, "UNF-1", "PUR-1", "100.01", text="冻结金额不足")
    env.refused("100002", env.unfreeze, "UNF-1", "PUR-1", 0)
    env.unfreeze("UNF-1", "PUR-1", 40)
    env.refused("100013", env.unfreeze, "UNF-1", "PUR-1", 1)
    env.unfreeze("UNF-2", "PUR-1", 60)
    assert env.balance("I1") == (fen(1000), 0) and env.order("PUR-1")["unmatchAmount"] == 0
    env.refused("100014", env.unfreeze, "UNF-3", "PUR-1", "0.01")
    env.audit_clean()


def _sale(env, request_no, *offers):
    return env.run(plans.intelligent_project_debenture_sale, {"requestNo": request_no, "details": [
        {"saleRequestNo": s, "intelRequestNo": o, "platformUserNo": u, "projectNo": p, "saleShare": str(a)}
        for s, o, u, p, a in offers]})


def test_plan_sale_all_or_none(plan_world):
    env = plan_world
    env.purchase("PUR-1", "I1", "PLAN-A", 300)
    env.purchase("PUR-2", "I2", "PLAN-A", 200)
    env.release("REL-1", "R1", [("PUR-1", 300), ("PUR-2", 200)])
    ok1 = ("S-1", "PUR-1", "I1", "R1", 100)
    env.refused("100015", _sale, env, "PS-1", ok1)  # R1 is not REPAYING yet
    env.modify("R1", "REPAYING")
    env.refused("100008", _sale, env, "PS-1", ok1, ("S-2", "PUR-2", "I2", "R1", "200.01"),
                field="details[1].saleShare")
    env.refused("100008", _sale, env, "PS-1", ok1, ("S-2", "PUR-2", "I1", "R1", 10),
                field="details[1].platformUserNo")
    env.refused("100007", _sale, env, "PS-1", ok1, ("S-2", "PUR-X", "I2", "R1", 10),
                field="details[1].intelRequestNo")
    env.refused("100007", _sale, env, "PS-1", ok1, ("S-2", "PUR-2", "I2", "R-NONE", 10))
    env.refused("100008", _sale, env, "PS-1", ok1, ("S-2", "PUR-2", "I2", "R2", 10), field="details[1].projectNo")
    env.refused("100002", _sale, env, "PS-1", ok1, ("S-1", "PUR-2", "I2", "R1", 10))
    env.refused("100002", env.run, plans.intelligent_project_debenture_sale, {"requestNo": "PS-1", "details": []})
    _sale(env, "PS-1", ok1, ("S-2", "PUR-1", "I1", "R1", 150))
    assert env.holdings("R1")["I1"] == (fen(300), fen(250))
    # only the plan share not on sale can be offered again
    env.refused("100008", _sale, env, "PS-2", ("S-3", "PUR-1", "I1", "R1", "50.01"))
    env.refused("100013", _sale, env, "PS-2", ("S-1", "PUR-1", "I1", "R1", 1))
    # a cancelled plan sale gives the share back to the plan (offerable, repayable)
    env.run(debentures.cancel_debenture_sale, {"requestNo": "CX-1", "creditsaleRequestNo": "S-2"})
    _sale(env, "PS-2", ("S-3", "PUR-1", "I1", "R1", 200))
    assert env.holdings("R1")["I1"] == (fen(300), fen(300))
    env.audit_clean()


def test_query_order(plan_world):
    env = plan_world
    env.refused("100007", env.order, "NO-ORDER")
    env.purchase("PUR-1", "I1", "PLAN-A", "123.45")
    q = env.order("PUR-1")
    assert q == {"requestNo": "PUR-1", "platformUserNo": "I1", "amount": D("123.45"), "annualInterestRate": D("0.08"),
                 "intelProjectNo": "PLAN-A", "unmatchAmount": D("123.45"), "details": []}
