"""Seed scenarios 1, 2, 9, 10 (custody.md): open account, recharge, withdraw T+1 with the audit mode,
T0 withdraw with an advance repaid by the settlement — over HTTP with the platform's LanmaoClient
against the live server and its workers, the platform receiving the bank's signed NOTIFYs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from cunguan.custody import advances, withdrawals
from cunguan.custody.sample_identities import make_card, make_prc_id, make_uscc
from cunguan.db.tx import run_in_transaction
from cunguan.notify import sms_gateway

from .scenario_kit import PASSWORD, PLATFORM_NO, D, fen


def test_scenario_01_open_account_personal_page_and_enterprise_review(w, bank, engine, clock):
    # personal: the four elements on the bank's page, checked against the card's bank, SMS, password
    name, id_no, card, mobile = "陈一", make_prc_id(dt.date(1990, 4, 5), seq=11), make_card(serial=4242), "13512345678"
    bank.add_card(card, real_name=name, id_card_no=id_no, mobile=mobile)
    b = w.browser()
    b.open("PERSONAL_REGISTER_EXPAND", {"platformUserNo": "P-1", "requestNo": "REG-P-1", "userRole": "INVESTOR",
                                        "checkType": "LIMIT", "idCardType": "PRC_ID",
                                        "userLimitType": "ID_CARD_NO_UNIQUE", "authList": "TENDER",
                                        "failTime": "20291231", "amount": "50000"})
    typed = {"real_name": name, "id_card_no": id_no, "bankcard_no": card, "mobile": mobile}
    b.post("sms", **typed)
    with engine.connect() as conn:
        code = sms_gateway.latest_code(conn, mobile)
    resp = b.callback(b.post("submit", **typed, sms_code=code, password=PASSWORD, password_confirm=PASSWORD))
    assert resp["status"] == "SUCCESS" and resp["accessType"] == "FULL_CHECKED" and resp["auditStatus"] == "PASSED"
    info = w.ok("QUERY_USER_INFORMATION", {"platformUserNo": "P-1"})
    assert info["userType"] == "PERSONAL" and info["activeStatus"] == "ACTIVATED" and info["authList"] == "TENDER"
    assert info["balance"] == 0 and info["idCardNo"] != id_no  # masked on the wire
    # the same ID number again (ID_CARD_NO_UNIQUE) and a minor are refused on the page: nothing opened
    minor_id, minor_card = make_prc_id(dt.date(2012, 1, 1), seq=12), make_card(serial=4243)
    bank.add_card(minor_card, real_name="陈小", id_card_no=minor_id, mobile="13512345679")
    for user_no, elems in (("P-2", {**typed, "bankcard_no": make_card(serial=4244)}),
                           ("P-3", {"real_name": "陈小", "id_card_no": minor_id, "bankcard_no": minor_card,
                                    "mobile": "13512345679"})):
        b.open("PERSONAL_REGISTER_EXPAND", {"platformUserNo": user_no, "requestNo": f"REG-{user_no}",
                                            "userRole": "INVESTOR", "checkType": "LIMIT", "idCardType": "PRC_ID",
                                            "userLimitType": "ID_CARD_NO_UNIQUE"})
        page = b.post("submit", **elems, sms_code="000000", password=PASSWORD, password_confirm=PASSWORD)
        assert 'id="error"' in page.text and 'id="callback-form"' not in page.text
        w.refused("QUERY_USER_INFORMATION", {"platformUserNo": user_no}, "100009")
    # enterprise: documents on the page, AUDIT until the bank's operators decide; the result is notified
    ent = {"platformUserNo": "E-1", "requestNo": "REG-E-1", "enterpriseName": "存管测试有限公司",
           "bankLicense": "J1000012345601", "unifiedCode": make_uscc(), "legal": "李四", "idCardType": "PRC_ID",
           "legalIdCardNo": make_prc_id(dt.date(1980, 5, 6), seq=78), "contact": "王五",
           "contactPhone": "010-88886666", "userRole": "BORROWERS", "bankcardNo": "110060149018000099999",
           "bankcode": "COMM"}
    b.open("ENTERPRISE_REGISTER", ent)
    resp = b.callback(b.post("submit", password="Ent-pass-1", password_confirm="Ent-pass-1"))
    assert resp["status"] == "SUCCESS" and resp["auditStatus"] == "AUDIT"
    b.open("ENTERPRISE_REGISTER", {**ent, "platformUserNo": "E-2", "requestNo": "REG-E-2",
                                   "unifiedCode": make_uscc("91110000600037342"),
                                   "legalIdCardNo": make_prc_id(dt.date(1980, 5, 6), seq=79)})
    b.callback(b.post("submit", password="Ent-pass-1", password_confirm="Ent-pass-1"))
    assert w.ok("QUERY_USER_INFORMATION", {"platformUserNo": "E-1"})["auditStatus"] == "AUDIT"
    from cunguan.custody import reviews

    run_in_transaction(engine, lambda c: reviews.review_user(c, clock, PLATFORM_NO, "E-1", operator_id="op-1",
                                                             decision="PASSED"))
    run_in_transaction(engine, lambda c: reviews.review_user(c, clock, PLATFORM_NO, "E-2", operator_id="op-1",
                                                             decision="BACK", remark="营业执照不清晰"))
    assert w.notified("PERSONAL_REGISTER_EXPAND", "REG-P-1")["platformUserNo"] == "P-1"
    assert w.notified("ENTERPRISE_REGISTER", "REG-E-1", auditStatus="AUDIT")["platformUserNo"] == "E-1"
    assert w.notified("ENTERPRISE_REGISTER", "REG-E-1", auditStatus="PASSED")["userRole"] == "BORROWERS"
    assert w.notified("ENTERPRISE_REGISTER", "REG-E-2", auditStatus="BACK")["platformUserNo"] == "E-2"
    info = w.ok("QUERY_USER_INFORMATION", {"platformUserNo": "E-1"})
    assert info["userType"] == "ORGANIZATION" and info["auditStatus"] == "PASSED" and info["activeStatus"] == "ACTIVATED"
    assert w.ok("QUERY_USER_INFORMATION", {"platformUserNo": "E-2"})["auditStatus"] == "BACK"
    w.finish()


def test_scenario_02_recharge_page_and_direct_unsettled_until_settlement(w, chromium, clock):
    w.register("R-1", auth_list="RECHARGE,TENDER,WITHDRAW")
    w.register("B-1", role="BORROWERS")
    form = w.client.gateway_form("RECHARGE", {
        "requestNo": "RC-PAGE-1", "platformUserNo": "R-1", "amount": "300.00", "commission": "1.00",
        "expectPayCompany": "FUIOU", "rechargeWay": "WEB", "redirectUrl": f"{w.site.url}/return",
        "expired": (clock.beijing_now() + dt.timedelta(minutes=20)).strftime("%Y%m%d%H%M%S")})
    context = chromium.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(w.site.start_page(form))
        page.wait_for_selector("#bank-form")
        page.fill("#f-password", PASSWORD)
        page.click("#submit")
        page.wait_for_selector("#received")
    finally:
        context.close()
    callback = w.client.verify_notification(w.site.callbacks[0])
    assert callback["requestNo"] == "RC-PAGE-1" and callback["rechargeStatus"] == "PENDDING"
    w.wait_for(lambda: w.recharge_status("RC-PAGE-1") == "SUCCESS", "page recharge credited")
    w.recharge("R-1", "200", "DR-1")  # DIRECT_RECHARGE under the RECHARGE authorization
    assert w.balance("R-1") == (fen(499), 0) and w.balance("SYS_GENERATE_004") == (fen(1), 0)
    assert w.unsettled("R-1") == fen(499)  # credited, not yet settled by the payment companies
    # credited money can be invested at once; it cannot be withdrawn T+1 before the settlement
    w.establish("PJ-2", "B-1", 1000)
    w.freeze("BID-2", "R-1", "PJ-2", "100")
    w.refused("AUTO_WITHDRAW", {"requestNo": "AW-2", "platformUserNo": "R-1", "withdrawType": "NORMAL",
                                "amount": "1"}, "100014", "余额不足")
    assert w.query_user("R-1") == (D("499.00"), D("399.00"), D("100.00"))
    rc = w.ok("QUERY_TRANSACTION", {"requestNo": "DR-1", "transactionType": "RECHARGE"})["records"][0]
    assert rc["status"] == "SUCCESS" and rc["amount"] == D("200.00")
    w.settle_next_day("R-1")
    assert w.unsettled("R-1") == 0 and w.balance("R-1") == (fen(499), fen(100))
    page_note = w.notified("RECHARGE", "RC-PAGE-1", rechargeStatus="SUCCESS")
    assert page_note["payCompany"] == "FUIOU" and page_note["amount"] == D("300.00")
    assert page_note["commission"] == D("1.00")
    assert w.notified("DIRECT_RECHARGE", "DR-1", rechargeStatus="SUCCESS")["amount"] == D("200.00")
    assert len(w.site.received("RECHARGE", lambda d: d["requestNo"] == "RC-PAGE-1")) == 1
    w.finish()


def test_scenario_09_withdraw_t_plus_1_and_audit_mode(w, engine, clock, live_server):
    w.register("W-1", auth_list="RECHARGE,WITHDRAW")
    w.recharge("W-1", "1000", "DR-W1")
    w.refused("AUTO_WITHDRAW", {"requestNo": "WD-0", "platformUserNo": "W-1", "withdrawType": "NORMAL",
                                "amount": "10"}, "100014")  # recharged today: not settled
    w.settle_next_day("W-1")
    # the page withdrawal (password), NORMAL = T+1, with the platform's commission
    b = w.browser()
    b.open("WITHDRAW", {"platformUserNo": "W-1", "requestNo": "WD-1", "withdrawType": "NORMAL", "amount": "100",
                        "commission": "2", "expired": (clock.beijing_now() + dt.timedelta(minutes=20))
                        .strftime("%Y%m%d%H%M%S")})
    resp = b.callback(b.post("submit", password=PASSWORD))
    assert resp["status"] == "SUCCESS" and resp["withdrawStatus"] == "ACCEPT"
    assert w.balance("W-1") == (fen(1000), fen(100))
    # audit mode: the platform holds withdrawals until it confirms (or cancels) them
    run_in_transaction(engine, lambda c: advances.set_settings(c, 1, PLATFORM_NO, audit_mode=True))
    for no in ("WD-2", "WD-3"):
        r = w.ok("AUTO_WITHDRAW", {"requestNo": no, "platformUserNo": "W-1", "withdrawType": "NORMAL",
                                   "amount": "50"})
        assert r["withdrawStatus"] == "CONFIRMING"
    assert w.ok("CONFIRM_WITHDRAW", {"requestNo": "CF-2", "preTransactionNo": "WD-2"})["withdrawStatus"] == "ACCEPT"
    w.ok("CANCEL_WITHDRAW", {"requestNo": "CN-3", "preTransactionNo": "WD-3"})
    w.refused("CANCEL_WITHDRAW", {"requestNo": "CN-3b", "preTransactionNo": "WD-3"}, "100008", "冻结金额不足")
    assert w.balance("W-1") == (fen(1000), fen(150))
    # the 23:00 cut-off hands them to the payout channel; paid on the next working day
    clock.set(dt.datetime.combine(clock.beijing_date(), dt.time(23, 5), clock.beijing_now().tzinfo))
    w.wait_for(lambda: _status(engine, "WD-1") == "REMITING" and _status(engine, "WD-2") == "REMITING",
               "the NORMAL payouts handed over at the cut-off")
    channel = live_server.app.state.money_runtime.channel
    w.wait_for(lambda: all(channel.received_count(_order(engine, no)) == 1 for no in ("WD-1", "WD-2")), "the channel took both payouts")
    assert w.balance("W-1") == (fen(1000) - fen(98) - fen(50), fen(2))  # the payout part left custody
    from cunguan.calendar_cn import next_working_day

    paid_day = next_working_day(clock.beijing_date())
    clock.set(dt.datetime.combine(paid_day, dt.time(10, 30), clock.beijing_now().tzinfo))
    note = w.notified("WITHDRAW", "WD-1", withdrawStatus="SUCCESS")
    assert note["amount"] == D("100.00") and note["commission"] == D("2.00") and note["remitType"] == "NORMAL"
    assert w.notified("AUTO_WITHDRAW", "WD-2", withdrawStatus="SUCCESS")["amount"] == D("50.00")
    assert w.notified("AUTO_WITHDRAW", "WD-2", withdrawStatus="CONFIRMING")["requestNo"] == "WD-2"
    assert w.notified("AUTO_WITHDRAW", "WD-3", withdrawStatus="CONFIRMING")["requestNo"] == "WD-3"
    assert w.balance("W-1") == (fen(850), 0) and w.balance("SYS_GENERATE_004") == (fen(2), 0)
    w.finish()


def _status(engine, request_no: str) -> str | None:
    with engine.connect() as conn:
        row = withdrawals.find_withdrawal(conn, PLATFORM_NO, request_no)
    return None if row is None else row["status"]


def test_scenario_10_t0_advance_repaid_by_the_settlement(w, engine, clock):
    w.register("T-1", auth_list="RECHARGE,WITHDRAW")
    run_in_transaction(engine, lambda c: advances.set_settings(c, 1, PLATFORM_NO, advance_mode="PLATFORM"))
    w.fund_system("SYS_GENERATE_007", 500)
    w.recharge("T-1", "300", "DR-T1")
    r = w.ok("AUTO_WITHDRAW", {"requestNo": "T0-1", "platformUserNo": "T-1", "withdrawType": "URGENT",
                               "amount": "200"})
    assert r["withdrawStatus"] == "ACCEPT" and Decimal(str(r["floatAmount"])) == D("200.00")
    assert w.balance("SYS_GENERATE_007") == (fen(500), fen(200))  # the advance is earmarked
    w.wait_for(lambda: _remitting(engine, "T0-1"), "the T0 payout handed to the channel")
    clock.advance(dt.timedelta(seconds=30))
    note = w.notified("AUTO_WITHDRAW", "T0-1", withdrawStatus="SUCCESS")
    assert note["remitType"] == "URGENT" and note["floatAmount"] == D("200.00")
    assert w.balance("T-1") == (fen(100), 0)
    with engine.connect() as conn:
        assert advances.outstanding_for_user(conn, PLATFORM_NO, "T-1") == fen(200)
    w.settle_next_day("T-1")
    w.wait_for(lambda: _outstanding(engine, "T-1") == 0, "the advance repaid by the settlement")
    assert w.balance("SYS_GENERATE_007") == (fen(500), 0)
    w.finish()


def _order(engine, request_no: str) -> str:
    with engine.connect() as conn:
        return withdrawals.find_withdrawal(conn, PLATFORM_NO, request_no)["order_no"]


def _remitting(engine, request_no: str) -> bool:
    """Handed to the channel and the channel's answer recorded (the next look is due with the payout)."""
    with engine.connect() as conn:
        row = withdrawals.find_withdrawal(conn, PLATFORM_NO, request_no)
    return row["status"] == "REMITING" and row["next_check_us"] <= row["remit_us"] + 30_000_000


def _outstanding(engine, user_no: str) -> int:
    with engine.connect() as conn:
        return advances.outstanding_for_user(conn, PLATFORM_NO, user_no)



def test_concurrent_withdrawals_bids_and_freezes_on_one_account(w):
    """24 platform requests at once against one investor's 1,000.00 — AUTO_WITHDRAW, bids
    (USER_AUTO_PRE_TRANSACTION) and general FREEZEs of 100.00 each, over HTTP to the live server: exactly
    ten succeed, the rest are refused for the balance (100014), the account never goes below zero
    available, and the books balance."""
    from concurrent.futures import ThreadPoolExecutor

    w.register("CB", role="BORROWERS")
    w.register("CU", auth_list="RECHARGE,WITHDRAW,TENDER")
    w.recharge("CU", "1000")
    w.settle_next_day("CU")
    w.establish("PJ-CC", "CB", "5000")

    def request(i: int):
        no = f"CC-{i}"
        if i % 3 == 0:
            return w.call("AUTO_WITHDRAW", {"requestNo": no, "platformUserNo": "CU", "withdrawType": "NORMAL",
                                            "amount": "100"})
        if i % 3 == 1:
            return w.call("USER_AUTO_PRE_TRANSACTION", {"requestNo": no, "platformUserNo": "CU", "bizType": "TENDER",
                                                        "amount": "100", "projectNo": "PJ-CC"})
        return w.call("FREEZE", {"requestNo": no, "platformUserNo": "CU", "amount": "100"})

    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(request, range(24)))
    ok = [r for r in results if r.outcome == "S"]
    assert len(ok) == 10, [r.data for r in results]
    assert {r.data["errorCode"] for r in results if r.outcome != "S"} <= {"100014"}
    balance, frozen = w.balance("CU")
    assert balance == fen(1000) and frozen == fen(1000)  # withdrawals wait for the cut-off: still held
    assert w.query_user("CU") == (D("1000.00"), D("0.00"), D("1000.00"))
    w.finish()
