"""Fixtures for collection integration tests: a moving clock, the simulator, a seeded customer."""

from __future__ import annotations

import datetime as dt

import pytest

from cunguan.clock import BEIJING, FixedClock
from cunguan.interbank.simulator import FaultPlan, InterbankSimulator
from cunguan.sweep import demo
from cunguan.sweep.agreements import add_other_account
from cunguan.sweep.context import SweepConfig, SweepContext


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2026, 11, 5, 10, 0, tzinfo=BEIJING))


@pytest.fixture
def faults() -> FaultPlan:
    return FaultPlan()


@pytest.fixture
def sim(engine, clock, faults) -> InterbankSimulator:
    return InterbankSimulator(engine, clock, faults)


@pytest.fixture
def config() -> SweepConfig:
    return SweepConfig(query_interval_s=0.0)


@pytest.fixture
def ctx(engine, clock, sim, config) -> SweepContext:
    return SweepContext(engine, clock, sim, config)


@pytest.fixture
def cust(engine, sim) -> demo.DemoCustomer:
    return demo.seed(engine, sim)


@pytest.fixture
def other(ctx, cust):
    return add_other_account(ctx, cust.customer.id, bank_no=demo.OTHER_BANK_NO, bank_name=demo.OTHER_BANK_NAME,
                             account_no=cust.other_account_no, holder_name="张三", payee_account_id=cust.card.id)


def set_day(clock: FixedClock, year: int, month: int, day: int, hour: int = 2) -> dt.date:
    clock.set(dt.datetime(year, month, day, hour, 0, tzinfo=BEIJING))
    return clock.beijing_date()
