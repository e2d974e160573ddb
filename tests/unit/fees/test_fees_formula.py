"""The custody fee formula and periods, pure: rounding half-up to the fen, leap years, partial periods."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest

from cunguan.custody import custody_fees as cf
from cunguan.custody.errors import InvalidRequest


def test_period_bounds_for_every_length():
    day = dt.date(2024, 5, 17)
    assert cf.period_bounds(day, "MONTHLY") == (dt.date(2024, 5, 1), dt.date(2024, 5, 31))
    assert cf.period_bounds(day, "QUARTERLY") == (dt.date(2024, 4, 1), dt.date(2024, 6, 30))
    assert cf.period_bounds(day, "HALF_YEARLY") == (dt.date(2024, 1, 1), dt.date(2024, 6, 30))
    assert cf.period_bounds(day, "YEARLY") == (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert cf.period_bounds(dt.date(2024, 2, 1), "MONTHLY") == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert cf.period_bounds(dt.date(2025, 2, 28), "MONTHLY") == (dt.date(2025, 2, 1), dt.date(2025, 2, 28))
    assert cf.period_bounds(dt.date(2025, 12, 31), "QUARTERLY") == (dt.date(2025, 10, 1), dt.date(2025, 12, 31))


def test_days_in_year_knows_leap_years():
    assert [cf.days_in_year(y) for y in (2023, 2024, 2100, 2000)] == [365, 366, 365, 366]


def test_rate_fee_is_rate_times_balance_days_over_year():
    # 1,000,000.00 yuan every day of a 30-day month at 5 bp a year, 365-day year:
    # 100,000,000 fen * 30 * 0.0005 / 365 = 4109.589... fen -> 4110 fen
    balance_sum = 100_000_000 * 30
    assert cf.rate_fee_fen(balance_sum, cf.parse_rate_bp("5"), 365) == 4110
    # the same in a leap year divides by 366: 4098.36... -> 4098
    assert cf.rate_fee_fen(balance_sum, cf.parse_rate_bp("5"), 366) == 4098


def test_rounding_is_half_up_at_exactly_half_a_fen():
    # rate 50 % a year over a 365-day year: fee = sum / 730, so sum = 365 is exactly half a fen
    assert cf.rate_fee_fen(365, 500_000, 365) == 1
    assert cf.rate_fee_fen(364, 500_000, 365) == 0  # 0.4986 -> 0
    assert cf.rate_fee_fen(365 * 3, 500_000, 365) == 2  # 1.5 -> 2
    assert cf.rate_fee_fen(365 * 5, 500_000, 365) == 3  # 2.5 -> 3 (banker's rounding would give 2)


@pytest.mark.parametrize("balance_sum,ppm,year", [
    (0, 500, 365), (1, 1, 366), (123_456_789, 500, 365), (987_654_321_012, 333, 366),
    (10**15, 1_000_000, 365), (73, 500_000, 365), (36_500, 100, 365),
])
def test_integer_formula_equals_decimal_half_up(balance_sum, ppm, year):
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(balance_sum) * Decimal(ppm) / (Decimal(1_000_000) * Decimal(year))
        expected = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert cf.rate_fee_fen(balance_sum, ppm, year) == expected


def test_flat_fee_full_and_partial_periods():
    assert cf.flat_fee_fen(100_000, 30, 30) == 100_000
    # configured on Nov 23: 8 of 30 days -> 100,000 * 8 / 30 = 26666.67 -> 26667
    assert cf.flat_fee_fen(100_000, 8, 30) == 26_667
    # half a fen rounds up: 3 fen over 2 of 4 days = 1.5 -> 2
    assert cf.flat_fee_fen(3, 2, 4) == 2
    assert cf.flat_fee_fen(0, 3, 31) == 0


def test_average_daily_balance_for_display():
    assert cf.average_daily_fen(100_001 * 3, 3) == Decimal("1000.01")
    assert cf.average_daily_fen(5, 2) == Decimal("0.03")  # 2.5 fen -> 3 fen


def test_rate_parsing_is_exact_and_bounded():
    assert cf.parse_rate_bp("5") == 500
    assert cf.parse_rate_bp("2.5") == 250
    assert cf.parse_rate_bp("0.01") == 1
    assert cf.parse_rate("0.0005") == 500
    assert cf.parse_rate("0.05%") == 500
    assert cf.format_rate(250) == "2.5 bp"
    for bad in ("0.001", "abc", "-1", "NaN", "inf", "10001"):
        with pytest.raises(InvalidRequest):
            cf.parse_rate_bp(bad)
    with pytest.raises(InvalidRequest):
        cf.parse_rate("0.0000001")  # finer than 1 ppm
    with pytest.raises(InvalidRequest):
        cf.parse_rate(0.0005)  # a float is refused, never converted


def test_day_end_is_the_last_microsecond_of_the_beijing_day():
    end = cf.day_end_us(dt.date(2026, 10, 31))
    # Beijing midnight of Nov 1 = 2026-10-31 16:00 UTC
    assert end == int(dt.datetime(2026, 10, 31, 16, 0, tzinfo=dt.UTC).timestamp()) * 1_000_000 - 1
