"""T+1 settlement files produced by the simulated company: what a day's file holds, when it may be
produced (weekend, National Day, make-up working Saturday), and the round trip through the parser into
the comparison with our records."""

from __future__ import annotations

import datetime as dt

import pytest

from cunguan.clock import BEIJING, FixedClock
from cunguan.payments.gateway import ChannelError, PayRequest, RechargeWay
from cunguan.payments.settlement import (
    OurPayment,
    SettledIndex,
    SettlementNotDue,
    compare,
    read_file,
    write_file,
)
from cunguan.payments.simulator import FaultPlan, PayFault, PaymentCompanySimulator

from .conftest import CARD, MOBILE


def swift(order_no: str, amount_fen: int) -> PayRequest:
    return PayRequest(order_no, amount_fen, RechargeWay.SWIFT, bankcode="ICBK", card_no=CARD, mobile=MOBILE)


def at(y, m, d, hh=10, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=BEIJING)


def test_paysim_settlement_file_for_a_friday_arrives_monday(engine, tmp_path):
    clock = FixedClock(at(2026, 11, 20, 9))  # Friday
    faults = FaultPlan()
    sim = PaymentCompanySimulator(engine, clock, "YEEPAY", faults=faults)
    sim.start(swift("R1", 10_000))
    faults.by_order["R2"] = PayFault.fail(ChannelError.CARD_FROZEN)
    sim.start(swift("R2", 20_000))  # failed: not settled
    clock.set(at(2026, 11, 20, 23, 50))
    faults.by_order["R3"] = PayFault.success(delay_s=20 * 60)
    sim.start(swift("R3", 30_000))  # paid at 00:10 Saturday: Saturday's money
    clock.set(at(2026, 11, 20, 23, 55))
    sim.start(swift("R4", 40_000))
    PaymentCompanySimulator(engine, clock, "FUIOU").start(swift("R5", 50_000))  # another company's

    for not_yet in (at(2026, 11, 21), at(2026, 11, 22, 23, 59)):
        clock.set(not_yet)
        with pytest.raises(SettlementNotDue):
            sim.settlement_file(dt.date(2026, 11, 20))
    clock.set(at(2026, 11, 23, 8))  # Monday
    friday = sim.settlement_file(dt.date(2026, 11, 20))
    assert [(r.order_no, r.amount_fen, r.fee_fen) for r in friday.rows] == [("R1", 10_000, 20), ("R4", 40_000, 80)]
    assert friday.settle_date == dt.date(2026, 11, 23) and friday.net_fen == 50_000 - 100
    saturday = sim.settlement_file(dt.date(2026, 11, 21))
    assert [r.order_no for r in saturday.rows] == ["R3"]
    assert sim.settlement_file(dt.date(2026, 11, 22)).rows == ()  # header-only file

    path = write_file(friday, tmp_path)
    parsed = read_file(path)
    assert parsed == friday
    ours = [OurPayment("R1", 10_000), OurPayment("R4", 40_000)]
    assert compare(parsed, ours).clean
    index = SettledIndex.of([parsed])
    assert index.is_settled("YEEPAY", "R1") and not index.is_settled("YEEPAY", "R3")


def test_paysim_settlement_over_national_day_and_makeup_saturday(engine):
    clock = FixedClock(at(2025, 9, 30, 15))
    sim = PaymentCompanySimulator(engine, clock, "BAOFOO")
    sim.start(swift("N1", 1_000))
    clock.set(at(2025, 10, 3, 11))  # a holiday: payments still happen
    sim.start(swift("N2", 2_000))
    clock.set(at(2025, 10, 10, 16))  # Friday before the make-up working Saturday
    sim.start(swift("N3", 3_000))

    clock.set(at(2025, 10, 8, 23))  # still in the holiday
    with pytest.raises(SettlementNotDue):
        sim.settlement_file(dt.date(2025, 9, 30))
    clock.set(at(2025, 10, 9, 9))
    assert [r.order_no for r in sim.settlement_file(dt.date(2025, 9, 30)).rows] == ["N1"]
    assert [r.order_no for r in sim.settlement_file(dt.date(2025, 10, 3)).rows] == ["N2"]
    with pytest.raises(SettlementNotDue):
        sim.settlement_file(dt.date(2025, 10, 10))
    clock.set(at(2025, 10, 11, 9))  # the make-up working Saturday settles Friday
    friday = sim.settlement_file(dt.date(2025, 10, 10))
    assert [r.order_no for r in friday.rows] == ["N3"] and friday.settle_date == dt.date(2025, 10, 11)
    assert sim.is_settlement_day(dt.date(2025, 10, 11)) and not sim.is_settlement_day(dt.date(2025, 10, 12))


def test_paysim_settlement_compare_with_drifted_records(engine, tmp_path):
    clock = FixedClock(at(2026, 2, 13, 10))  # Friday before the make-up Saturday of Spring Festival 2026
    sim = PaymentCompanySimulator(engine, clock, "LIANLIAN")
    for k, amount in enumerate((100, 200, 300), start=1):
        sim.start(swift(f"S{k}", amount))
    clock.set(at(2026, 2, 14, 9))
    theirs = read_file(write_file(sim.settlement_file(dt.date(2026, 2, 13)), tmp_path))
    ours = [OurPayment("S1", 100), OurPayment("S2", 250), OurPayment("S9", 900)]  # S3 unknown to us
    result = compare(theirs, ours)
    assert [r.order_no for r in result.matched] == ["S1"]
    assert [r.order_no for r in result.missing_ours] == ["S3"]
    assert [p.order_no for p in result.missing_theirs] == ["S9"]
    assert [(m.order_no, m.ours_fen, m.theirs_fen) for m in result.amount_mismatch] == [("S2", 250, 200)]
