"""Rejects, timeouts, crashes, cooldown, expiry and concurrency."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from cunguan.db.tables.sweep import sweep_rules, sweep_runs, sweep_transfers
from cunguan.interbank.connector import RejectCode
from cunguan.interbank.simulator import Fault, SimulatedCrash
from cunguan.money import yuan
from cunguan.notify import sms
from cunguan.retail import store as retail
from cunguan.sweep import demo
from cunguan.sweep.agreements import renew_agreement
from cunguan.sweep.context import SweepConfig
from cunguan.sweep.errors import Cooldown
from cunguan.sweep.execute import resume_stale_runs
from cunguan.sweep.manual import run_manual
from cunguan.sweep.rules import create_rule, get_rule
from cunguan.sweep.scheduler import run_due

from .conftest import set_day

D = dt.date


def _rule(ctx, cust, other, **kw):
    args = dict(other_account_id=other.id, collecting_account_id=cust.card.id, mode="FULL", amount_fen=None, cycle=6)
    args.update(kw)
    return create_rule(ctx, cust.customer.id, **args)


def _transfer_rows(engine, run_id):
    with engine.connect() as conn:
        return [(r.amount_fen, r.status, r.reject_code) for r in conn.execute(select(sweep_transfers).where(
            sweep_transfers.c.run_id == run_id).order_by(sweep_transfers.c.seq))]


def _card(engine, cust):
    with engine.connect() as conn:
        return retail.balance_fen(conn, cust.card)


def test_sweep_reject_in_the_middle_stops_the_run(ctx, cust, other, clock, faults, engine, sim):
    _rule(ctx, cust, other)
    faults.by_call[2] = Fault(reject=RejectCode.ACCOUNT_ABNORMAL)
    set_day(clock, 2026, 11, 6)
    run = run_due(ctx).runs[0]
    assert (run.status, run.moved_fen, run.reject_code) == ("PARTIAL", yuan(50_000), "RJ11")
    assert _transfer_rows(engine, run.run_id) == [
        (yuan(50_000), "SUCCESS", None), (yuan(50_000), "REJECTED", "RJ11"),
        (yuan(50_000), "CANCELLED", None), (yuan(49_960), "CANCELLED", None)]
    assert _card(engine, cust) == yuan(50_000)
    assert sim.balance(demo.OTHER_BANK_NO, cust.other_account_no) == yuan(150_000)
    with engine.connect() as conn:
        body = sms.messages(conn)[-1]["body"]
    assert "部分成功" in body and "50000.00" in body and "RJ11" in body


def test_sweep_real_insufficient_balance_reject(ctx, cust, other, clock, engine, sim):
    _rule(ctx, cust, other)
    set_day(clock, 2026, 11, 6)
    # the customer spends at the other bank between our balance query and the second debit
    original = sim.debit
    calls = []

    def debit(req):
        calls.append(req.serial)
        if len(calls) == 2:
            sim.set_balance(demo.OTHER_BANK_NO, cust.other_account_no, yuan(1_000))
        return original(req)

    sim.debit = debit
    run = run_due(ctx).runs[0]
    assert (run.status, run.reject_code) == ("PARTIAL", "RJ03")


def test_sweep_first_transfer_rejected_is_failed(ctx, cust, other, clock, faults):
    _rule(ctx, cust, other)
    faults.by_call[1] = Fault(reject=RejectCode.PARTICIPANT_CLOSED)
    set_day(clock, 2026, 11, 6)
    run = run_due(ctx).runs[0]
    assert (run.status, run.moved_fen, run.reject_code) == ("FAILED", 0, "RJ19")


@pytest.mark.parametrize("applied", [True, False])
def test_sweep_timeout_is_queried_never_resent(ctx, cust, other, clock, faults, engine, sim, applied):
    _rule(ctx, cust, other, mode="FIXED", amount_fen=yuan(120_000))
    faults.by_call[2] = Fault(timeout=True, applied=applied, pending_queries=3)
    set_day(clock, 2026, 11, 6)
    run = run_due(ctx).runs[0]
    rows = _transfer_rows(engine, run.run_id)
    if applied:
        assert run.status == "SUCCESS" and run.moved_fen == yuan(120_000)
    else:
        assert run.status == "PARTIAL" and run.moved_fen == yuan(50_000)
        assert rows[1][1] == "REJECTED" and rows[2][1] == "CANCELLED"
    with engine.connect() as conn:
        serials = [r.serial for r in conn.execute(select(sweep_transfers.c.serial).where(
            sweep_transfers.c.status.in_(["SUCCESS", "REJECTED"])))]
        queries = conn.execute(select(sweep_transfers.c.queries).where(sweep_transfers.c.seq == 2)).scalar_one()
    assert all(sim.received_count(s) == 1 for s in serials)
    assert queries == 4  # three 'still processing' answers, then the truth
    assert _card(engine, cust) == run.moved_fen
    assert yuan(200_000) - sim.balance(demo.OTHER_BANK_NO, cust.other_account_no) == run.moved_fen


def test_sweep_unresolved_timeout_leaves_the_run_for_the_resumer(engine, clock, sim, faults, cust):
    from cunguan.sweep.agreements import add_other_account
    from cunguan.sweep.context import SweepContext

    ctx = SweepContext(engine, clock, sim, SweepConfig(query_interval_s=0.0, query_attempts=2))
    other = add_other_account(ctx, cust.customer.id, bank_no=demo.OTHER_BANK_NO, bank_name="x",
                              account_no=cust.other_account_no, holder_name="张三", payee_account_id=cust.card.id)
    _rule(ctx, cust, other, mode="FIXED", amount_fen=yuan(100))
    faults.by_call[1] = Fault.timeout_applied(pending_queries=5)
    set_day(clock, 2026, 11, 6)
    run = run_due(ctx).runs[0]
    assert run.status == "RUNNING"
    assert resume_stale_runs(ctx) == []  # heartbeat is fresh
    clock.advance(dt.timedelta(minutes=10))
    assert [r.status for r in resume_stale_runs(ctx)] == ["RUNNING"]  # still unknown after 2 more queries
    clock.advance(dt.timedelta(minutes=10))
    assert [r.status for r in resume_stale_runs(ctx)] == ["SUCCESS"]
    assert sim.total_received() == 1


def test_sweep_crash_after_sent_resumes_by_querying(ctx, cust, other, clock, faults, engine, sim):
    rule = _rule(ctx, cust, other)
    faults.by_call[2] = Fault(crash_after=True)
    set_day(clock, 2026, 11, 6)
    with pytest.raises(SimulatedCrash):
        run_due(ctx)
    with engine.connect() as conn:
        run = conn.execute(select(sweep_runs)).mappings().one()
        statuses = [r.status for r in conn.execute(select(sweep_transfers.c.status).order_by(sweep_transfers.c.seq))]
    assert run["status"] == "RUNNING" and statuses == ["SUCCESS", "SENT", "PLANNED", "PLANNED"]
    # the process restarts; the scheduler's next tick a while later resumes the run
    clock.advance(dt.timedelta(minutes=6))
    report = run_due(ctx)
    assert [r.status for r in report.resumed] == ["SUCCESS"] and report.runs == []
    assert sim.total_received() == 4  # every debit exactly once
    assert _card(engine, cust) == yuan(199_960)
    from cunguan.db.ledger_audit import first_violation

    assert first_violation(engine) is None
    with engine.connect() as conn:
        assert get_rule(conn, rule.id).status == "ACTIVE"
        assert conn.execute(select(sweep_rules.c.running_run_id)).scalar() is None


def test_sweep_manual_cooldown(ctx, cust, other, clock, engine):
    _rule(ctx, cust, other, mode="FIXED", amount_fen=yuan(100))
    set_day(clock, 2026, 11, 7)
    result = run_manual(ctx, cust.customer.id)
    assert [o.status for o in result.outcomes] == ["SUCCESS"] and result.moved_fen == yuan(100)
    with pytest.raises(Cooldown) as exc:
        run_manual(ctx, cust.customer.id)
    assert exc.value.seconds_remaining == 120
    clock.advance(dt.timedelta(seconds=119))
    with pytest.raises(Cooldown) as exc:
        run_manual(ctx, cust.customer.id)
    assert exc.value.seconds_remaining == 1 and "1 seconds" in exc.value.message
    clock.advance(dt.timedelta(seconds=1))
    assert run_manual(ctx, cust.customer.id).moved_fen == yuan(100)


def test_sweep_manual_refuses_pending_rule(ctx, cust, other):
    from cunguan.sweep.errors import RuleNotModifiable

    rule = _rule(ctx, cust, other)
    with pytest.raises(RuleNotModifiable, match="takes effect"):
        run_manual(ctx, cust.customer.id, [rule.id])


def test_sweep_expiry_timeline(engine, clock, sim, cust):
    from cunguan.sweep.agreements import add_other_account
    from cunguan.sweep.context import SweepContext

    ctx = SweepContext(engine, clock, sim, SweepConfig(query_interval_s=0.0, agreement_days=60))
    other = add_other_account(ctx, cust.customer.id, bank_no=demo.OTHER_BANK_NO, bank_name="工商银行",
                              account_no=cust.other_account_no, holder_name="张三", payee_account_id=cust.card.id)
    assert other.end_date == D(2027, 1, 4)
    rule = _rule(ctx, cust, other, mode="FIXED", amount_fen=yuan(100), cycle=5)

    def reminders():
        with engine.connect() as conn:
            return [m for m in sms.messages(conn) if m["kind"] == "SWEEP_RENEW_REMINDER"]

    assert run_due(ctx, D(2026, 12, 4)).reminders == 0
    assert run_due(ctx, D(2026, 12, 5)).reminders == 1  # 30 days before Jan 4
    assert run_due(ctx, D(2026, 12, 6)).reminders == 0 and len(reminders()) == 1
    set_day(clock, 2027, 1, 5)  # expired yesterday: the scheduled run is recorded as failed
    run = run_due(ctx).runs[0]
    assert run.status == "FAILED" and "expired on 2027-01-04" in (run.reason or "")
    set_day(clock, 2027, 2, 3)  # last day of grace: still ACTIVE
    assert run_due(ctx).invalidated == 0
    set_day(clock, 2027, 2, 4)
    report = run_due(ctx)
    assert report.invalidated == 1
    with engine.connect() as conn:
        assert get_rule(conn, rule.id).status == "INVALID"
    from cunguan.sweep.errors import AgreementRefused

    with pytest.raises(AgreementRefused, match="renewal period has ended"):
        renew_agreement(ctx, cust.customer.id, other.id)
    assert run_due(ctx, D(2027, 3, 5)).runs == []  # never runs again


def test_sweep_renewal_within_grace_resumes_collection(engine, clock, sim, cust):
    from cunguan.sweep.agreements import add_other_account
    from cunguan.sweep.context import SweepContext

    ctx = SweepContext(engine, clock, sim, SweepConfig(query_interval_s=0.0, agreement_days=60))
    other = add_other_account(ctx, cust.customer.id, bank_no=demo.OTHER_BANK_NO, bank_name="工商银行",
                              account_no=cust.other_account_no, holder_name="张三", payee_account_id=cust.card.id)
    _rule(ctx, cust, other, mode="FIXED", amount_fen=yuan(100), cycle=10)
    set_day(clock, 2027, 1, 10)
    assert run_due(ctx).runs[0].status == "FAILED"
    renewed = renew_agreement(ctx, cust.customer.id, other.id)
    assert renewed.end_date == D(2027, 1, 10) + dt.timedelta(days=60)
    assert run_due(ctx, D(2027, 2, 10)).runs[0].status == "SUCCESS"
    assert run_due(ctx, D(2027, 3, 10)).invalidated == 0


def test_sweep_manual_and_scheduler_race_each_transfer_once(ctx, cust, other, clock, engine, sim):
    rule = _rule(ctx, cust, other)
    set_day(clock, 2026, 11, 6)
    original = sim.debit

    def slow_debit(req):
        import time

        time.sleep(0.01)  # keeps both runs in flight at the same time
        return original(req)

    sim.debit = slow_debit
    barrier = threading.Barrier(2)
    results, errors = {}, []

    def manual():
        try:
            barrier.wait()
            results["manual"] = run_manual(ctx, cust.customer.id, [rule.id])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    def scheduler():
        try:
            barrier.wait()
            results["scheduler"] = run_due(ctx)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=manual), threading.Thread(target=scheduler)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    # whoever lost the claim ran nothing; the scheduler retries on a later tick
    run_due(ctx)
    with engine.connect() as conn:
        serials = [r.serial for r in conn.execute(select(sweep_transfers.c.serial).where(
            sweep_transfers.c.status == "SUCCESS"))]
        scheduled = conn.execute(select(sweep_runs.c.id).where(sweep_runs.c.kind == "SCHEDULED")).all()
    assert len(scheduled) == 1
    assert sim.total_received() == len(serials) and all(sim.received_count(s) == 1 for s in serials)
    moved = yuan(200_000) - sim.balance(demo.OTHER_BANK_NO, cust.other_account_no)
    assert _card(engine, cust) == moved
    # either one run took it all (40 left), or both ran one after the other (the second moves 30 of 40)
    assert moved in (yuan(199_960), yuan(199_990))


def test_sweep_random_timeouts_keep_books_equal(engine, clock, cust):
    """Seeded random timeouts (half really applied): whatever happens, every serial is sent once and
    our ledger matches what left the other bank."""
    from cunguan.interbank.simulator import FaultPlan, InterbankSimulator
    from cunguan.sweep.agreements import add_other_account
    from cunguan.sweep.context import SweepContext

    sim = InterbankSimulator(engine, clock, FaultPlan(timeout_rate=0.4, seed=11))
    sim.set_balance(demo.OTHER_BANK_NO, cust.other_account_no, yuan(1_000_000))
    ctx = SweepContext(engine, clock, sim, SweepConfig(query_interval_s=0.0))
    other = add_other_account(ctx, cust.customer.id, bank_no=demo.OTHER_BANK_NO, bank_name="x",
                              account_no=cust.other_account_no, holder_name="张三", payee_account_id=cust.card.id)
    _rule(ctx, cust, other)
    set_day(clock, 2026, 11, 6)
    run = run_due(ctx).runs[0]
    assert run.status in ("SUCCESS", "PARTIAL", "FAILED")
    with engine.connect() as conn:
        serials = [r.serial for r in conn.execute(select(sweep_transfers.c.serial).where(
            sweep_transfers.c.status != "CANCELLED"))]
    assert sim.total_received() == len(serials) and all(sim.received_count(s) == 1 for s in serials)
    moved = yuan(1_000_000) - sim.balance(demo.OTHER_BANK_NO, cust.other_account_no)
    assert _card(engine, cust) == moved == run.moved_fen


def test_sweep_two_schedulers_one_run_per_date(ctx, cust, other, clock, engine, sim):
    _rule(ctx, cust, other)
    set_day(clock, 2026, 11, 6)
    original = sim.debit

    def slow_debit(req):
        import time

        time.sleep(0.01)
        return original(req)

    sim.debit = slow_debit
    barrier = threading.Barrier(3)
    errors = []

    def tick():
        try:
            barrier.wait()
            run_due(ctx)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=tick) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with engine.connect() as conn:
        assert len(conn.execute(select(sweep_runs.c.id)).all()) == 1
    assert sim.total_received() == 4 and _card(engine, cust) == yuan(199_960)


def test_sweep_connector_errors_are_unknown_not_resent(ctx, cust, other, clock, engine, sim):
    """A transport error on the debit is an unknown outcome: the debit is queried, not sent again."""
    _rule(ctx, cust, other, mode="FIXED", amount_fen=yuan(100))
    original_debit, original_query = sim.debit, sim.query_debit
    queries = []

    def debit(req):
        original_debit(req)  # the other bank got it ...
        raise ConnectionError("reset by peer")  # ... but the answer was lost

    def query(serial):
        queries.append(serial)
        if len(queries) == 1:
            raise TimeoutError("query timed out")
        return original_query(serial)

    sim.debit, sim.query_debit = debit, query
    set_day(clock, 2026, 11, 6)
    run = run_due(ctx).runs[0]
    assert (run.status, run.moved_fen) == ("SUCCESS", yuan(100))
    assert sim.total_received() == 1 and len(queries) == 2


def test_sweep_balance_query_error_fails_the_run(ctx, cust, other, clock, sim):
    _rule(ctx, cust, other)

    def broken(_no):
        raise ConnectionError("down")

    sim.query_balance = broken
    set_day(clock, 2026, 11, 6)
    run = run_due(ctx).runs[0]
    assert (run.status, run.reject_code, run.moved_fen) == ("FAILED", "RJ90", 0)
    assert sim.total_received() == 0
