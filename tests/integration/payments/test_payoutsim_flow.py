"""The simulated payout channel on a real database: accepted then SUCCESS (urgent and next-working-day),
accepted then FAIL (remittance returned), rejections, timeouts resolved by query, duplicate submissions
paid once, and state surviving a restart."""

from __future__ import annotations

import datetime as dt

import pytest

from cunguan.clock import BEIJING
from cunguan.payouts.channel import (
    FailCode,
    PayoutOrder,
    PayoutOrderConflict,
    RejectCode,
    RemitAnswer,
    RemitStatus,
    RemitType,
    Route,
)
from cunguan.payouts.simulator import PayoutChannelSimulator, PayoutFault

ACCOUNT = "6222020200112233445"


def order(order_no: str = "W1", *, amount_fen: int = 10_000, remit_type: RemitType = RemitType.URGENT,
          route: Route = Route.INTERBANK, bank_code: str = "ICBK", account_no: str = ACCOUNT,
          corporate: bool = False) -> PayoutOrder:
    return PayoutOrder(order_no, account_no, "张三", bank_code, amount_fen, route, remit_type, corporate)


def at(y, m, d, hh=10, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=BEIJING)


def test_payoutsim_urgent_accepted_then_success(channel, clock):
    res = channel.remit(order())
    assert res.answer is RemitAnswer.ACCEPTED and res.expected_at == clock.now() + dt.timedelta(seconds=10)
    assert channel.query("W1").status is RemitStatus.REMITING
    assert channel.paid_total_fen() == 0
    clock.advance(dt.timedelta(seconds=10))
    q = channel.query("W1")
    assert (q.status, q.amount_fen, q.completed_at) == (RemitStatus.SUCCESS, 10_000, clock.now())
    assert channel.paid_total_fen() == 10_000


def test_payoutsim_normal_is_paid_next_working_day(channel, clock):
    clock.set(at(2026, 11, 20, 15))  # Friday
    res = channel.remit(order(remit_type=RemitType.NORMAL))
    assert res.expected_at == at(2026, 11, 23, 10)  # Monday's morning batch
    clock.set(at(2026, 11, 23, 9, 59))
    assert channel.query("W1").status is RemitStatus.REMITING
    clock.set(at(2026, 11, 23, 10))
    assert channel.query("W1").status is RemitStatus.SUCCESS


def test_payoutsim_normal_over_national_day_and_makeup_saturday(channel, clock):
    clock.set(at(2025, 9, 30, 12))
    assert channel.remit(order("W1", remit_type=RemitType.NORMAL)).expected_at == at(2025, 10, 9, 10)
    clock.set(at(2025, 10, 10, 12))
    assert channel.remit(order("W2", remit_type=RemitType.NORMAL)).expected_at == at(2025, 10, 11, 10)


def test_payoutsim_accepted_then_remit_failure(channel, clock, payout_faults):
    payout_faults.by_account["6228480000000000001"] = PayoutFault(fail=FailCode.ACCOUNT_CLOSED)
    res = channel.remit(order(account_no="6228480000000000001", bank_code="ABOC"))
    assert res.answer is RemitAnswer.ACCEPTED  # the channel took it...
    clock.advance(dt.timedelta(minutes=1))
    q = channel.query("W1")
    assert (q.status, q.reason_code, q.reason) == (RemitStatus.FAIL, "RF04", "收款账户已销户")  # ...the bank returned it
    assert q.completed_at is not None and channel.paid_total_fen() == 0


@pytest.mark.parametrize(("kw", "code"), [
    ({"account_no": "12-34"}, RejectCode.INVALID_ACCOUNT),
    ({"bank_code": "XXXX"}, RejectCode.BANK_NOT_SUPPORTED),
    ({"route": Route.BANK_OWN, "bank_code": "ICBK"}, RejectCode.ROUTE_MISMATCH),
    ({"amount_fen": 50_000_001}, RejectCode.OVER_LIMIT),
])
def test_payoutsim_rejected_by_the_channel_rules(channel, clock, kw, code):
    res = channel.remit(order(**kw))
    assert (res.answer, res.code) == (RemitAnswer.REJECTED, code) and res.message
    q = channel.query("W1")
    assert (q.status, q.reason_code) == (RemitStatus.REJECTED, code)
    assert channel.paid_total_fen(clock.now() + dt.timedelta(days=30)) == 0


def test_payoutsim_bank_own_route_pays_our_own_cards(channel, clock):
    res = channel.remit(order(route=Route.BANK_OWN, bank_code="BOSH"))
    assert res.answer is RemitAnswer.ACCEPTED


def test_payoutsim_urgent_corporate_only_in_working_time(channel, clock):
    clock.set(at(2026, 11, 21, 10))  # Saturday
    res = channel.remit(order("W1", corporate=True))
    assert (res.answer, res.code) == (RemitAnswer.REJECTED, RejectCode.NOT_WORKING_TIME)
    assert channel.remit(order("W2", corporate=False)).answer is RemitAnswer.ACCEPTED  # personal: 7x24
    big = channel.remit(order("W3", amount_fen=5_000_001))  # interbank real-time after hours: IBPS cap
    assert (big.answer, big.code) == (RemitAnswer.REJECTED, RejectCode.OVER_LIMIT)
    clock.set(at(2026, 11, 23, 10))  # Monday, in working time
    assert channel.remit(order("W4", corporate=True, amount_fen=5_000_001)).answer is RemitAnswer.ACCEPTED


def test_payoutsim_rejected_by_fault(channel, payout_faults):
    payout_faults.by_order["W1"] = PayoutFault(reject=RejectCode.CHANNEL_BUSY)
    assert channel.remit(order()).code == RejectCode.CHANNEL_BUSY


def test_payoutsim_timeout_then_query_reveals_acceptance(channel, clock, payout_faults):
    payout_faults.by_order["W1"] = PayoutFault(timeout=True, pending_queries=1)
    assert channel.remit(order()).answer is RemitAnswer.UNKNOWN
    clock.advance(dt.timedelta(minutes=5))
    assert channel.query("W1").status is RemitStatus.REMITING  # the channel is still slow to answer
    assert channel.query("W1").status is RemitStatus.SUCCESS
    again = channel.remit(order())
    assert again.answer is RemitAnswer.ACCEPTED and again.duplicate
    assert channel.paid_total_fen() == 10_000


def test_payoutsim_timeout_lost_then_resubmitted_once(channel, clock, payout_faults):
    payout_faults.by_order["W1"] = PayoutFault(timeout=True, lost=True)
    assert channel.remit(order()).answer is RemitAnswer.UNKNOWN
    assert channel.query("W1").status is RemitStatus.NOT_FOUND  # never arrived: safe to send again
    assert channel.remit(order()).answer is RemitAnswer.ACCEPTED
    clock.advance(dt.timedelta(minutes=1))
    assert channel.query("W1").status is RemitStatus.SUCCESS and channel.paid_total_fen() == 10_000


def test_payoutsim_timeout_of_a_failing_remit(channel, clock, payout_faults):
    payout_faults.by_order["W1"] = PayoutFault(timeout=True, fail=FailCode.NAME_MISMATCH)
    assert channel.remit(order()).answer is RemitAnswer.UNKNOWN
    clock.advance(dt.timedelta(minutes=1))
    q = channel.query("W1")
    assert (q.status, q.reason_code) == (RemitStatus.FAIL, FailCode.NAME_MISMATCH)


def test_payoutsim_duplicate_submission_is_paid_once(channel, clock):
    results = [channel.remit(order()) for _ in range(3)]
    assert [r.duplicate for r in results] == [False, True, True]
    assert {r.answer for r in results} == {RemitAnswer.ACCEPTED}
    assert channel.received_count("W1") == 3
    clock.advance(dt.timedelta(minutes=1))
    assert channel.paid_total_fen() == 10_000
    with pytest.raises(PayoutOrderConflict):
        channel.remit(order(amount_fen=20_000))
    rejected = channel.remit(order("W2", account_no="bad"))
    assert channel.remit(order("W2", account_no="bad")).code == rejected.code  # a repeat keeps its answer


def test_payoutsim_state_survives_a_restart(engine, clock, channel):
    clock.set(at(2026, 11, 20, 15))
    channel.remit(order(remit_type=RemitType.NORMAL))
    reborn = PayoutChannelSimulator(engine, clock)
    assert reborn.query("W1").status is RemitStatus.REMITING
    assert reborn.remit(order(remit_type=RemitType.NORMAL)).duplicate
    clock.set(at(2026, 11, 23, 11))
    assert reborn.query("W1").status is RemitStatus.SUCCESS and reborn.paid_total_fen() == 10_000


def test_payoutsim_normal_urgent_is_same_day(channel, clock):
    clock.set(at(2026, 11, 21, 20))  # Saturday evening: smart T0 still pays today
    res = channel.remit(order(remit_type=RemitType.NORMAL_URGENT))
    assert res.expected_at == clock.now() + dt.timedelta(minutes=30)
    assert res.expected_at.astimezone(BEIJING).date() == dt.date(2026, 11, 21)


def test_payoutsim_seeded_rng_is_reproducible(engine, clock):
    from cunguan.payouts.simulator import PayoutFaultPlan

    def run(prefix: str) -> list:
        sim = PayoutChannelSimulator(engine, clock, faults=PayoutFaultPlan(seed=3, reject_rate=0.2, fail_rate=0.3,
                                                                           timeout_rate=0.2))
        return [sim.remit(order(f"{prefix}{k}")).answer for k in range(40)]

    first, second = run("A"), run("B")
    assert first == second and set(first) == {RemitAnswer.ACCEPTED, RemitAnswer.REJECTED, RemitAnswer.UNKNOWN}
