"""Pure parts of the money room: the NORMAL cut-off, the verbatim vendor texts and codes, notify shapes."""

from __future__ import annotations

import datetime as dt

from cunguan.clock import BEIJING
from cunguan.custody import money_errors as me
from cunguan.custody.recharges import us_to_dt, wire_time
from cunguan.custody.withdrawals import notify_fields, remit_due_us


def _us(when: dt.datetime) -> int:
    return int((when - us_to_dt(0)) / dt.timedelta(microseconds=1))


def test_normal_waits_for_the_cutoff_t0_goes_at_once():
    noon = _us(dt.datetime(2026, 9, 30, 12, 0, tzinfo=BEIJING))
    cutoff = _us(dt.datetime(2026, 9, 30, 23, 0, tzinfo=BEIJING))
    late = _us(dt.datetime(2026, 9, 30, 23, 30, tzinfo=BEIJING))
    assert remit_due_us("NORMAL", noon) == cutoff
    assert remit_due_us("NORMAL", late) == late
    assert remit_due_us("URGENT", noon) == noon
    assert remit_due_us("NORMAL_URGENT", noon) == noon


def test_wire_time_is_beijing():
    assert wire_time(_us(dt.datetime(2026, 11, 23, 4, 5, 6, tzinfo=dt.UTC))) == "20261123120506"
    assert wire_time(None) is None


def test_vendor_texts_and_codes_are_verbatim():
    cases = [
        (me.WithdrawRecordNotFound(), "100007", "提现记录不存在", "0"),
        (me.FrozenOrderShort(), "100008", "冻结订单可用金额不足", "0"),
        (me.FrozenAmountShort(), "100008", "冻结金额不足", "1"),
        (me.FreezeOrderNotFound(), "100007", "冻结订单不存在", "1"),
        (me.WithdrawOrderNotFound(), "100007", "提现订单不存在", "1"),
        (me.WithdrawNotAccept(), "100008", "提现订单状态不为ACCEPT", "1"),
    ]
    for err, code, text, call in cases:
        assert (err.code, err.message, err.call_code) == (code, text, call)
    assert me.InsufficientBalance("x").code == "100014"
    assert me.AdvanceAccountShort("x").message.startswith("平台垫资账户可用余额不足")
    assert me.NoAdvanceAccount("x").code == "100017"
    assert me.UrgentCorporateClosed("x").message.startswith("当前时间不受理加急对公提现")


def test_withdraw_notify_fields():
    row = dict(request_no="W1", status="ACCEPT", platform_user_no="U1", amount_fen=12_345, commission_fen=45,
               withdraw_type="NORMAL", withdraw_form="IMMEDIATE", bankcard_masked="622202*********0010",
               bankcode="ICBK", created_us=0, accepted_us=None, remit_us=None, completed_us=None,
               remit_type="NORMAL", float_fen=0)
    fields = notify_fields(row)
    assert str(fields["amount"]) == "123.45" and str(fields["commission"]) == "0.45"
    assert fields["withdrawWay"] == "NORMAL" and fields["remitTime"] is None and str(fields["floatAmount"]) == "0.00"
