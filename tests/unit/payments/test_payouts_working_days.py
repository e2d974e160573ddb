"""Payout dates and working time (payouts/working_days.py) and the payout order's own checks."""

from __future__ import annotations

import datetime as dt

import pytest

from cunguan.clock import BEIJING
from cunguan.payouts.channel import InvalidPayoutOrder, PayoutOrder, RemitType, Route, route_for
from cunguan.payouts.working_days import is_working_time, normal_batch_at, remit_date


def bj(y, m, d, hh=10, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=BEIJING)


@pytest.mark.parametrize(("at", "expected"), [
    (bj(2026, 11, 23, 8, 29), False),
    (bj(2026, 11, 23, 8, 30), True),
    (bj(2026, 11, 23, 16, 59), True),
    (bj(2026, 11, 23, 17, 0), False),
    (bj(2026, 11, 21, 10, 0), False),  # Saturday
    (bj(2025, 10, 11, 10, 0), True),  # make-up working Saturday
    (bj(2025, 10, 2, 10, 0), False),  # National Day
])
def test_payouts_working_time(at, expected):
    assert is_working_time(at) is expected
    assert is_working_time(at.astimezone(dt.UTC)) is expected  # any timezone in, Beijing rules


def test_payouts_remit_dates():
    assert remit_date("NORMAL", bj(2026, 11, 20, 15)) == dt.date(2026, 11, 23)  # Fri -> Mon
    assert remit_date("NORMAL", bj(2026, 11, 20, 23, 59)) == dt.date(2026, 11, 23)
    assert remit_date("NORMAL", bj(2025, 9, 30)) == dt.date(2025, 10, 9)  # National Day
    assert remit_date("NORMAL", bj(2025, 10, 10)) == dt.date(2025, 10, 11)  # make-up Saturday
    assert remit_date("URGENT", bj(2025, 10, 3)) == dt.date(2025, 10, 3)  # T0 even on a holiday
    assert remit_date("NORMAL_URGENT", bj(2026, 11, 21)) == dt.date(2026, 11, 21)
    # 00:30 Beijing on Monday is still Sunday in UTC: the Beijing date counts
    assert remit_date("NORMAL", dt.datetime(2026, 11, 22, 16, 30, tzinfo=dt.UTC)) == dt.date(2026, 11, 24)
    assert normal_batch_at(dt.date(2026, 11, 23)) == bj(2026, 11, 23, 10, 0)
    with pytest.raises(ValueError):
        remit_date("D0", bj(2026, 11, 23))


def test_payouts_order_checks():
    good = dict(order_no="W1", account_no="6222020200112233445", account_name="张三", bank_code="ICBK",
                amount_fen=100, route="INTERBANK", remit_type="NORMAL")
    order = PayoutOrder(**good)
    order.validate()
    assert order.route is Route.INTERBANK and order.remit_type is RemitType.NORMAL
    with pytest.raises(InvalidPayoutOrder):
        PayoutOrder(**{**good, "route": "SWIFT"})
    for bad in ({"amount_fen": 0}, {"order_no": ""}, {"account_name": ""}, {"account_no": ""}):
        with pytest.raises(InvalidPayoutOrder):
            PayoutOrder(**{**good, **bad}).validate()
    assert route_for("BOSH", "BOSH") is Route.BANK_OWN and route_for("ICBK", "BOSH") is Route.INTERBANK
