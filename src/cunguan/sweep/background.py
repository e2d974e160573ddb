"""The collection scheduler as a loop: run due rules, then hand the SMS outbox to its sender.

`cunguan sweep scheduler` runs it in the foreground; `cunguan serve` runs it in a daemon thread so a
newcomer's server collects on its own. Several loops (processes) may run at once: `run_due` is
idempotent per rule and date, so the worst case is wasted work, never a second run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from cunguan import periodic
from cunguan.notify.sms import SmsSender, deliver_pending
from cunguan.sweep.context import SweepContext
from cunguan.sweep.scheduler import TickReport, run_due

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 1
MAX_INTERVAL_S = 3600


def tick(ctx: SweepContext, sender: SmsSender) -> tuple[TickReport, int]:
    report = run_due(ctx)
    return report, deliver_pending(ctx.engine, sender)


def start_background(ctx: SweepContext, sender: SmsSender, *, interval_s: int = 60) -> Callable[[], None]:
    """Tick every `interval_s` seconds in a daemon thread until the returned stop function is called."""
    assert MIN_INTERVAL_S <= interval_s <= MAX_INTERVAL_S

    def logged_tick() -> None:
        report, sent = tick(ctx, sender)
        if report.runs or report.resumed or sent:
            log.info("collection %s: %d run(s), %d resumed, %d SMS", report.day, len(report.runs),
                     len(report.resumed), sent)

    return periodic.every(interval_s, logged_tick, name="sweep-scheduler", log=log)
