"""Fixtures for the payment cloud and payout channel simulators: a clock that only moves when told."""

from __future__ import annotations

import datetime as dt

import pytest

from cunguan.clock import BEIJING, FixedClock
from cunguan.payments.simulator import FaultPlan, PaymentCompanySimulator
from cunguan.payouts.simulator import PayoutChannelSimulator, PayoutFaultPlan

CARD = "6222020200112233445"
MOBILE = "13800138000"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2026, 11, 23, 10, 0, tzinfo=BEIJING))  # a Monday, a working day


@pytest.fixture
def faults() -> FaultPlan:
    return FaultPlan()


@pytest.fixture
def notes() -> list:
    return []


@pytest.fixture
def yeepay(engine, clock, faults, notes) -> PaymentCompanySimulator:
    return PaymentCompanySimulator(engine, clock, "YEEPAY", faults=faults, on_notify=notes.append)


@pytest.fixture
def payout_faults() -> PayoutFaultPlan:
    return PayoutFaultPlan()


@pytest.fixture
def channel(engine, clock, payout_faults) -> PayoutChannelSimulator:
    return PayoutChannelSimulator(engine, clock, faults=payout_faults)
