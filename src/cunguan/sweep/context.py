"""What every collection operation needs: the database, the clock, the interbank connector and the
configurable constants. Built once at the edge (API, CLI, tests) and passed in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from cunguan.clock import Clock
from cunguan.interbank.connector import InterbankConnector
from cunguan.sweep.split import DEFAULT_LIMITS, SplitLimits


@dataclass(frozen=True, slots=True)
class SweepConfig:
    limits: SplitLimits = DEFAULT_LIMITS
    customer_fee_fen: int = 0  # charged to the customer per successful transfer (free at launch)
    interbank_fee_fen: int = 100  # what IBPS charges the bank per debit: the bank's expense
    agreement_days: int = 365  # validity of a newly signed or renewed payment agreement
    reminder_days: int = 30  # renewal SMS this many days before the end date
    grace_days: int = 30  # renewal still possible this many days after the end date
    cooldown_s: int = 120  # between two manual collections of one customer
    query_attempts: int = 20  # queries of an unknown (timed-out) debit before leaving it for later
    query_interval_s: float = 0.05
    stale_run_s: int = 300  # a RUNNING run without heartbeat for this long is resumed by the scheduler

    def __post_init__(self) -> None:
        assert self.customer_fee_fen >= 0 and self.interbank_fee_fen >= 0 and self.cooldown_s >= 0
        assert self.query_attempts >= 1


@dataclass
class SweepContext:
    engine: Engine
    clock: Clock
    connector: InterbankConnector
    config: SweepConfig = field(default_factory=SweepConfig)

    def today(self) -> dt.date:
        return self.clock.beijing_date()

    def now_us(self) -> int:
        return int(self.clock.now().timestamp() * 1_000_000)
