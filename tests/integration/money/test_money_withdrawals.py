"""WITHDRAW / AUTO_WITHDRAW / CONFIRM / CANCEL / INTERCEPT and the payout channel."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest

from cunguan.calendar_cn import is_working_day, next_working_day
from cunguan.clock import BEIJING
from cunguan.custody import advances, withdrawals
from cunguan.custody.money_errors import (
    AdvanceAccountShort,
    FreezeOrderNotFound,
    FrozenAmountShort,
    FrozenOrderShort,
    InsufficientBalance,
    NoAdvanceAccount,
    UrgentCorporateClosed,
    WithdrawNotAccept,
    WithdrawOrderNotFound,
    WithdrawRecordNotFound,
)
from cunguan.custody.user_errors import InvalidField, NotAuthorized
from cunguan.payouts.channel import FailCode
from cunguan.payouts.simulator import PayoutFault

from .conftest import P1


def _tx(money, fn, req):
    return money.tx(lambda c: fn(c, money.clock, P1, req))


def test_normal_withdrawal_pays_next_working_day_and_charges_commission(money):
    money.user("U1")
    money.funded("U1", "1000")
    result = money.withdraw("U1", "WD-1", "300", commission="2")
    assert result.withdraw_status == "ACCEPT" and result.float_amount_fen == 0
    assert money.balance("U1") == (100_000, 30_000)
    money.rt.tick()  # before the day's cut-off: nothing is handed over yet
    assert money.withdrawal("WD-1")["status"] == "ACCEPT"
    money.clock.set(dt.datetime.combine(money.clock.beijing_date(), dt.time(23, 0), BEIJING))
    money.rt.tick()
    assert money.withdrawal("WD-1")["status"] == "REMITING"
    assert money.balance("U1") == (70_200, 200)  # the payout part left, the commission waits frozen
    money.next_working_day(dt.time(10, 1))
    money.rt.tick()
    row = money.withdrawal("WD-1")
    assert row["status"] == "SUCCESS"
    assert money.balance("U1") == (70_000, 0)
    assert money.balance("SYS_GENERATE_004")[0] == 200
    assert money.rt.channel.paid_total_fen() == 29_800
    states = [n["withdrawStatus"] for n in money.notifies("WITHDRAW", "WD-1")]
    assert states == ["ACCEPT", "SUCCESS"]
    note = money.notifies("WITHDRAW", "WD-1")[-1]
    assert Decimal(str(note["amount"])) == Decimal("300.00") and note["remitType"] == "NORMAL"
    assert "*" in note["bankcardNo"]


def test_normal_withdrawal_takes_settled_money_only(money, nothing_written):
    money.user("U1")
    money.funded("U1", "100")
    money.funded("U1", "50", settle=False)
    assert money.unsettled("U1") == 5_000
    with nothing_written(), pytest.raises(InsufficientBalance) as err:
        money.withdraw("U1", "WD-UNS", "100.01")
    assert err.value.code == "100014"
    money.withdraw("U1", "WD-OK", "100")
    with nothing_written(), pytest.raises(InsufficientBalance):
        money.withdraw("U1", "WD-MORE", "50.01", withdraw_type="URGENT")


def test_t_plus_1_on_a_holiday_eve_pays_on_the_next_working_day(money):
    eve = dt.date(2026, 9, 30)
    assert is_working_day(eve) and not is_working_day(eve + dt.timedelta(days=1))
    pay_day = next_working_day(eve)
    money.clock.set(dt.datetime(2026, 9, 29, 12, 0, tzinfo=BEIJING))
    money.user("U1")
    money.funded("U1", "500")  # recharged on the 29th, settled on the 30th
    assert money.clock.beijing_date() == eve and money.unsettled("U1") == 0
    money.withdraw("U1", "WD-EVE", "500")
    money.clock.set(dt.datetime.combine(eve, dt.time(23, 0), BEIJING))
    money.rt.tick()
    assert money.withdrawal("WD-EVE")["status"] == "REMITING"
    money.clock.set(dt.datetime.combine(pay_day - dt.timedelta(days=1), dt.time(23, 59), BEIJING))
    money.rt.tick()
    assert money.withdrawal("WD-EVE")["status"] == "REMITING"
    money.clock.set(dt.datetime.combine(pay_day, dt.time(10, 1), BEIJING))
    money.rt.tick()
    row = money.withdrawal("WD-EVE")
    assert row["status"] == "SUCCESS"
    completed = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=row["completed_us"])
    assert completed.astimezone(BEIJING).date() == pay_day


def test_t0_advance_from_the_platform_is_repaid_by_the_settlement(money, nothing_written):
    money.user("U1")
    money.funded("U1", "100")  # settled
    money.funded("U1", "400", settle=False)  # today's, unsettled
    with nothing_written(), pytest.raises(AdvanceAccountShort) as err:
        money.withdraw("U1", "WD-T0", "300", withdraw_type="URGENT")
    assert err.value.code == "100016"
    money.fund_system("SYS_GENERATE_007", 1_000_000)
    result = money.withdraw("U1", "WD-T0", "300", withdraw_type="URGENT")
    assert result.float_amount_fen == 20_000 and result.remit_type == "URGENT"
    assert money.balance("SYS_GENERATE_007") == (1_000_000, 20_000)
    assert money.unsettled("U1") == 20_000  # 40,000 unsettled, 20,000 of it already advanced
    money.clock.advance(dt.timedelta(seconds=1))
    money.rt.tick()
    money.clock.advance(dt.timedelta(seconds=30))
    money.rt.tick()
    assert money.withdrawal("WD-T0")["status"] == "SUCCESS"
    assert money.balance("U1") == (20_000, 0)
    money.next_working_day(dt.time(9, 0))
    money.rt.run_until_idle()  # the settlement file arrives
    assert money.balance("SYS_GENERATE_007") == (1_000_000, 0)
    assert money.unsettled("U1") == 0
    assert money.notifies("WITHDRAW", "WD-T0")[-1]["floatAmount"] in (200, 200.0, Decimal("200.00"))


def test_t0_refused_without_advance_and_bank_advance_limited(money, nothing_written):
    money.user("U1")
    money.funded("U1", "100", settle=False)
    money.tx(lambda c: advances.set_settings(c, 1, P1, advance_mode="NONE"))
    with nothing_written(), pytest.raises(NoAdvanceAccount) as err:
        money.withdraw("U1", "WD-N", "10", withdraw_type="NORMAL_URGENT")
    assert err.value.code == "100017"
    money.tx(lambda c: advances.set_settings(c, 1, P1, advance_mode="BANK", bank_advance_limit_fen=5_000))
    with nothing_written(), pytest.raises(AdvanceAccountShort):
        money.withdraw("U1", "WD-B", "50.01", withdraw_type="NORMAL_URGENT")
    result = money.withdraw("U1", "WD-B", "50", withdraw_type="NORMAL_URGENT")
    assert result.float_amount_fen == 5_000
    assert money.balance("SYS_GENERATE_007") == (0, 0)  # the bank's own money: no platform account touched


def test_t0_types_are_immediate_only(money, nothing_written):
    money.user("U1")
    money.funded("U1", "100")
    with nothing_written(), pytest.raises(InvalidField) as err:
        money.withdraw("U1", "WD-C", "10", withdraw_type="URGENT", withdraw_form="CONFIRMED")
    assert err.value.field == "withdrawType"


def test_urgent_corporate_outside_working_time_is_100018(money, nothing_written):
    from cunguan.custody.user_store import create_user

    money.user("U1")
    money.tx(lambda c: create_user(
        c, 1, platform_no=P1, platform_user_no="CORP1", user_type="ORGANIZATION", user_role="BORROWERS",
        name="懒猫科技有限公司", id_card_type=None, id_card_no=None, personal_id_unique=False, mobile=None,
        bankcard_no="110060149018000012345", bankcode="COMM", access_type="PART_CHECKED", audit_status="PASSED",
        active_status="ACTIVATED", request_no=None))
    money.funded("CORP1", "100")
    money.clock.set(dt.datetime.combine(money.clock.beijing_date(), dt.time(17, 30), BEIJING))
    with nothing_written(), pytest.raises(UrgentCorporateClosed) as err:
        money.withdraw("CORP1", "WD-CORP", "10", withdraw_type="URGENT")
    assert err.value.code == "100018"
    money.withdraw("CORP1", "WD-CORP-NU", "10", withdraw_type="NORMAL_URGENT")  # not URGENT: accepted
    money.clock.set(dt.datetime.combine(money.clock.beijing_date(), dt.time(10, 0), BEIJING))
    money.withdraw("CORP1", "WD-CORP", "10", withdraw_type="URGENT")


def test_payout_failure_after_remittance_rolls_back_remitfail(money):
    money.user("U1")
    money.funded("U1", "1000")
    money.withdraw("U1", "WD-RF", "400", withdraw_type="URGENT", commission="4")
    money.rt.channel.faults.by_order[money.withdrawal("WD-RF")["order_no"]] = PayoutFault(fail=FailCode.ACCOUNT_CLOSED)
    money.rt.tick()
    assert money.withdrawal("WD-RF")["status"] == "REMITING"
    assert money.balance("U1") == (60_400, 400)
    money.clock.advance(dt.timedelta(seconds=61))
    money.rt.tick()
    row = money.withdrawal("WD-RF")
    assert row["status"] == "FAIL" and row["closed_reason"] == "REMITFAIL" and row["fail_code"] == "RF04"
    assert money.balance("U1") == (100_000, 0)
    assert money.balance("SYS_GENERATE_004") == (0, 0)
    back = money.notifies("BACKROLL_RECHARGE")
    assert len(back) == 1 and back[0]["rollbackType"] == "REMITFAIL" and back[0]["withdrawRequestNo"] == "WD-RF"
    assert Decimal(str(back[0]["rollbackAmount"])) == Decimal("400.00")
    assert Decimal(str(back[0]["rollbackCommission"])) == Decimal("4.00")
    assert [n["withdrawStatus"] for n in money.notifies("WITHDRAW", "WD-RF")] == ["ACCEPT", "FAIL"]


def test_rejected_payout_with_advance_returns_the_advance(money):
    money.user("U1")
    money.funded("U1", "100", settle=False)
    money.fund_system("SYS_GENERATE_007", 50_000)
    money.withdraw("U1", "WD-RJ", "100", withdraw_type="URGENT")
    assert money.balance("SYS_GENERATE_007") == (50_000, 10_000)
    from cunguan.payouts.channel import RejectCode

    money.rt.channel.faults.by_order[money.withdrawal("WD-RJ")["order_no"]] = PayoutFault(reject=RejectCode.CHANNEL_BUSY)
    money.rt.tick()
    assert money.withdrawal("WD-RJ")["status"] == "FAIL"
    assert money.balance("U1") == (10_000, 0)
    assert money.balance("SYS_GENERATE_007") == (50_000, 0)
    assert money.unsettled("U1") == 10_000


def test_intercept_while_accept_backrolls_and_refusals_write_nothing(money, nothing_written):
    money.user("U1")
    money.funded("U1", "1000")
    money.withdraw("U1", "WD-I", "250", commission="1")
    out = _tx(money, withdrawals.intercept_withdraw, withdrawals.InterceptWithdrawRequest("IC-1", "WD-I"))
    assert out["interceptStatus"] == "SUCCESS"
    row = money.withdrawal("WD-I")
    assert row["status"] == "FAIL" and row["closed_reason"] == "INTERCEPTED"
    assert money.balance("U1") == (100_000, 0)
    back = money.notifies("BACKROLL_RECHARGE")
    assert len(back) == 1 and back[0]["rollbackType"] == "INTERCEPT"
    with nothing_written(), pytest.raises(WithdrawNotAccept) as err:
        _tx(money, withdrawals.intercept_withdraw, withdrawals.InterceptWithdrawRequest("IC-2", "WD-I"))
    assert err.value.message == "提现订单状态不为ACCEPT"
    with nothing_written(), pytest.raises(WithdrawOrderNotFound) as err:
        _tx(money, withdrawals.intercept_withdraw, withdrawals.InterceptWithdrawRequest("IC-3", "WD-NONE"))
    assert err.value.message == "提现订单不存在"
    money.withdraw("U1", "WD-I2", "10", withdraw_type="URGENT")
    money.rt.tick()  # handed over: too late to intercept
    with nothing_written(), pytest.raises(WithdrawNotAccept):
        _tx(money, withdrawals.intercept_withdraw, withdrawals.InterceptWithdrawRequest("IC-4", "WD-I2"))


def test_confirmed_form_confirm_and_cancel(money, nothing_written):
    money.user("U1")
    money.funded("U1", "1000")
    result = money.withdraw("U1", "WD-CF", "100", withdraw_type=None, withdraw_form="CONFIRMED")
    assert result.withdraw_status == "CONFIRMING" and result.withdraw_way == "NORMAL"
    money.withdraw("U1", "WD-CN", "200", withdraw_type=None, withdraw_form="CONFIRMED")
    assert money.balance("U1") == (100_000, 30_000)
    money.rt.tick()
    assert money.withdrawal("WD-CF")["status"] == "CONFIRMING"
    out = _tx(money, withdrawals.confirm_withdraw, withdrawals.ConfirmWithdrawRequest("CF-1", "WD-CF", "NORMAL"))
    assert out["withdrawStatus"] == "ACCEPT"
    with nothing_written(), pytest.raises(FrozenOrderShort) as err:
        _tx(money, withdrawals.confirm_withdraw, withdrawals.ConfirmWithdrawRequest("CF-2", "WD-CF"))
    assert err.value.message == "冻结订单可用金额不足"
    with nothing_written(), pytest.raises(WithdrawRecordNotFound) as err:
        _tx(money, withdrawals.confirm_withdraw, withdrawals.ConfirmWithdrawRequest("CF-3", "WD-NONE"))
    assert err.value.message == "提现记录不存在"
    _tx(money, withdrawals.cancel_withdraw, withdrawals.CancelWithdrawRequest("CN-1", "WD-CN"))
    assert money.balance("U1") == (100_000, 10_000)
    with nothing_written(), pytest.raises(FrozenAmountShort) as err:
        _tx(money, withdrawals.cancel_withdraw, withdrawals.CancelWithdrawRequest("CN-2", "WD-CN"))
    assert err.value.message == "冻结金额不足"
    with nothing_written(), pytest.raises(FreezeOrderNotFound):
        _tx(money, withdrawals.cancel_withdraw, withdrawals.CancelWithdrawRequest("CN-3", "WD-NONE"))
    with nothing_written(), pytest.raises(FrozenAmountShort):
        _tx(money, withdrawals.cancel_withdraw, withdrawals.CancelWithdrawRequest("CN-4", "WD-CF"))
    assert [n["withdrawStatus"] for n in money.notifies("WITHDRAW", "WD-CF")] == ["CONFIRMING", "ACCEPT"]


def test_auto_withdraw_needs_authorization_and_audit_mode_waits(money, nothing_written):
    money.user("U1")
    money.funded("U1", "1000")
    req = withdrawals.AutoWithdrawRequest("AW-1", "U1", "100", "NORMAL")
    with nothing_written(), pytest.raises(NotAuthorized):
        _tx(money, withdrawals.auto_withdraw, req)
    money.authorize("U1", "WITHDRAW")
    money.tx(lambda c: advances.set_settings(c, 1, P1, audit_mode=True))
    result = _tx(money, withdrawals.auto_withdraw, req)
    assert result.withdraw_status == "CONFIRMING" and result.withdraw_form == "IMMEDIATE"
    _tx(money, withdrawals.confirm_withdraw, withdrawals.ConfirmWithdrawRequest("CF-A", "AW-1"))
    assert money.withdrawal("AW-1")["status"] == "ACCEPT"


def test_concurrent_withdrawals_never_overdraw(money, engine):
    money.user("U1")
    money.funded("U1", "1000")
    money.authorize("U1", "WITHDRAW")
    results: list[str] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        req = withdrawals.AutoWithdrawRequest(f"CC-{n}", "U1", "150", "NORMAL")
        try:
            _tx(money, withdrawals.auto_withdraw, req)
            outcome = "ok"
        except InsufficientBalance:
            outcome = "short"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 6 and results.count("short") == 6
    balance, frozen = money.balance("U1")
    assert balance == 100_000 and frozen == 90_000 and balance - frozen >= 0
