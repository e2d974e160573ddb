"""The money worker: what moves recharges and withdrawals along after their request has committed.

One `tick` (each step bounded, each state change its own transaction):
1. start NEW recharges at their payment company and query PENDDING ones that are due a look
   (a timed-out start, a notification that never came);
2. take the companies' due notifications (the simulators' `deliver_due`, at least once: duplicates and
   late copies are harmless, `apply_pay_result` credits once);
3. hand ACCEPT withdrawals whose time has come to the payout channel, and query REMITING ones;
4. import the settlement files that are due (T+1 working day) and apply them.

`api/lanmao/money_handlers.install_runtime(app)` builds the process's runtime (simulated payment companies for every §3.14 code and the
simulated payout channel, on the app's database and clock: there are no real adapters yet) and runs
`tick` in a daemon thread between start-up and shutdown, like notify/worker.py:

| env | default | meaning |
|---|---|---|
| `CUNGUAN_MONEY_WORKER` | `on` | `off`: no worker thread in this process (tests drive `tick` themselves; or `cunguan money run`) |
| `CUNGUAN_MONEY_INTERVAL_S` | `1` | pause between ticks when a tick found nothing to do |
| `CUNGUAN_OWN_BANK_CODE` | `BOSH` | our bank's code: payouts to it go BANK_OWN, others INTERBANK |

`app.state.money_worker = False` (before start-up) also disables the thread. Handlers and services
find the runtime of their engine with `get_runtime(engine)` (a default one is built on first use).
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from cunguan import periodic
from cunguan.clock import Clock
from cunguan.custody import recharges, settlement_intake, withdrawals
from cunguan.payments.gateway import PayCompany, PaymentCloud, PayNotification
from cunguan.payments.simulator import FaultPlan, PaymentCompanySimulator
from cunguan.payouts.channel import PayoutChannel
from cunguan.payouts.simulator import PayoutChannelSimulator, PayoutFaultPlan

log = logging.getLogger("cunguan.money")

MIN_INTERVAL_S = 0.05
MAX_INTERVAL_S = 60.0


@dataclass
class TickStats:
    recharges_looked_at: int = 0
    notifications: int = 0
    remitted: int = 0
    payouts_looked_at: int = 0
    settlements: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.recharges_looked_at or self.notifications or self.remitted or self.payouts_looked_at
                    or self.settlements)


class MoneyRuntime:
    """The payment cloud, the payout channel and the worker steps, for one database."""

    def __init__(self, engine: Engine, clock: Clock, *, simulators: Mapping[str, PaymentCompanySimulator] | None = None,
                 faults: Mapping[str, FaultPlan] | None = None, channel: PayoutChannel | None = None,
                 payout_faults: PayoutFaultPlan | None = None, own_bank_code: str = withdrawals.DEFAULT_OWN_BANK
                 ) -> None:
        self.engine = engine
        self.clock = clock
        if simulators is None:
            faults = faults or {}
            simulators = {c.value: PaymentCompanySimulator(engine, clock, c, faults=faults.get(c.value))
                          for c in PayCompany}
        self.simulators = dict(simulators)
        for sim in self.simulators.values():
            sim.on_notify = self.on_pay_notification
        self.cloud = PaymentCloud(self.simulators.values())
        self.channel = channel if channel is not None else PayoutChannelSimulator(engine, clock, faults=payout_faults)
        self.own_bank_code = own_bank_code
        self.report_log: list[settlement_intake.IntakeReport] = []

    # ------------------------------------------------------------ steps

    def on_pay_notification(self, note: PayNotification) -> str:
        return recharges.apply_pay_result(
            self.engine, self.clock, company=note.company.value, order_no=note.order_no, status=note.status,
            company_order_no=note.company_order_no, paid_at=note.paid_at, fee_fen=note.fee_fen,
            error_code=note.error_code, error_message=note.error_message)

    def deliver_notifications(self) -> int:
        return sum(len(sim.deliver_due()) for sim in self.simulators.values())

    def fetch_settlement(self, company: str, pay_date) -> Any:
        sim = self.simulators.get(company)
        return None if sim is None else sim.settlement_file(pay_date)

    def import_settlements(self) -> list[settlement_intake.IntakeReport]:
        reports = settlement_intake.import_due(self.engine, self.clock, self.fetch_settlement)
        for report in reports:
            if not report.clean:
                log.warning("settlement %s %s: %d missing ours, %d missing theirs, %d amount mismatches",
                            report.company, report.pay_date, len(report.missing_ours), len(report.missing_theirs),
                            len(report.amount_mismatch))
        self.report_log.extend(reports)
        return reports

    def tick(self) -> TickStats:
        stats = TickStats()
        stats.recharges_looked_at = recharges.poll_once(self.engine, self.clock, self.cloud)
        stats.notifications = self.deliver_notifications()
        stats.remitted = withdrawals.remit_due(self.engine, self.clock, self.channel, own_bank_code=self.own_bank_code)
        stats.payouts_looked_at = withdrawals.poll_remitting(self.engine, self.clock, self.channel,
                                                             own_bank_code=self.own_bank_code)
        stats.settlements = len(self.import_settlements())
        return stats

    def run_until_idle(self, max_ticks: int = 20) -> int:
        """Tick until a tick finds nothing to do (tests, CLI); returns the ticks run."""
        for n in range(1, max_ticks + 1):
            if not self.tick().busy:
                return n
        return max_ticks


# ---------------------------------------------------------------- one runtime per engine

_runtimes: weakref.WeakKeyDictionary[Engine, MoneyRuntime] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def set_runtime(engine: Engine, runtime: MoneyRuntime) -> MoneyRuntime:
    with _lock:
        _runtimes[engine] = runtime
    return runtime


def get_runtime(engine: Engine, clock: Clock | None = None) -> MoneyRuntime:
    with _lock:
        runtime = _runtimes.get(engine)
        if runtime is None:
            runtime = MoneyRuntime(engine, clock or Clock(), own_bank_code=own_bank_from_env(os.environ))
            _runtimes[engine] = runtime
        return runtime


def own_bank_from_env(env: Mapping[str, str]) -> str:
    return (env.get("CUNGUAN_OWN_BANK_CODE") or withdrawals.DEFAULT_OWN_BANK).strip().upper()


def start_background(runtime: MoneyRuntime, *, interval_s: float = 1.0) -> Callable[[], None]:
    """Tick in a daemon thread (again at once while a tick reports more work); return `stop()`."""
    assert MIN_INTERVAL_S <= interval_s <= MAX_INTERVAL_S
    return periodic.every(interval_s, lambda: runtime.tick().busy, name="cunguan-money", log=log)
