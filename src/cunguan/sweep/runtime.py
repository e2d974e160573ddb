"""Building a SweepContext for a real process (server, CLI).

Decisions:
- the only connector is the simulator, so process wiring uses it on the same database (its own
  `ibsim_*` tables). A real IBPS front-end adapter would be chosen here by configuration, and nothing
  else would change;
- the customer fee per transfer comes from `CUNGUAN_SWEEP_FEE_YUAN` (default 0: free at launch) and the
  bank's IBPS fee per debit from `CUNGUAN_SWEEP_IBPS_FEE_YUAN` (default 1.00).
"""

from __future__ import annotations

import os

from sqlalchemy.engine import Engine

from cunguan.clock import Clock
from cunguan.interbank.simulator import InterbankSimulator
from cunguan.money import parse_yuan
from cunguan.sweep.context import SweepConfig, SweepContext

ENV_FEE = "CUNGUAN_SWEEP_FEE_YUAN"
ENV_IBPS_FEE = "CUNGUAN_SWEEP_IBPS_FEE_YUAN"


def config_from_env(env: dict[str, str] | None = None) -> SweepConfig:
    env = dict(os.environ if env is None else env)
    return SweepConfig(
        customer_fee_fen=parse_yuan(env.get(ENV_FEE, "0"), field=ENV_FEE, allow_zero=True),
        interbank_fee_fen=parse_yuan(env.get(ENV_IBPS_FEE, "1.00"), field=ENV_IBPS_FEE, allow_zero=True),
    )


def default_context(engine: Engine, clock: Clock | None = None, config: SweepConfig | None = None) -> SweepContext:
    clock = clock or Clock()
    return SweepContext(engine, clock, InterbankSimulator(engine, clock), config or config_from_env())
