"""Manual collection (即时归集): the customer runs some or all of their rules now, each by its own mode.

The 2-minute cooldown per customer is claimed with a conditional update of
`retail_customers.last_manual_run_us`, so two concurrent requests cannot both pass it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from cunguan.db.tables.retail import retail_customers
from cunguan.db.tx import run_in_transaction
from cunguan.sweep.context import SweepContext
from cunguan.sweep.errors import Cooldown, InvalidInput, RuleNotModifiable
from cunguan.sweep.execute import MANUAL, RunOutcome, run_rule
from cunguan.sweep.rules import get_rule, rules_of

MAX_RULES_PER_MANUAL_RUN = 50


@dataclass(frozen=True, slots=True)
class ManualResult:
    outcomes: list[RunOutcome]
    busy_rule_ids: list[int]  # a collection of that rule was already in progress

    @property
    def moved_fen(self) -> int:
        return sum(o.moved_fen for o in self.outcomes)


def seconds_until_allowed(conn: Connection, ctx: SweepContext, customer_id: int) -> int:
    last = conn.execute(select(retail_customers.c.last_manual_run_us).where(
        retail_customers.c.id == customer_id)).scalar()
    if last is None:
        return 0
    remaining_us = int(last) + ctx.config.cooldown_s * 1_000_000 - ctx.now_us()
    return max(0, math.ceil(remaining_us / 1_000_000))


def run_manual(ctx: SweepContext, customer_id: int, rule_ids: list[int] | None = None) -> ManualResult:
    today = ctx.today()
    with ctx.engine.connect() as conn:
        if rule_ids is None:
            rules = [r for r in rules_of(conn, customer_id) if r.status == "ACTIVE" and r.effective_from <= today]
        else:
            if not rule_ids or len(rule_ids) > MAX_RULES_PER_MANUAL_RUN:
                raise InvalidInput(f"select 1-{MAX_RULES_PER_MANUAL_RUN} rules")
            rules = [get_rule(conn, rid, customer_id) for rid in dict.fromkeys(rule_ids)]
    for r in rules:
        if r.status != "ACTIVE":
            raise RuleNotModifiable(f"rule {r.id} is {r.status} and cannot run")
        if r.effective_from > today:
            raise RuleNotModifiable(f"rule {r.id} takes effect on {r.effective_from.isoformat()}")
    if not rules:
        raise InvalidInput("no rule to run")

    def claim(conn: Connection) -> None:
        wait = seconds_until_allowed(conn, ctx, customer_id)
        if wait > 0:
            raise Cooldown(wait)
        last = conn.execute(select(retail_customers.c.last_manual_run_us).where(
            retail_customers.c.id == customer_id)).scalar()
        cond = (retail_customers.c.last_manual_run_us.is_(None) if last is None
                else retail_customers.c.last_manual_run_us == last)
        done = conn.execute(retail_customers.update().where(retail_customers.c.id == customer_id, cond).values(
            last_manual_run_us=ctx.now_us()))
        if done.rowcount != 1:
            raise Cooldown(ctx.config.cooldown_s)

    run_in_transaction(ctx.engine, claim)
    outcomes, busy = [], []
    for r in rules:
        outcome = run_rule(ctx, r.id, MANUAL, today)
        if outcome is None:
            busy.append(r.id)
        else:
            outcomes.append(outcome)
    return ManualResult(outcomes, busy)
