"""RECHARGE / DIRECT_RECHARGE against the simulated payment companies: credit once, notify as the
spec says, refusals write nothing, recharge-and-bid authority."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from cunguan.custody import recharges
from cunguan.custody.errors import NOT_PERMITTED
from cunguan.custody.user_errors import DuplicateRequest, InvalidField, NotAuthorized, UserNotFound
from cunguan.db.tables.ledger import postings
from cunguan.payments.gateway import ChannelError
from cunguan.payments.simulator import PayFault

from .conftest import P1


def _order(money, request_no: str) -> str:
    return money.recharge_row(request_no)["order_no"]


def test_recharge_credits_net_and_commission_once_success_notified(money):
    money.user("U1")
    result = money.recharge("U1", "RC-1", "1000.00", commission="10.50")
    assert result.recharge_status == "PENDDING"
    assert money.balance("U1") == (0, 0)
    money.rt.run_until_idle()
    row = money.recharge_row("RC-1")
    assert row["status"] == "SUCCESS" and row["pay_date"] == "20261123"
    assert money.balance("U1") == (98_950, 0)
    assert money.balance("SYS_GENERATE_004") == (1_050, 0)
    assert money.custody_cash() == -100_000
    notes = money.notifies("RECHARGE", "RC-1")
    assert len(notes) == 1
    assert notes[0]["rechargeStatus"] == "SUCCESS" and notes[0]["payCompany"] == "YEEPAY"
    assert Decimal(str(notes[0]["amount"])) == Decimal("1000.00")
    assert Decimal(str(notes[0]["commission"])) == Decimal("10.50")
    assert "channelErrorCode" not in notes[0]
    assert money.unsettled("U1") == 98_950


def test_duplicate_and_late_notifications_credit_once(money):
    money.user("U1")
    money.recharge("U1", "RC-DUP", "200")
    sim = money.rt.simulators["YEEPAY"]
    sim.faults.by_order[_order(money, "RC-DUP")] = PayFault(duplicates=3, notify_delay_s=600)
    money.rt.tick()  # started: PENDDING, the notification is 10 minutes late
    assert money.recharge_row("RC-DUP")["status"] == "PENDDING"
    money.clock.advance(dt.timedelta(seconds=61))
    money.rt.tick()  # our query learns the result first
    assert money.recharge_row("RC-DUP")["status"] == "SUCCESS"
    money.clock.advance(dt.timedelta(minutes=20))
    delivered = money.rt.deliver_notifications()
    assert delivered == 4  # the late one and its three duplicates: all taken, none applied
    assert money.balance("U1") == (20_000, 0)
    assert len(money.notifies("RECHARGE", "RC-DUP")) == 1
    refs = money.read(lambda c: c.execute(postings.select().where(
        postings.c.ref == f"recharge:{money.recharge_row('RC-DUP')['id']}")).all())
    assert len(refs) == 1


def test_duplicate_notifications_before_any_query(money):
    money.user("U1")
    money.recharge("U1", "RC-D2", "50")
    money.rt.simulators["YEEPAY"].faults.by_order[_order(money, "RC-D2")] = PayFault(duplicates=2)
    money.rt.tick()
    money.clock.advance(dt.timedelta(seconds=5))
    money.rt.run_until_idle()
    assert money.balance("U1") == (5_000, 0)
    assert len(money.notifies("RECHARGE", "RC-D2")) == 1


def test_failure_is_silent_by_default_and_notified_with_direct_callback(money):
    money.user("U1")
    money.recharge("U1", "RC-F1", "100")
    money.recharge("U1", "RC-F2", "100", callback_mode="DIRECT_CALLBACK")
    sim = money.rt.simulators["YEEPAY"]
    for no in ("RC-F1", "RC-F2"):
        sim.faults.by_order[_order(money, no)] = PayFault.fail(ChannelError.INSUFFICIENT_BALANCE)
    money.rt.run_until_idle()
    assert money.recharge_row("RC-F1")["status"] == "FAIL"
    assert money.recharge_row("RC-F2")["status"] == "FAIL"
    assert money.balance("U1") == (0, 0)
    assert money.notifies("RECHARGE", "RC-F1") == []
    notes = money.notifies("RECHARGE", "RC-F2")
    assert [n["rechargeStatus"] for n in notes] == ["PENDDING", "FAIL"]
    assert notes[1]["channelErrorCode"] == "CE01" and notes[1]["channelErrorMessage"] == "卡余额不足"


def test_rejected_at_start_fails_at_once(money):
    money.user("U1")
    money.recharge("U1", "RC-RJ", "100", callback_mode="DIRECT_CALLBACK")
    money.rt.simulators["YEEPAY"].faults.by_order[_order(money, "RC-RJ")] = PayFault.fail(
        ChannelError.RISK_REJECTED, reject=True)
    money.rt.tick()
    assert money.recharge_row("RC-RJ")["status"] == "FAIL"
    assert [n["rechargeStatus"] for n in money.notifies("RECHARGE", "RC-RJ")] == ["FAIL"]


def test_lost_start_is_restarted_with_the_same_order_and_charged_once(money):
    money.user("U1")
    money.recharge("U1", "RC-LOST", "300")
    order = _order(money, "RC-LOST")
    sim = money.rt.simulators["YEEPAY"]
    sim.faults.by_order[order] = PayFault(timeout=True, lost=True)
    money.rt.tick()
    assert money.recharge_row("RC-LOST")["start_state"] == "UNKNOWN"
    assert sim.received_count(order) == 0
    money.clock.advance(dt.timedelta(seconds=61))
    money.rt.run_until_idle()
    assert money.recharge_row("RC-LOST")["status"] == "SUCCESS"
    assert sim.received_count(order) == 1 and sim.charged_total_fen([order]) == 30_000
    assert money.balance("U1") == (30_000, 0)


def test_swift_uses_the_bound_card(money):
    money.user("U1")
    money.recharge("U1", "RC-SW", "100", recharge_way="SWIFT", bankcode="ICBK")
    money.rt.run_until_idle()
    row = money.recharge_row("RC-SW")
    assert row["status"] == "SUCCESS" and row["pay_way"] == "SWIFT"
    note = money.notifies("RECHARGE", "RC-SW")[0]
    assert note["bankcode"] == "ICBK" and "****" in note["payMobile"]


@pytest.mark.parametrize(("kw", "code", "field"), [
    ({"amount": "0"}, "100002", "amount"),
    ({"amount": "1.001"}, "100002", "amount"),
    ({"commission": "100"}, "100002", "commission"),
    ({"expect_pay_company": "NOPAY"}, "100002", "expectPayCompany"),
    ({"recharge_way": "SWIFT"}, "100002", "bankcode"),
    ({"recharge_way": "SWIFT", "bankcode": "CMBC"}, "100002", "bankcode"),
    ({"recharge_way": "WEB", "bankcode": "ICBK"}, "100002", "payType"),
    ({"recharge_way": "PROXY"}, "100002", "rechargeWay"),
    ({"authtrade_type": "TENDER", "authtender_amount": "50"}, "100002", "projectNo"),
    ({"callback_mode": "ALWAYS"}, "100002", "callbackMode"),
])
def test_refused_recharges_write_nothing(money, nothing_written, kw, code, field):
    money.user("U1")
    kw = {"amount": "100", **kw}
    req = money.recharge_request("U1", "RC-BAD", **kw)
    with nothing_written(), pytest.raises(InvalidField) as err:
        money.tx(lambda c: recharges.recharge(c, money.clock, P1, req))
    assert err.value.code == code and err.value.field == field


def test_company_not_enabled_is_100006_and_unknown_user_100009(money, nothing_written):
    from cunguan.custody.money_errors import PaymentRouteRefused

    money.user("U1")
    money.rt.cloud._companies.pop(money.rt.cloud.company("FUIOU").code)  # the bank has no FUIOU line
    with nothing_written():
        with pytest.raises(PaymentRouteRefused) as err:
            money.recharge("U1", "RC-X", "100", expect_pay_company="FUIOU")
        assert err.value.code == "100006"
        with pytest.raises(UserNotFound):
            money.recharge("NOBODY", "RC-Y", "100")


def test_duplicate_request_no_is_100013_and_writes_nothing(money, nothing_written):
    money.user("U1")
    money.recharge("U1", "RC-SAME", "100")
    with nothing_written(), pytest.raises(DuplicateRequest):
        money.recharge("U1", "RC-SAME", "100")


def test_direct_recharge_needs_and_consumes_the_recharge_authorization(money, nothing_written):
    money.user("U1")
    req = recharges.DirectRechargeRequest("DR-1", "U1", "500", "BAOFOO", "PROXY")
    with nothing_written(), pytest.raises(NotAuthorized) as err:
        recharges.direct_recharge(money.engine, money.clock, money.rt.cloud, P1, req)
    assert err.value.code == NOT_PERMITTED
    money.authorize("U1", "RECHARGE", amount="600")
    result = recharges.direct_recharge(money.engine, money.clock, money.rt.cloud, P1, req)
    assert result.recharge_status == "PENDDING" and result.recharge_way == "PROXY"
    money.rt.run_until_idle()
    assert money.balance("U1") == (50_000, 0)
    assert money.notifies("DIRECT_RECHARGE", "DR-1")[0]["rechargeStatus"] == "SUCCESS"
    over = recharges.DirectRechargeRequest("DR-2", "U1", "100.01", "BAOFOO", "PROXY")
    with nothing_written(), pytest.raises(NotAuthorized):
        recharges.direct_recharge(money.engine, money.clock, money.rt.cloud, P1, over)


def test_recharge_bid_authority(money):
    money.user("U1")
    money.user("U2")
    money.recharge("U1", "RB-1", "1000", authtrade_type="TENDER", authtender_amount="800", project_no="PJ-1")
    money.recharge("U1", "RB-2", "1000")

    def check(user, recharge_no, fen, project):
        money.tx(lambda c: recharges.recharge_bid_authority(c, P1, user, recharge_no, fen, project))

    with pytest.raises(NotAuthorized, match="not succeeded"):
        check("U1", "RB-1", 100, "PJ-1")
    money.rt.run_until_idle()
    with pytest.raises(NotAuthorized):
        check("U2", "RB-1", 100, "PJ-1")
    with pytest.raises(NotAuthorized):
        check("U1", "RB-2", 100, "PJ-1")
    with pytest.raises(NotAuthorized):
        check("U1", "RB-1", 100, "PJ-2")
    with pytest.raises(NotAuthorized):
        check("U1", "NONE", 100, "PJ-1")
    check("U1", "RB-1", 50_000, "PJ-1")
    with pytest.raises(NotAuthorized, match="remains"):
        check("U1", "RB-1", 30_001, "PJ-1")
    check("U1", "RB-1", 30_000, "PJ-1")
    assert money.recharge_row("RB-1")["auth_tender_used_fen"] == 80_000
