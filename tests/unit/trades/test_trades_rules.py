"""The pure rules of the trade core: parsing, planning a trade against in-memory state, the project
status machine, exchange-asset `extend`. No database."""

from __future__ import annotations

import pytest

from cunguan.custody import projects
from cunguan.custody.errors import CustodyError
from cunguan.custody.trade_common import Party
from cunguan.custody.trade_rules import TradeState, parse_trade, plan_trade

P = "6000000001"


def _parties(*user_nos: str) -> dict[str, Party]:
    out = {f"SYS_GENERATE_00{i}": Party(f"SYS_GENERATE_00{i}", 100 + i, True, True, "PLATFORM") for i in range(8)}
    for n, no in enumerate(user_nos):
        out[no] = Party(no, n + 1, False, True, "INVESTOR")
    return out


def _project(**kw) -> dict:
    base = dict(id=1, project_no="PR", borrower_user_no="B", status="COLLECTING", ever_repaying=False,
                project_type="STANDARDPOWDER", project_amount_fen=100_000, loan_fen=0, tender_frozen_fen=100_000,
                repaid_principal_fen=0, income_fen=0, compensated_fen=0, compensation_repaid_fen=0)
    base.update(kw)
    return base


def _order(no: str, user: str, amount: int, biz: str = "TENDER", **kw) -> dict:
    base = dict(id=hash(no) % 1000, request_no=no, platform_user_no=user, biz_type=biz, project_no="PR",
                amount_fen=amount, consumed_fen=0, released_fen=0, pre_marketing_fen=0, marketing_spent=False,
                share_fen=0, share_bought_fen=0, creditsale_request_no=None, status="FREEZED")
    base.update(kw)
    return base


def _code(fn) -> str:
    with pytest.raises(CustodyError) as info:
        fn()
    return info.value.code


def test_parse_trade_fields():
    t = parse_trade("R1", {"tradeType": "TENDER", "projectNo": "PR", "details": [
        {"bizType": "TENDER", "freezeRequestNo": "F", "amount": "1.5", "income": None, "share": ""}]})
    assert t.details[0].amount_fen == 150 and t.details[0].income_fen == 0 and t.details[0].share_fen is None
    assert _code(lambda: parse_trade("R", {"tradeType": "TENDER", "details": []})) == "100002"
    assert _code(lambda: parse_trade("R", {"tradeType": "X", "details": [{}]})) == "100002"
    assert _code(lambda: parse_trade("R", {"tradeType": "REPAYMENT", "projectNo": "P", "details": [
        {"bizType": "REPAYMENT", "amount": "1", "income": "2"}]})) == "100002"
    assert _code(lambda: parse_trade("R", {"tradeType": "MARKETING", "details": [
        {"bizType": "TENDER", "amount": "1"}]})) == "100002"
    assert _code(lambda: parse_trade("R", {"tradeType": "TENDER", "projectNo": "P", "details": [
        {"bizType": "TENDER", "amount": 0.5}]})) == "100002"  # a binary float is never taken
    assert parse_trade("R", {"tradeType": "AUTO_TENDER", "projectNo": "P", "details": [
        {"bizType": "TENDER", "amount": 1}]}).base_type == "TENDER"


def test_plan_release_with_commission_and_red_packet():
    orders = {"F1": _order("F1", "I1", 60_000, pre_marketing_fen=500), "F2": _order("F2", "I2", 40_000)}
    state = TradeState(P, _project(), None, orders, _parties("B", "I1", "I2"), {})
    req = parse_trade("REL", {"tradeType": "TENDER", "projectNo": "PR", "details": [
        {"bizType": "TENDER", "freezeRequestNo": "F1", "amount": "600"},
        {"bizType": "TENDER", "freezeRequestNo": "F2", "amount": "400"},
        {"bizType": "COMMISSION", "sourcePlatformUserNo": "B", "amount": "10"},
        {"bizType": "MARKETING", "freezeRequestNo": "F1", "amount": "5"}]})
    plan = plan_trade(req, state)
    assert [(m.source.user_no, m.target.user_no, m.amount_fen, m.freeze_request_no) for m in plan.moves] == [
        ("I1", "B", 60_000, "F1"), ("I2", "B", 40_000, "F2"), ("B", "SYS_GENERATE_004", 1_000, None),
        ("SYS_GENERATE_002", "B", 500, None)]
    assert dict(plan.share_deltas) == {"I1": [60_000, 0], "I2": [40_000, 0]}
    assert plan.project_deltas["loan_fen"] == 100_000 and plan.project_deltas["tender_frozen_fen"] == -100_000
    assert plan.marketing_spent == {"F1"}


def test_plan_refusals():
    orders = {"F1": _order("F1", "I1", 60_000, pre_marketing_fen=500)}
    state = TradeState(P, _project(), None, orders, _parties("B", "I1"), {})

    def plan(details, trade_type="TENDER", project=None):
        st = state if project is None else TradeState(P, project, None, orders, state.parties, {})
        return plan_trade(parse_trade("X", {"tradeType": trade_type, "projectNo": "PR", "details": details}), st)

    tender = {"bizType": "TENDER", "freezeRequestNo": "F1", "amount": "600"}
    assert _code(lambda: plan([{**tender, "amount": "600.01"}])) == "100014"
    assert _code(lambda: plan([tender, {**tender, "amount": "0.01"}])) == "100014"  # one freeze, counted together
    assert _code(lambda: plan([{**tender, "freezeRequestNo": "NO"}])) == "100007"
    assert _code(lambda: plan([tender], project=_project(status="MISCARRY"))) == "100015"
    assert _code(lambda: plan([tender], project=_project(status="FINISH", ever_repaying=True))) == "100015"
    assert _code(lambda: plan([tender, {"bizType": "MARKETING", "freezeRequestNo": "F1", "amount": "4"}])) == "100008"
    assert _code(lambda: plan([{"bizType": "MARKETING", "freezeRequestNo": "F1", "amount": "5"}])) == "100008"
    assert _code(lambda: plan([tender], project=_project(tender_frozen_fen=0, loan_fen=50_000))) == "100008"
    assert _code(lambda: plan([{**tender, "sourcePlatformUserNo": "B"}])) == "100008"
    assert _code(lambda: plan([{"bizType": "REPAYMENT", "freezeRequestNo": "F1", "targetPlatformUserNo": "I1",
                                "amount": "1"}], "REPAYMENT", _project(status="REPAYING"))) == "100019"


def test_plan_repayment_creditor_check_and_income():
    orders = {"RF": _order("RF", "B", 200_000, "REPAYMENT")}
    project = _project(status="REPAYING", ever_repaying=True, loan_fen=100_000, tender_frozen_fen=0)
    held = {"I1": {"id": 1, "principal_fen": 60_000, "locked_fen": 10_000}}
    state = TradeState(P, project, None, orders, _parties("B", "I1"), held)

    def plan(*details):
        return plan_trade(parse_trade("X", {"tradeType": "REPAYMENT", "projectNo": "PR", "details": list(details)}),
                          state)

    ok = plan({"bizType": "REPAYMENT", "freezeRequestNo": "RF", "targetPlatformUserNo": "I1", "amount": "530",
               "income": "30"})
    assert ok.project_deltas["repaid_principal_fen"] == 50_000 and ok.project_deltas["income_fen"] == 3_000
    assert ok.share_deltas["I1"] == [-50_000, 0]
    # 50.00 unlocked; 10.00 is locked on sale
    assert _code(lambda: plan({"bizType": "REPAYMENT", "freezeRequestNo": "RF", "targetPlatformUserNo": "I1",
                               "amount": "500.01"})) == "100008"
    assert _code(lambda: plan({"bizType": "REPAYMENT", "freezeRequestNo": "RF", "targetPlatformUserNo": "B2",
                               "amount": "1"})) == "100009"


def test_plan_credit_assignment_moves_share_at_any_price():
    sale = dict(id=9, request_no="S1", seller_user_no="I1", project_no="PR", sale_share_fen=30_000, sold_fen=0,
                reserved_fen=20_000, cancelled_fen=0, status="ONSALE")
    orders = {"BF": _order("BF", "BUY", 25_000, "CREDIT_ASSIGNMENT", share_fen=20_000, creditsale_request_no="S1")}
    project = _project(status="REPAYING", ever_repaying=True, loan_fen=100_000, tender_frozen_fen=0)
    held = {"I1": {"id": 1, "principal_fen": 60_000, "locked_fen": 30_000}}
    state = TradeState(P, project, sale, orders, _parties("B", "I1", "BUY"), held)
    req = parse_trade("CA", {"tradeType": "CREDIT_ASSIGNMENT", "projectNo": "PR", "saleRequestNo": "S1", "details": [
        {"bizType": "CREDIT_ASSIGNMENT", "freezeRequestNo": "BF", "amount": "180"}]})
    plan = plan_trade(req, state)
    assert plan.share_deltas["I1"] == [-20_000, -20_000] and plan.share_deltas["BUY"] == [20_000, 0]
    assert plan.sale_sold_fen == 20_000 and plan.sale_unreserved_fen == 20_000 and not plan.sale_completed
    assert plan.moves[0].amount_fen == 18_000 and plan.moves[0].target.user_no == "I1"
    over = parse_trade("CA", {"tradeType": "CREDIT_ASSIGNMENT", "projectNo": "PR", "saleRequestNo": "S1", "details": [
        {"bizType": "CREDIT_ASSIGNMENT", "freezeRequestNo": "BF", "amount": "1", "share": "200.01"}]})
    assert _code(lambda: plan_trade(over, state)) == "100008"
    ended = TradeState(P, project, {**sale, "status": "COMPLETED"}, orders, state.parties, held)
    assert _code(lambda: plan_trade(req, ended)) == "100008"


def test_project_status_machine():
    p = dict(status="COLLECTING", loan_fen=0, repaid_principal_fen=0, compensated_fen=0)
    assert projects.transition_refusal(p, "COLLECTING") is not None
    assert projects.transition_refusal(p, "REPAYING") is not None  # nothing lent
    assert projects.transition_refusal(p, "MISCARRY") is None and projects.transition_refusal(p, "FINISH") is None
    lent = {**p, "loan_fen": 10}
    assert projects.transition_refusal(lent, "REPAYING") is None and projects.transition_refusal(lent, "MISCARRY")
    repaying = {**lent, "status": "REPAYING"}
    assert projects.transition_refusal(repaying, "FINISH") is not None  # principal outstanding
    assert projects.transition_refusal({**repaying, "repaid_principal_fen": 6, "compensated_fen": 4}, "FINISH") is None
    assert projects.transition_refusal({**p, "status": "MISCARRY"}, "COLLECTING") is not None


def test_extend_and_rate_parsing():
    assert projects.parse_extend(None) == (None, False)
    assert projects.parse_extend({"a": 1}) == ({"a": 1}, False)
    ext, exchange = projects.parse_extend('{"exchangeAsset": "Y", "originalContractNo": "C", "disbursementRecordNo": 7}')
    assert exchange and ext["disbursementRecordNo"] == 7
    assert _code(lambda: projects.parse_extend({"exchangeAsset": True})) == "100002"
    assert str(projects.parse_rate("0.15")) == "0.15"
    assert _code(lambda: projects.parse_rate(0.15)) == "100002"  # floats never
    assert _code(lambda: projects.parse_rate("-1")) == "100002"
