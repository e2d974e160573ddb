"""Each trade-core service: its happy path and every refusal, which must write nothing."""

from __future__ import annotations

from cunguan.custody import debentures, general_freezes, pre_transactions, projects, trade_queries
from cunguan.custody.trade_common import pre_key

from .conftest import P1, D, fen

# ---------------------------------------------------------------- projects


def test_establish_project_and_refusals(env):
    env.user("B", role="BORROWERS")
    env.user("OFF", role="BORROWERS", active=False)
    out = env.establish("P1", "B", "1000.50", projectDescription="desc", extend={"k": "v"})
    assert out["projectStatus"] == "COLLECTING"
    p = env.project("P1")
    assert p["project_amount_fen"] == fen("1000.50") and p["project_properties"] == "NEW" and not p["exchange_asset"]
    env.refused("100013", env.establish, "P1", "B", 5)  # same requestNo EST-P1
    env.refused("100008", env.run, projects.establish_project, {
        "requestNo": "EST-again", "platformUserNo": "B", "projectNo": "P1", "projectAmount": 5, "projectName": "x",
        "projectType": "STANDARDPOWDER", "annnualInterestRate": "0.1", "repaymentWay": "ONE_TIME_SERVICING"},
        field="projectNo")
    env.refused("100009", env.establish, "P2", "NOBODY", 5)
    env.refused("100010", env.establish, "P3", "OFF", 5)
    env.refused("100002", env.establish, "P4", "B", "0", field="projectAmount")
    env.refused("100002", env.establish, "P5", "B", "1.001", field="projectAmount")
    env.refused("100002", lambda: env.establish("P6", "B", 5, projectType="OTHER"), field="projectType")
    env.refused("100002", lambda: env.establish("P7", "B", 5, annnualInterestRate="abc"), field="annnualInterestRate")
    env.refused("100002", lambda: env.establish("P8", "B", 5, repaymentWay="X"), field="repaymentWay")
    env.refused("100002", lambda: env.establish("P9", "B", 5, extend="[1]"), field="extend")
    env.refused("100002", lambda: env.establish("P10", "B", 5, projectPeriod="-3"), field="projectPeriod")
    # the other rate spelling is accepted; the other platform has its own project numbers
    env.establish("P11", "B", 5, annnualInterestRate=None, annualInterestRate="0.2")
    env.user("B", role="BORROWERS", platform_no="6000000002")
    env.run(projects.establish_project, {
        "requestNo": "EST-P1", "platformUserNo": "B", "projectNo": "P1", "projectAmount": 5, "projectName": "x",
        "projectType": "STANDARDPOWDER", "annnualInterestRate": "0.1", "repaymentWay": "ONE_TIME_SERVICING"},
        platform_no="6000000002")


def test_exchange_asset_project(env):
    env.user("EX", role="BORROWERS")
    env.refused("100002", lambda: env.establish("X1", "EX", 100, extend={"exchangeAsset": True,
                                                                         "originalContractNo": "HT-1"}),
                field="extend.disbursementRecordNo")
    env.establish("X1", "EX", 100, extend={"exchangeAsset": "true", "originalContractNo": "HT-1",
                                           "disbursementRecordNo": "FK-9", "exchangeName": "海交所"})
    q = env.read(lambda c: projects.query_project_information(c, P1, {"projectNo": "X1"}))
    assert q["projectProperties"] == "STOCK" and q["extend"]["originalContractNo"] == "HT-1"


def test_modify_project_status_machine(env):
    env.user("B", role="BORROWERS")
    env.user("I", fund=100)
    env.establish("M1", "B", 100)
    env.refused("100008", env.modify, "M1", "COLLECTING", text="标的当前不能变更为:COLLECTING")
    env.refused("100008", env.modify, "M1", "REPAYING", text="标的当前不能变更为:REPAYING")  # nothing released
    env.refused("100007", env.modify, "NOPE", "FINISH")
    env.refused("100002", env.modify, "M1", "DONE")
    env.modify("M1", "FINISH")
    env.modify("M1", "MISCARRY")
    for target in ("COLLECTING", "FINISH", "REPAYING", "MISCARRY"):
        env.refused("100008", env.modify, "M1", target, text=f"标的当前不能变更为:{target}")
    err = env.refused("100008", env.modify, "M1", "FINISH")
    assert err.call_code == "0"


def test_query_project_unknown(env):
    env.user("B", role="BORROWERS")
    env.establish("Q1", "B", 100)
    from cunguan.custody.errors import CustodyError

    try:
        env.read(lambda c: projects.query_project_information(c, "6000000002", {"projectNo": "Q1"}))
    except CustodyError as err:
        assert err.code == "100007"
    else:
        raise AssertionError("another platform's project was visible")


# ---------------------------------------------------------------- pre-transactions


def test_bid_refusals(env):
    env.user("B", role="BORROWERS", fund=10)
    env.user("I", fund=100)
    env.user("POOR", fund=1)
    env.user("OFF", fund=100, active=False)
    env.establish("T1", "B", 100)
    env.refused("100014", env.bid, "BD-1", "POOR", "T1", 50)
    env.refused("100008", env.bid, "BD-2", "I", "T1", "100.01", text="raises")
    env.refused("100008", env.bid, "BD-3", "B", "T1", 5)  # the borrower
    env.refused("100007", env.bid, "BD-4", "I", "NOPE", 5)
    env.refused("100009", env.bid, "BD-5", "NOBODY", "T1", 5)
    env.refused("100010", env.bid, "BD-6", "OFF", "T1", 5)
    env.refused("100002", env.bid, "BD-7", "I", "T1", "-1", field="amount")
    env.refused("100002", lambda: env.bid("BD-8", "I", "T1", 5, biz_type="OTHER"), field="bizType")
    env.refused("100002", lambda: env.freeze_order("BD-9", "I", "T1", 5, "REPAYMENT", marketing="1"),
                field="preMarketingAmount")
    env.refused("100002", lambda: env.freeze_order("BD-10", "I", "T1", 5, "CREDIT_ASSIGNMENT"), field="share")
    env.bid("BD-OK", "I", "T1", 60, marketing="5")
    env.refused("100013", env.bid, "BD-OK", "I", "T1", 1)
    assert env.order("BD-OK")["pre_marketing_fen"] == fen(5)
    env.refused("100008", env.bid, "BD-11", "I", "T1", 41)  # 60 + 41 > 100
    env.refused("100015", lambda: env.freeze_order("RP-1", "B", "T1", 5, "REPAYMENT"))  # not REPAYING
    env.modify("T1", "MISCARRY")
    env.refused("100015", env.bid, "BD-12", "I", "T1", 1)
    env.audit_clean()


def test_cancel_pre_transaction(env):
    env.user("B", role="BORROWERS")
    env.user("I", fund=100)
    env.establish("C1", "B", 100)
    env.bid("BD-C", "I", "C1", 80)
    env.run(pre_transactions.cancel_pre_transaction, {"requestNo": "CX-1", "preTransactionNo": "BD-C",
                                                      "amount": "0.1", "commission": None, "profitDetails": None})
    assert env.balance("I") == (fen(100), fen("79.90")) and env.order("BD-C")["status"] == "FREEZED"
    assert env.project("C1")["tender_frozen_fen"] == fen("79.90")
    env.refused("100014", env.run, pre_transactions.cancel_pre_transaction,
                {"requestNo": "CX-2", "preTransactionNo": "BD-C", "amount": "79.91"}, text="冻结金额不足")
    env.refused("100007", env.run, pre_transactions.cancel_pre_transaction,
                {"requestNo": "CX-3", "preTransactionNo": "NOPE", "amount": "1"}, text="冻结订单不存在")
    env.run(pre_transactions.cancel_pre_transaction, {"requestNo": "CX-4", "preTransactionNo": "BD-C",
                                                      "amount": "79.90"})
    assert env.order("BD-C")["status"] == "UNFREEZED" and env.balance("I") == (fen(100), 0)
    assert env.project("C1")["tender_frozen_fen"] == 0
    env.refused("100014", env.run, pre_transactions.cancel_pre_transaction,
                {"requestNo": "CX-5", "preTransactionNo": "BD-C", "amount": "0.01"})
    recs = env.read(lambda c: trade_queries.trade_records(c, P1, "PRETRANSACTION", "BD-C", None))
    assert recs[0]["status"] == "UNFREEZED" and recs[0]["amount"] == 80 and recs[0]["bizType"] == "TENDER"
    recs = env.read(lambda c: trade_queries.trade_records(c, P1, "CANCEL_PRETRANSACTION", "CX-4", "I"))
    assert recs[0]["amount"] == D("79.90") and recs[0]["preTransactionNo"] == "BD-C"
    assert env.read(lambda c: trade_queries.trade_records(c, P1, "CANCEL_PRETRANSACTION", "CX-4", "X")) is None
    env.audit_clean()


def test_user_auto_pre_transaction(env):
    env.user("B", role="BORROWERS")
    env.user("I", fund=100)
    env.establish("A1", "B", 100)
    req = {"requestNo": "AU-1", "platformUserNo": "I", "bizType": "TENDER", "amount": "30", "projectNo": "A1"}
    env.refused("100011", env.run, pre_transactions.user_auto_pre_transaction, req)
    env.grant("I", "TENDER", cap="50")
    assert env.run(pre_transactions.user_auto_pre_transaction, req)["bizType"] == "TENDER"
    env.refused("100011", env.run, pre_transactions.user_auto_pre_transaction,
                {**req, "requestNo": "AU-2", "amount": "21"})  # cap 50, 30 used
    env.refused("100011", env.run, pre_transactions.user_auto_pre_transaction,
                {**req, "requestNo": "AU-3", "originalRechargeNo": "RC-1"}, text="not a recharge of this user")
    env.refused("100002", env.run, pre_transactions.user_auto_pre_transaction,
                {**req, "requestNo": "AU-4", "bizType": "REPAYMENT", "originalRechargeNo": "RC-1"})
    assert env.balance("I") == (fen(100), fen(30))


def test_freeze_pre_transaction(env):
    env.user("U", fund=10)
    out = env.run(pre_transactions.freeze_pre_transaction, {"requestNo": "FP-1", "platformUserNo": "U",
                                                            "bizType": "PRETRANSACTION", "amount": 4})
    assert out == {"requestNo": "FP-1", "bizType": "PRETRANSACTION"}
    env.refused("100002", env.run, pre_transactions.freeze_pre_transaction,
                {"requestNo": "FP-2", "platformUserNo": "U", "bizType": "TENDER", "amount": 1})
    env.refused("100014", env.run, pre_transactions.freeze_pre_transaction,
                {"requestNo": "FP-3", "platformUserNo": "U", "bizType": "PRETRANSACTION", "amount": "6.01"})
    assert env.order("FP-1")["project_no"] is None and env.balance("U") == (fen(10), fen(4))


# ---------------------------------------------------------------- general freezes


def test_freeze_and_unfreeze(env):
    env.user("U", fund=10)
    env.run(general_freezes.freeze, {"requestNo": "GF-1", "platformUserNo": "U", "amount": "3",
                                     "generaFreezeRequest": ""})
    env.run(general_freezes.freeze, {"generalFreezeRequestNo": "GG-1", "platformUserNo": "U", "amount": "2"})
    assert env.balance("U") == (fen(10), fen(5))
    env.refused("100002", env.run, general_freezes.freeze,
                {"requestNo": "GF-2", "generalFreezeRequestNo": "GG-2", "platformUserNo": "U", "amount": "1"})
    env.refused("100014", env.run, general_freezes.freeze, {"requestNo": "GF-3", "platformUserNo": "U", "amount": "6"})
    env.refused("100009", env.run, general_freezes.freeze, {"requestNo": "GF-4", "platformUserNo": "N", "amount": "1"})
    env.refused("100013", env.run, general_freezes.freeze, {"requestNo": "GG-1", "platformUserNo": "U", "amount": "1"})
    env.run(general_freezes.unfreeze, {"requestNo": "UF-1", "originalFreezeRequestNo": "GF-1", "platformUserNo": "U",
                                       "amount": "1"})
    env.refused("100014", env.run, general_freezes.unfreeze,
                {"requestNo": "UF-2", "originalFreezeRequestNo": "GF-1", "amount": "2.01"}, text="冻结金额不足")
    env.refused("100007", env.run, general_freezes.unfreeze,
                {"requestNo": "UF-3", "originalFreezeRequestNo": "NOPE", "amount": "1"}, text="冻结订单不存在")
    env.refused("100007", env.run, general_freezes.unfreeze,
                {"requestNo": "UF-4", "originalFreezeRequestNo": "GF-1", "platformUserNo": "X", "amount": "1"})
    env.run(general_freezes.unfreeze, {"requestNo": "UF-5", "originalFreezeRequestNo": "GG-1", "amount": "2"})
    assert env.balance("U") == (fen(10), fen(2))
    rec = env.read(lambda c: trade_queries.trade_records(c, P1, "GENERAL_FREEZE", "GG-1", "U"))
    assert rec[0]["status"] == "UNFREEZED" and rec[0]["generalFreezeRequestNo"] == "GG-1"
    assert env.read(lambda c: trade_queries.trade_records(c, P1, "GENERAL_FREEZE", "GG-1", None)) is None
    rec = env.read(lambda c: trade_queries.trade_records(c, P1, "FREEZE", "GF-1", None))
    assert rec[0]["status"] == "FREEZED" and rec[0]["amount"] == 3 and rec[0]["unfreezeAmount"] == 1
    assert env.read(lambda c: trade_queries.trade_records(c, P1, "UNFREEZE", "UF-1", "U"))[0]["amount"] == 1
    env.audit_clean()


# ---------------------------------------------------------------- debenture sales


def test_debenture_sale_refusals(raised):
    env = raised
    env.refused("100008", env.run, debentures.debenture_sale,
                {"requestNo": "S-1", "platformUserNo": "I1", "projectNo": "R1", "saleShare": "600.01"})
    env.refused("100008", env.run, debentures.debenture_sale,
                {"requestNo": "S-2", "platformUserNo": "B", "projectNo": "R1", "saleShare": "1"})
    env.refused("100007", env.run, debentures.debenture_sale,
                {"requestNo": "S-3", "platformUserNo": "I1", "projectNo": "NOPE", "saleShare": "1"})
    env.refused("100002", env.run, debentures.debenture_sale,
                {"requestNo": "S-4", "platformUserNo": "I1", "projectNo": "R1", "saleShare": "0"})
    env.run(debentures.debenture_sale, {"requestNo": "S-5", "platformUserNo": "I1", "projectNo": "R1",
                                        "saleShare": "600"})
    # a locked share is not repaid (creditor check counts the unlocked share only)
    env.fund("B", 10)
    env.freeze_order("BR", "B", "R1", 10, "REPAYMENT")
    env.refused("100008", env.trade, "RPL", {"tradeType": "REPAYMENT", "projectNo": "R1", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": "BR", "targetPlatformUserNo": "I1", "amount": "1"}]})
    env.refused("100008", lambda: env.freeze_order("BY", "I1", "R1", 5, "CREDIT_ASSIGNMENT", share="1",
                                                   creditsale_request_no="S-5"))  # the seller
    env.refused("100007", lambda: env.freeze_order("BY", "I2", "R1", 5, "CREDIT_ASSIGNMENT", share="1",
                                                   creditsale_request_no="NOPE"))
    rec = env.read(lambda c: trade_queries.trade_records(c, P1, "DEBENTURE_SALE", "S-5", None))
    assert rec[0]["status"] == "ONSALE" and rec[0]["saleShare"] == 600


# ---------------------------------------------------------------- trades


def _tender(project_no: str, *details: dict) -> dict:
    return {"tradeType": "TENDER", "projectNo": project_no, "details": list(details)}


def test_trade_refusals(env):
    env.user("B", role="BORROWERS")
    env.user("B2", role="BORROWERS")
    env.user("I", fund=200)
    env.fund("SYS_GENERATE_002", 1)
    env.establish("T1", "B", 100)
    env.establish("T2", "B2", 100)
    env.bid("BID-1", "I", "T1", 50, marketing="2")
    env.bid("BID-2", "I", "T2", 50)
    tender = {"bizType": "TENDER", "freezeRequestNo": "BID-1", "amount": "50"}
    env.refused("100002", env.trade, "TR-1", {"tradeType": "NOPE", "details": [tender]}, field="tradeType")
    env.refused("100002", env.trade, "TR-2", {"tradeType": "TENDER", "details": [tender]}, field="projectNo")
    env.refused("100002", env.trade, "TR-3", _tender("T1"), field="details")
    env.refused("100002", env.trade, "TR-4", _tender("T1", {**tender, "bizType": "REPAYMENT"}),
                field="details[0].bizType")
    env.refused("100002", env.trade, "TR-5", _tender("T1", {**tender, "amount": "0"}), field="details[0].amount")
    env.refused("100002", env.trade, "TR-6", _tender("T1", {**tender, "income": "1"}), field="details[0].income")
    env.refused("100007", env.trade, "TR-7", _tender("NOPE", tender))
    env.refused("100007", env.trade, "TR-8", _tender("T1", {**tender, "freezeRequestNo": "NOPE"}),
                text="冻结订单不存在")
    env.refused("100014", env.trade, "TR-9", _tender("T1", {**tender, "amount": "50.01"}), text="冻结金额不足")
    env.refused("100008", env.trade, "TR-10", _tender("T1", {**tender, "freezeRequestNo": "BID-2"}))  # other project
    env.refused("100008", env.trade, "TR-11", _tender("T1", {**tender, "targetPlatformUserNo": "B2"}))
    env.refused("100009", env.trade, "TR-12", _tender("T1", tender, {"bizType": "COMMISSION",
                                                                     "sourcePlatformUserNo": "GHOST", "amount": "1"}))
    # red packet: must equal the bid's preMarketingAmount and be paid once
    env.refused("100008", env.trade, "TR-13", _tender("T1", tender, {"bizType": "MARKETING",
                                                                     "freezeRequestNo": "BID-1", "amount": "1"}))
    env.refused("100002", env.trade, "TR-14", _tender("T1", tender, {"bizType": "MARKETING", "amount": "2"}))
    env.refused("100014", env.trade, "TR-15", _tender("T1", tender, {"bizType": "MARKETING",  # SYS_002 has 1.00
                                                                     "freezeRequestNo": "BID-1", "amount": "2"}))
    # a fee above what the trade credits to its payer needs a freeze
    env.refused("100002", env.trade, "TR-16", _tender("T1", tender, {"bizType": "COMMISSION",
                                                                     "sourcePlatformUserNo": "B", "amount": "51"}))
    # a fee from a user who gets nothing in this trade needs a freeze order
    env.refused("100002", env.trade, "TR-17", _tender("T1", tender, {"bizType": "COMMISSION",
                                                                     "sourcePlatformUserNo": "I", "amount": "1000"}))
    env.refused("100015", env.trade, "TR-18", {"tradeType": "REPAYMENT", "projectNo": "T1", "details": [
        {"bizType": "REPAYMENT", "sourcePlatformUserNo": "B", "targetPlatformUserNo": "I", "amount": "1"}]})
    env.refused("100006", env.trade, "TR-20", {"tradeType": "COMPEN_FREEZE", "details": []})
    env.trade("TR-OK", _tender("T1", tender))
    env.refused("100013", env.trade, "TR-OK", _tender("T1", tender))
    env.modify("T2", "MISCARRY")
    env.refused("100015", env.trade, "TR-21", _tender("T2", {**tender, "freezeRequestNo": "BID-2"}))
    env.audit_clean()


def test_freeze_type_mismatch_is_100019(raised):
    env = raised
    env.user("G", role="GUARANTEECORP", fund=100)
    env.freeze_order("GF", "G", "R1", 50, "COMPENSATORY")
    env.fund("B", 100)
    env.refused("100019", env.trade, "TX", {"tradeType": "REPAYMENT", "projectNo": "R1", "details": [
        {"bizType": "COMPENSATORY_REPAYMENT", "freezeRequestNo": "GF", "sourcePlatformUserNo": "G",
         "targetPlatformUserNo": "SYS_GENERATE_001", "amount": "1"}]})


def test_failed_project_spends_no_red_packet(env):
    env.user("B", role="BORROWERS")
    env.user("I1", fund=100)
    env.user("I2", fund=100)
    env.fund("SYS_GENERATE_002", 10)
    env.establish("F1", "B", 1000)
    env.bid("FB-1", "I1", "F1", 100, marketing="5")
    env.bid("FB-2", "I2", "F1", 70)
    env.modify("F1", "MISCARRY")
    for i, no in enumerate(("FB-1", "FB-2")):
        left = env.order(no)["amount_fen"]
        env.run(pre_transactions.cancel_pre_transaction, {"requestNo": f"FC-{i}", "preTransactionNo": no,
                                                          "amount": str(left / 100)})
    assert env.balance("I1") == (fen(100), 0) and env.balance("I2") == (fen(100), 0)
    assert env.balance("SYS_GENERATE_002") == (fen(10), 0)
    assert env.project("F1")["tender_frozen_fen"] == 0 and env.project("F1")["loan_fen"] == 0
    assert env.read(lambda c: c.exec_driver_sql("SELECT COUNT(*) FROM freezes WHERE key = ?"
                                                if c.dialect.name == "sqlite" else
                                                "SELECT COUNT(*) FROM freezes WHERE key = %s",
                                                (pre_key(P1, "FB-1"),)).scalar()) == 1
    env.audit_clean()
