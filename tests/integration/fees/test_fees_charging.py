"""Custody fees against a real database: configure → deposit → charge (once), arrears collected later,
custody accounts untouched, the ledger audit clean."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from cunguan.custody import custody_fees as cf
from cunguan.custody.errors import InvalidRequest, PlatformNotFound, Refused
from cunguan.db.ledger_audit import audit
from cunguan.db.tables.custody_fees import custody_fee_charges, custody_fee_movements
from cunguan.db.tables.ledger import postings

from .conftest import P1, FeeWorld, beijing

pytestmark = pytest.mark.db

MILLION = 100_000_000  # 1,000,000.00 yuan in fen


def test_rate_fee_from_day_end_balances_charged_once(world: FeeWorld):
    plan = world.configure(period="MONTHLY", annual_rate_ppm=cf.parse_rate_bp("5"),
                           start_date=dt.date(2026, 10, 1))
    assert plan.method == "RATE" and plan.annual_rate_ppm == 500
    world.at(beijing(2026, 10, 1, 10))
    world.custody_in(P1, MILLION)
    world.at(beijing(2026, 10, 16, 23))  # counts for the 16th: the balance at the day's end
    world.custody_in(P1, MILLION)
    world.at(beijing(2026, 10, 20))
    assert world.deposit(10_000, "D-1").replayed is False
    custody_before = world.custody_state(P1)

    world.at(beijing(2026, 10, 31, 23))
    assert world.run().charged == []  # the period has not ended yet

    world.at(beijing(2026, 11, 1, 9))
    report = world.run()
    # Oct 1-15: 1,000,000.00; Oct 16-31: 2,000,000.00. 500 ppm * (15 + 32) * 1e8 / (1e6 * 365) = 6438.36
    (charge,) = report.charged
    assert (charge.period_start, charge.period_end, charge.days) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31), 31)
    assert charge.balance_sum_fen == 47 * MILLION and charge.year_days == 365
    assert (charge.fee_fen, charge.paid_fen, charge.status) == (6438, 6438, "PAID")
    assert world.own() == 10_000 - 6438 and world.income() == 6438

    again = world.run()  # same day, and the next day: nothing more
    world.at(beijing(2026, 11, 2))
    assert again.charged == [] and world.run().charged == []
    assert len(world.charges()) == 1 and world.own() == 3562
    assert world.custody_state(P1) == custody_before  # the fee never touches custody money
    assert audit(world.engine) == []


def test_short_own_account_leaves_arrears_collected_at_later_runs(world: FeeWorld):
    world.configure(period="MONTHLY", flat_fee_fen=10_000, start_date=dt.date(2026, 10, 1))
    world.deposit(3_000, "D-1")
    world.at(beijing(2026, 11, 1))
    (oct_,) = world.run().charged
    assert (oct_.fee_fen, oct_.paid_fen, oct_.status, oct_.owed_fen) == (10_000, 3_000, "OWED", 7_000)
    assert world.own() == 0  # never overdrawn

    assert world.run().collected == []  # nothing to collect with: nothing changes
    world.deposit(5_000, "D-2")
    world.at(beijing(2026, 11, 5))
    report = world.run()
    assert report.collected == [(P1, dt.date(2026, 10, 1), 5_000)] and report.charged == []
    assert world.charges()[0].status == "OWED" and world.charges()[0].owed_fen == 2_000

    world.deposit(10_000, "D-3")
    world.at(beijing(2026, 12, 1))
    report = world.run()
    assert report.collected == [(P1, dt.date(2026, 10, 1), 2_000)]  # the oldest arrear first
    oct_, nov = world.charges()
    assert (oct_.status, oct_.paid_fen, oct_.settled_us is not None) == ("PAID", 10_000, True)
    assert (nov.period_start, nov.fee_fen, nov.paid_fen, nov.status) == (dt.date(2026, 11, 1), 10_000, 8_000, "OWED")
    assert world.own() == 0 and world.income() == 18_000
    with world.engine.connect() as conn:
        owed = cf.owed_total(conn, P1)
        kinds = [m.kind for m in reversed(cf.movements(conn, P1))]
    assert owed == 2_000
    assert kinds == ["DEPOSIT", "FEE", "DEPOSIT", "ARREARS", "DEPOSIT", "ARREARS", "FEE"]
    assert audit(world.engine) == []


def test_partial_first_period_and_catch_up_of_several_periods(world: FeeWorld):
    world.at(beijing(2026, 11, 23))
    plan = world.configure(period="MONTHLY", flat_fee_fen=30_000)  # starts today, Beijing
    assert plan.start_date == dt.date(2026, 11, 23)
    world.deposit(1_000_000, "D-1")
    world.at(beijing(2027, 2, 3))  # nobody ran the job for a while: Nov (partial), Dec and Jan are due
    report = world.run()
    assert [(c.period_start, c.period_end, c.days, c.fee_fen) for c in report.charged] == [
        (dt.date(2026, 11, 23), dt.date(2026, 11, 30), 8, 8_000),  # 30,000 * 8 / 30
        (dt.date(2026, 12, 1), dt.date(2026, 12, 31), 31, 30_000),
        (dt.date(2027, 1, 1), dt.date(2027, 1, 31), 31, 30_000),
    ]
    assert world.own() == 1_000_000 - 68_000 and audit(world.engine) == []


def test_leap_year_quarter_divides_by_366(world: FeeWorld, fees_public_key_pem):
    world.at(beijing(2024, 1, 1, 1))
    world.platform("6000000002", fees_public_key_pem)
    world.configure("6000000002", period="QUARTERLY", annual_rate_ppm=cf.parse_rate("0.001"),
                    start_date=dt.date(2024, 1, 1))
    world.custody_in("6000000002", 36_600_000)  # 366,000.00 yuan from Jan 1 on
    world.deposit(100_000, "D-1", "6000000002")
    world.at(beijing(2024, 4, 1))
    (q1,) = world.run(platform_no="6000000002").charged
    # Q1 2024 has 91 days: 36,600,000 * 91 * 0.001 / 366 = 9100.00 exactly
    assert (q1.days, q1.year_days, q1.fee_fen, q1.status) == (91, 366, 9_100, "PAID")
    assert world.run(platform_no=P1).charged == []  # P1 has no plan


def test_reconfiguring_applies_to_the_next_uncharged_period(world: FeeWorld):
    world.configure(period="MONTHLY", flat_fee_fen=1_000, start_date=dt.date(2026, 10, 1))
    world.deposit(100_000, "D-1")
    world.at(beijing(2026, 11, 10))
    world.run()
    with pytest.raises(InvalidRequest):
        world.configure(period="MONTHLY", flat_fee_fen=1_000, start_date=dt.date(2026, 10, 15))
    world.configure(period="QUARTERLY", flat_fee_fen=9_000)  # Nov 1 .. Dec 31 is 61 of Q4's 92 days
    world.at(beijing(2027, 1, 1))
    (q4,) = world.run().charged
    assert (q4.period_start, q4.period_end, q4.days, q4.period_days, q4.fee_fen) == (
        dt.date(2026, 11, 1), dt.date(2026, 12, 31), 61, 92, 5_967)  # 9000 * 61 / 92 = 5967.39


def test_deposit_is_idempotent_per_reference(world: FeeWorld):
    world.configure(period="MONTHLY", flat_fee_fen=0)
    assert world.deposit(5_000, "D-1").replayed is False
    assert world.deposit(5_000, "D-1").replayed is True
    with pytest.raises(Refused):
        world.deposit(6_000, "D-1")
    with pytest.raises(InvalidRequest):
        world.deposit(0, "D-2")
    with pytest.raises(PlatformNotFound):
        world.deposit(1, "D-3", platform_no="9999999999")
    assert world.own() == 5_000
    with world.engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(postings).where(postings.c.biz_type == cf.BIZ_DEPOSIT)).scalar()
    assert n == 1


def test_zero_fee_is_recorded_without_a_posting(world: FeeWorld):
    world.configure(period="MONTHLY", annual_rate_ppm=500, start_date=dt.date(2026, 10, 1))
    world.at(beijing(2026, 11, 1))
    (charge,) = world.run().charged
    assert (charge.fee_fen, charge.status, charge.balance_sum_fen) == (0, "PAID", 0)
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(custody_fee_movements)).scalar() == 0


def test_configure_refuses_bad_terms(world: FeeWorld):
    with pytest.raises(InvalidRequest):
        world.configure(period="WEEKLY", flat_fee_fen=1)
    with pytest.raises(InvalidRequest):
        world.configure(period="MONTHLY", flat_fee_fen=1, annual_rate_ppm=1)
    with pytest.raises(InvalidRequest):
        world.configure(period="MONTHLY")
    with pytest.raises(PlatformNotFound):
        world.configure("9999999999", period="MONTHLY", flat_fee_fen=1)
    with world.engine.connect() as conn:
        assert cf.find_plan(conn, P1) is None


def test_concurrent_runners_charge_each_period_once(world: FeeWorld):
    world.configure(period="MONTHLY", flat_fee_fen=10_000, start_date=dt.date(2026, 7, 1))
    world.deposit(25_000, "D-1")
    world.at(beijing(2026, 11, 1))
    barrier = threading.Barrier(4)
    reports: list[cf.RunReport] = []

    def runner():
        barrier.wait()
        reports.append(world.run())

    threads = [threading.Thread(target=runner) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r.failed == [] for r in reports)
    assert sum(len(r.charged) for r in reports) == 4  # Jul, Aug, Sep, Oct: each once
    with world.engine.connect() as conn:
        rows = conn.execute(select(custody_fee_charges.c.period_start, custody_fee_charges.c.paid_fen)
                            .order_by(custody_fee_charges.c.period_start)).all()
    assert [r[1] for r in rows] == [10_000, 10_000, 5_000, 0]
    assert world.own() == 0 and world.income() == 25_000 and audit(world.engine) == []
