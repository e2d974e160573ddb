"""The simulated payment company on a real database: every failure mode, notifications (duplicate,
late, redelivered after a consumer failure), charged-once, state surviving a restart, routing."""

from __future__ import annotations

import datetime as dt

import pytest

from cunguan.payments.gateway import (
    ChannelError,
    OrderNoConflict,
    PayCompany,
    PaymentCloud,
    PayRequest,
    PayStatus,
    PayType,
    RechargeWay,
    StartAnswer,
)
from cunguan.payments.simulator import FaultPlan, PayFault, PaymentCompanySimulator

from .conftest import CARD, MOBILE


def swift(order_no: str, amount_fen: int = 10_000, card: str = CARD) -> PayRequest:
    return PayRequest(order_no, amount_fen, RechargeWay.SWIFT, bankcode="ICBK", card_no=card, mobile=MOBILE)


class IdempotentConsumer:
    """What the recharge service must do: apply each (company, order, status) once."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str, str]] = set()
        self.credited_fen = 0
        self.copies = 0

    def __call__(self, note) -> None:
        self.copies += 1
        key = (note.company, note.order_no, note.status)
        if key in self.seen:
            return
        self.seen.add(key)
        if note.status is PayStatus.SUCCESS:
            self.credited_fen += note.amount_fen


def test_paysim_success_is_async_and_notified(yeepay, clock, notes):
    res = yeepay.start(swift("R1"))
    assert res.answer is StartAnswer.ACCEPTED and res.company_order_no and not res.duplicate
    q = yeepay.query("R1")
    assert (q.status, q.amount_fen, q.fee_fen) == (PayStatus.SUCCESS, 10_000, 20)
    assert q.paid_at == clock.now()
    delivered = yeepay.deliver_due(clock.now())
    assert [n.order_no for n in delivered] == ["R1"] and notes == delivered
    note = notes[0]
    assert (note.company, note.status, note.amount_fen, note.company_order_no) == (
        PayCompany.YEEPAY, PayStatus.SUCCESS, 10_000, res.company_order_no)
    assert yeepay.parse_notification(note.fields) == note  # re-verifiable wire form
    assert yeepay.deliver_due(clock.now() + dt.timedelta(hours=1)) == []  # delivered once


def test_paysim_failure_after_acceptance_carries_channel_code(yeepay, faults, clock, notes):
    faults.by_order["R1"] = PayFault.fail(ChannelError.INSUFFICIENT_BALANCE)
    assert yeepay.start(swift("R1")).answer is StartAnswer.ACCEPTED
    q = yeepay.query("R1")
    assert (q.status, q.error_code, q.error_message) == (PayStatus.FAIL, "CE01", "卡余额不足")
    yeepay.deliver_due(clock.now())
    assert [(n.status, n.error_code, n.paid_at) for n in notes] == [(PayStatus.FAIL, "CE01", None)]
    assert yeepay.charged_total_fen() == 0


def test_paysim_reject_at_start_with_channel_code(yeepay, faults, clock, notes):
    faults.by_card[CARD] = PayFault.fail(ChannelError.CARD_FROZEN, reject=True)  # the card stays frozen
    for order in ("R1", "R2"):
        res = yeepay.start(swift(order))
        assert (res.answer, res.error_code) == (StartAnswer.REJECTED, "CE02")
        assert yeepay.query(order).status is PayStatus.FAIL
    over = yeepay.start(swift("R3", amount_fen=5_000_001, card="6222020200119999999"))  # over the quick-pay limit
    assert (over.answer, over.error_code) == (StartAnswer.REJECTED, ChannelError.EXCEEDS_LIMIT)
    yeepay.deliver_due(clock.now() + dt.timedelta(days=1))
    assert notes == []  # a refusal at start is not notified again
    assert yeepay.charged_total_fen() == 0


def test_paysim_pending_then_resolved(yeepay, faults, clock, notes):
    faults.by_order["R1"] = PayFault.success(delay_s=600)
    assert yeepay.start(swift("R1")).answer is StartAnswer.ACCEPTED
    assert yeepay.query("R1").status is PayStatus.PENDDING
    assert yeepay.deliver_due(clock.now() + dt.timedelta(seconds=599)) == []
    clock.advance(dt.timedelta(seconds=600))
    assert [n.status for n in yeepay.deliver_due(clock.now())] == [PayStatus.SUCCESS]
    q = yeepay.query("R1")
    assert q.status is PayStatus.SUCCESS and q.paid_at == clock.now()


def test_paysim_timeout_then_query_reveals_success(yeepay, faults, clock):
    faults.by_order["R1"] = PayFault.success(timeout=True, pending_queries=1)
    assert yeepay.start(swift("R1")).answer is StartAnswer.UNKNOWN
    assert yeepay.query("R1").status is PayStatus.PENDDING  # still processing on their side
    assert yeepay.query("R1").status is PayStatus.SUCCESS
    again = yeepay.start(swift("R1"))  # re-sending the same order is safe: answered, not charged again
    assert again.answer is StartAnswer.ACCEPTED and again.duplicate
    assert yeepay.received_count("R1") == 2 and yeepay.charged_total_fen() == 10_000


def test_paysim_timeout_then_query_reveals_failure(yeepay, faults):
    faults.by_order["R1"] = PayFault.fail(ChannelError.EXCEEDS_LIMIT, timeout=True)
    assert yeepay.start(swift("R1")).answer is StartAnswer.UNKNOWN
    q = yeepay.query("R1")
    assert (q.status, q.error_code) == (PayStatus.FAIL, "CE03")


def test_paysim_timeout_lost_on_the_way(yeepay, faults, clock, notes):
    faults.by_order["R1"] = PayFault(timeout=True, lost=True)
    assert yeepay.start(swift("R1")).answer is StartAnswer.UNKNOWN
    assert yeepay.query("R1").status is PayStatus.NOT_FOUND
    assert yeepay.start(swift("R1")).answer is StartAnswer.ACCEPTED  # the same order, now it arrives
    yeepay.deliver_due(clock.now())
    assert yeepay.charged_total_fen() == 10_000 and len(notes) == 1


def test_paysim_duplicate_notifications_are_delivered_and_absorbable(engine, clock, faults):
    consumer = IdempotentConsumer()
    sim = PaymentCompanySimulator(engine, clock, "YEEPAY", faults=faults, on_notify=consumer)
    faults.by_order["R1"] = PayFault.success(duplicates=2)
    sim.start(swift("R1"))
    delivered = sim.deliver_due(clock.now() + dt.timedelta(seconds=5))
    assert len(delivered) == 3 and len({n.notify_id for n in delivered}) == 1
    assert consumer.copies == 3 and consumer.credited_fen == 10_000


def test_paysim_late_notification_after_query_resolved_it(yeepay, faults, clock, notes):
    faults.by_order["R1"] = PayFault.success(delay_s=30, notify_delay_s=3_600)
    yeepay.start(swift("R1"))
    clock.advance(dt.timedelta(seconds=60))
    assert yeepay.query("R1").status is PayStatus.SUCCESS  # we learn it by query first
    assert yeepay.deliver_due(clock.now()) == []
    clock.advance(dt.timedelta(hours=1))
    late = yeepay.deliver_due(clock.now())
    assert [n.order_no for n in late] == ["R1"]
    assert late[0].paid_at == clock.now() - dt.timedelta(hours=1, seconds=30)  # paid when it was paid


def test_paysim_no_notification_only_query_tells(yeepay, faults, clock):
    faults.by_order["R1"] = PayFault.success(notify=False)
    yeepay.start(swift("R1"))
    assert yeepay.deliver_due(clock.now() + dt.timedelta(days=1)) == []
    assert yeepay.query("R1").status is PayStatus.SUCCESS


def test_paysim_consumer_failure_means_redelivery(engine, clock):
    calls = []

    def flaky(note):
        calls.append(note.order_no)
        if len(calls) == 1:
            raise RuntimeError("database down")

    sim = PaymentCompanySimulator(engine, clock, "YEEPAY", on_notify=flaky)
    sim.start(swift("R1"))
    assert sim.deliver_due(clock.now()) == []
    assert [n.order_no for n in sim.deliver_due(clock.now())] == ["R1"]
    assert calls == ["R1", "R1"] and sim.deliver_due(clock.now()) == []


def test_paysim_same_order_twice_is_charged_once(yeepay, clock, notes):
    first = yeepay.start(swift("R1"))
    second = yeepay.start(swift("R1"))
    assert second.duplicate and second.company_order_no == first.company_order_no
    yeepay.deliver_due(clock.now())
    assert yeepay.charged_total_fen() == 10_000 and len(notes) == 1
    with pytest.raises(OrderNoConflict):
        yeepay.start(swift("R1", amount_fen=20_000))
    assert yeepay.charged_total_fen() == 10_000


def test_paysim_web_online_banking(yeepay, clock):
    b2c = yeepay.start(PayRequest("W1", 300_000, RechargeWay.WEB, bankcode="PCBC", pay_type=PayType.B2C))
    b2b = yeepay.start(PayRequest("W2", 9_000_000, RechargeWay.WEB, bankcode="ICBK", pay_type=PayType.B2B))
    cashier = yeepay.start(PayRequest("W3", 100, RechargeWay.WEB))
    for res in (b2c, b2b, cashier):
        assert res.answer is StartAnswer.ACCEPTED and res.redirect_url and res.company_order_no in res.redirect_url
    assert yeepay.query("W2").status is PayStatus.SUCCESS  # no quick-pay limit on online banking
    assert yeepay.query("W2").fee_fen == 13_500  # 15 bp


def test_paysim_state_survives_a_restart(engine, clock, faults):
    faults.by_order["R1"] = PayFault.success(delay_s=120)
    PaymentCompanySimulator(engine, clock, "YEEPAY", faults=faults).start(swift("R1"))
    reborn_notes: list = []
    reborn = PaymentCompanySimulator(engine, clock, "YEEPAY", on_notify=reborn_notes.append)
    assert reborn.query("R1").status is PayStatus.PENDDING
    clock.advance(dt.timedelta(minutes=2))
    reborn.deliver_due(clock.now())
    assert [n.order_no for n in reborn_notes] == ["R1"] and reborn.query("R1").status is PayStatus.SUCCESS


def test_paysim_routing_by_company_keeps_companies_apart(engine, clock):
    yee = PaymentCompanySimulator(engine, clock, "YEEPAY")
    fuiou = PaymentCompanySimulator(engine, clock, "FUIOU")
    cloud = PaymentCloud([yee, fuiou])
    cloud.start("FUIOU", swift("R1"))
    cloud.start("YEEPAY", swift("R1", amount_fen=700))  # order numbers are per company
    assert cloud.query("FUIOU", "R1").amount_fen == 10_000
    assert cloud.query("YEEPAY", "R1").amount_fen == 700
    assert yee.query("R2").status is PayStatus.NOT_FOUND
    assert [n.company for n in fuiou.deliver_due(clock.now())] == [PayCompany.FUIOU]
    assert [n.company for n in yee.deliver_due(clock.now())] == [PayCompany.YEEPAY]


def test_paysim_seeded_rng_is_reproducible(engine, clock):
    plan = dict(seed=7, fail_rate=0.3, pending_rate=0.3, duplicate_rate=0.3)

    def run(prefix: str) -> list[tuple]:
        sim = PaymentCompanySimulator(engine, clock, "YEEPAY", faults=FaultPlan(**plan))
        out = []
        for k in range(30):
            sim.start(swift(f"{prefix}{k}", card=f"62220202001{k:08d}"))
            q = sim.query(f"{prefix}{k}")
            out.append((q.status, q.error_code))
        return out

    first, second = run("A"), run("B")
    assert first == second  # same seed, same company: the same story
    assert {s for s, _ in first} == {PayStatus.SUCCESS, PayStatus.FAIL, PayStatus.PENDDING}


def test_paysim_rng_failures_stick_to_the_card(engine, clock):
    sim = PaymentCompanySimulator(engine, clock, "YEEPAY", faults=FaultPlan(seed=11, fail_rate=0.5))
    cards = [f"62220202001{k:08d}" for k in range(12)]
    first = [sim.start(swift(f"A{k}", card=c)) and sim.query(f"A{k}") for k, c in enumerate(cards)]
    again = [sim.start(swift(f"B{k}", card=c)) and sim.query(f"B{k}") for k, c in enumerate(cards)]
    assert [(q.status, q.error_code) for q in first] == [(q.status, q.error_code) for q in again]
    assert {q.status for q in first} == {PayStatus.SUCCESS, PayStatus.FAIL}
