"""The scheduler's one tick (`run_due`), what `cunguan sweep run-due` and a cron/systemd timer call.

For a Beijing date D, in order:
1. resume runs left RUNNING by a crash or an unresolved timeout (stale heartbeat);
2. agreement expiry: the renewal reminder from 30 days before the end date (once per end date), and
   rules whose agreement ended more than 30 days ago become INVALID;
3. every ACTIVE rule whose latest execution date ≤ D (and ≥ its schedule_from) has no scheduled run yet
   runs once for that date. A tick missed on the 5th is caught up on the next tick, once; the partial
   unique index on (rule_id, run_date) WHERE kind='SCHEDULED' makes a second run for a date impossible,
   across restarts and concurrent schedulers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Connection

from cunguan.db.tables.retail import retail_customers
from cunguan.db.tables.sweep import sweep_other_accounts, sweep_rules, sweep_runs
from cunguan.db.tx import run_in_transaction
from cunguan.notify import sms
from cunguan.sweep import cycle as cyc
from cunguan.sweep.context import SweepContext
from cunguan.sweep.execute import SCHEDULED, RunOutcome, resume_stale_runs, run_rule
from cunguan.sweep.rules import invalidate_rule

MAX_RULES_PER_TICK = 10_000


@dataclass
class TickReport:
    day: dt.date
    resumed: list[RunOutcome] = field(default_factory=list)
    reminders: int = 0
    invalidated: int = 0
    runs: list[RunOutcome] = field(default_factory=list)
    busy: list[int] = field(default_factory=list)


def process_expiry(ctx: SweepContext, day: dt.date) -> tuple[int, int]:
    """(reminders queued, rules invalidated) for date `day`."""
    cfg = ctx.config
    reminders = invalidated = 0
    with ctx.engine.connect() as conn:
        accts = conn.execute(select(sweep_other_accounts, retail_customers.c.mobile).join(
            retail_customers, retail_customers.c.id == sweep_other_accounts.c.customer_id).where(
            sweep_other_accounts.c.status == "ACTIVE", sweep_other_accounts.c.names_payee == 1,
            sweep_other_accounts.c.end_date.is_not(None))).mappings().all()
    for a in accts:
        end: dt.date = a["end_date"]
        if end - dt.timedelta(days=cfg.reminder_days) <= day <= end and a["reminded_end_date"] != end:
            def remind(conn: Connection, a=a, end=end) -> bool:
                conn.execute(sweep_other_accounts.update().where(sweep_other_accounts.c.id == a["id"]).values(
                    reminded_end_date=end))
                return sms.enqueue(
                    conn, mobile=a["mobile"], kind="SWEEP_RENEW_REMINDER", ref=f"other:{a['id']}",
                    dedupe_key=f"sweep-renew:{a['id']}:{end.isoformat()}",
                    body=(f"【跨行资金归集】您尾号{a['account_no'][-4:]}的{a['bank_name']}账户支付协议将于"
                          f"{end:%Y-%m-%d}到期，请及时续约；到期后{cfg.grace_days}天内未续约，归集规则将失效。"))

            reminders += int(run_in_transaction(ctx.engine, remind))
        if day > end + dt.timedelta(days=cfg.grace_days):
            def expire(conn: Connection, a=a, end=end) -> int:
                rules = conn.execute(select(sweep_rules.c.id, sweep_rules.c.notify_mobile).where(
                    sweep_rules.c.other_account_id == a["id"], sweep_rules.c.status == "ACTIVE")).all()
                for rid, mobile in rules:
                    invalidate_rule(conn, rid, f"payment agreement expired on {end.isoformat()} and was not renewed "
                                    f"within {cfg.grace_days} days", ctx.now_us())
                    sms.enqueue(conn, mobile=mobile, kind="SWEEP_RULE_INVALID", ref=f"rule:{rid}",
                                dedupe_key=f"sweep-invalid:{rid}",
                                body=(f"【跨行资金归集】您尾号{a['account_no'][-4:]}账户的支付协议已过期且未续约，"
                                      "归集规则已失效。如需继续归集，请重新签约并设置规则。"))
                return len(rules)

            invalidated += run_in_transaction(ctx.engine, expire)
    return reminders, invalidated


def due_rules(ctx: SweepContext, day: dt.date) -> list[tuple[int, dt.date]]:
    """(rule_id, run_date) pairs that have no scheduled run yet."""
    with ctx.engine.connect() as conn:
        rules = conn.execute(select(sweep_rules.c.id, sweep_rules.c.cycle, sweep_rules.c.schedule_from).where(
            sweep_rules.c.status == "ACTIVE", sweep_rules.c.schedule_from <= day).order_by(sweep_rules.c.id)
            .limit(MAX_RULES_PER_TICK)).all()
        due = []
        for rid, cycle, start in rules:
            target = cyc.last_run_on_or_before(cycle, day)
            if target < start:
                continue
            ran = conn.execute(select(sweep_runs.c.id).where(
                sweep_runs.c.rule_id == rid, sweep_runs.c.run_date == target, sweep_runs.c.kind == SCHEDULED)).first()
            if ran is None:
                due.append((int(rid), target))
    return due


def run_due(ctx: SweepContext, day: dt.date | None = None) -> TickReport:
    day = day or ctx.today()
    report = TickReport(day)
    report.resumed = resume_stale_runs(ctx)
    report.reminders, report.invalidated = process_expiry(ctx, day)
    for rule_id, run_date in due_rules(ctx, day):
        outcome = run_rule(ctx, rule_id, SCHEDULED, run_date)
        if outcome is None:
            report.busy.append(rule_id)  # in progress elsewhere or just done: the next tick looks again
        else:
            report.runs.append(outcome)
    return report
