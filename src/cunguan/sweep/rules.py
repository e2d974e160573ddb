"""Collection rules: create, modify (mode and cycle only), delete, list with the next run date.

A new rule takes effect from the next calendar day. A modification bumps `version`; a run snapshots the
rule (mode, amount, version) when it starts, so a run in progress finishes under the old rule. A
cycle change also moves `schedule_from` to the next day, so the scheduler never 'catches up' a date
of the new cycle that lies before the change.

Statuses stored: ACTIVE, INVALID, DELETED; PENDING is shown while today < effective_from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from cunguan.db.tables.sweep import sweep_other_accounts, sweep_rules, sweep_runs
from cunguan.db.tx import run_in_transaction
from cunguan.retail import store as retail
from cunguan.sweep import cycle as cyc
from cunguan.sweep.agreements import OtherAccount, eligible_collecting_account, get_other_account
from cunguan.sweep.context import SweepConfig, SweepContext
from cunguan.sweep.errors import AgreementUnusable, InvalidInput, NotFound, RuleExists, RuleNotModifiable
from cunguan.sweep.split import Mode

MAX_RULE_AMOUNT_FEN = 100_000_000_000  # 1 billion yuan: an explicit sanity bound on R and F


class AgreementState(StrEnum):
    VALID = "VALID"
    NOT_STARTED = "NOT_STARTED"
    EXPIRED_IN_GRACE = "EXPIRED_IN_GRACE"
    EXPIRED = "EXPIRED"  # beyond grace
    NO_PAYEE = "NO_PAYEE"
    CANCELLED = "CANCELLED"


def agreement_state(acct: OtherAccount, day: dt.date, config: SweepConfig) -> AgreementState:
    if acct.status != "ACTIVE" or acct.payment_agreement_no is None:
        return AgreementState.CANCELLED
    if not acct.names_payee:
        return AgreementState.NO_PAYEE
    assert acct.start_date is not None and acct.end_date is not None
    if day < acct.start_date:
        return AgreementState.NOT_STARTED
    if day <= acct.end_date:
        return AgreementState.VALID
    if day <= acct.end_date + dt.timedelta(days=config.grace_days):
        return AgreementState.EXPIRED_IN_GRACE
    return AgreementState.EXPIRED


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    customer_id: int
    other_account_id: int
    collecting_account_id: int
    mode: Mode
    amount_fen: int | None
    cycle: int
    notify_mobile: str
    status: str
    effective_from: dt.date
    created_on: dt.date
    schedule_from: dt.date
    invalid_reason: str | None
    version: int

    def shown_status(self, today: dt.date) -> str:
        if self.status == "ACTIVE" and today < self.effective_from:
            return "PENDING"
        return self.status


def _row(r) -> Rule:
    return Rule(int(r.id), int(r.customer_id), int(r.other_account_id), int(r.collecting_account_id), Mode(r.mode),
                None if r.amount_fen is None else int(r.amount_fen), int(r.cycle), r.notify_mobile, r.status,
                r.effective_from, r.created_on, r.schedule_from, r.invalid_reason, int(r.version))


def get_rule(conn: Connection, rule_id: int, customer_id: int | None = None) -> Rule:
    stmt = select(sweep_rules).where(sweep_rules.c.id == rule_id)
    if customer_id is not None:
        stmt = stmt.where(sweep_rules.c.customer_id == customer_id)
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFound("no such rule")
    return _row(row)


def rules_of(conn: Connection, customer_id: int, *, include_deleted: bool = False) -> list[Rule]:
    stmt = select(sweep_rules).where(sweep_rules.c.customer_id == customer_id)
    if not include_deleted:
        stmt = stmt.where(sweep_rules.c.status != "DELETED")
    return [_row(r) for r in conn.execute(stmt.order_by(sweep_rules.c.id))]


def check_mode(mode: Mode | str, amount_fen: int | None) -> tuple[Mode, int | None]:
    try:
        mode = Mode(mode)
    except ValueError:
        raise InvalidInput("mode must be FULL, RETAIN or FIXED") from None
    if mode is Mode.FULL:
        return mode, None
    if amount_fen is None:
        raise InvalidInput(f"{mode.value} needs an amount")
    if amount_fen % 100:
        raise InvalidInput("amounts are whole yuan")
    if mode is Mode.FIXED and amount_fen <= 0:
        raise InvalidInput("the fixed amount must be greater than 0")
    if amount_fen < 0 or amount_fen > MAX_RULE_AMOUNT_FEN:
        raise InvalidInput("amount out of range")
    return mode, amount_fen


def create_rule(ctx: SweepContext, customer_id: int, *, other_account_id: int, collecting_account_id: int,
                mode: Mode | str, amount_fen: int | None, cycle: int) -> Rule:
    mode, amount_fen = check_mode(mode, amount_fen)
    if not (cycle == cyc.MONTH_END or 1 <= cycle <= 31):
        raise InvalidInput("cycle must be a day 1-31 or MONTH_END")
    today = ctx.today()

    def work(conn: Connection) -> Rule:
        customer = retail.get_customer(conn, customer_id)
        other = get_other_account(conn, customer_id, other_account_id)
        eligible_collecting_account(conn, customer_id, collecting_account_id)
        state = agreement_state(other, today, ctx.config)
        if state is AgreementState.NO_PAYEE:
            raise AgreementUnusable("the payment agreement names no payee and cannot be used for collection: "
                                    "sign a new one")
        if state is not AgreementState.VALID:
            raise AgreementUnusable(f"the payment agreement is not valid ({state.value.lower()})")
        if conn.execute(select(sweep_rules.c.id).where(sweep_rules.c.live_other_account_id == other.id)).first():
            raise RuleExists("this other-bank account already has a collection rule")
        start = cyc.effective_from(today)
        now = ctx.now_us()
        rid = conn.execute(sweep_rules.insert().values(
            customer_id=customer_id, other_account_id=other.id, live_other_account_id=other.id,
            collecting_account_id=collecting_account_id, mode=mode.value, amount_fen=amount_fen, cycle=cycle,
            notify_mobile=customer.mobile, status="ACTIVE", effective_from=start, created_on=today,
            schedule_from=start, version=1, created_us=now, updated_us=now)).inserted_primary_key[0]
        return get_rule(conn, int(rid))

    try:
        return run_in_transaction(ctx.engine, work)
    except IntegrityError:  # a concurrent create won the unique live_other_account_id
        raise RuleExists("this other-bank account already has a collection rule") from None


def modify_rule(ctx: SweepContext, customer_id: int, rule_id: int, *, mode: Mode | str | None = None,
                amount_fen: int | None = None, cycle: int | None = None) -> Rule:
    """Only mode (with R/F) and cycle; the notify mobile and the accounts cannot be changed here."""
    today = ctx.today()

    def work(conn: Connection) -> Rule:
        rule = get_rule(conn, rule_id, customer_id)
        if rule.status != "ACTIVE":
            raise RuleNotModifiable(f"a {rule.status} rule cannot be modified")
        values: dict = {}
        if mode is not None:
            m, amt = check_mode(mode, amount_fen)
            values.update(mode=m.value, amount_fen=amt)
        if cycle is not None:
            if not (cycle == cyc.MONTH_END or 1 <= cycle <= 31):
                raise InvalidInput("cycle must be a day 1-31 or MONTH_END")
            if cycle != rule.cycle:
                values.update(cycle=cycle, schedule_from=max(rule.schedule_from, today + dt.timedelta(days=1)))
        if not values:
            return rule
        values.update(version=rule.version + 1, updated_us=ctx.now_us())
        conn.execute(sweep_rules.update().where(sweep_rules.c.id == rule_id).values(**values))
        return get_rule(conn, rule_id)

    return run_in_transaction(ctx.engine, work)


def delete_rule(ctx: SweepContext, customer_id: int, rule_id: int) -> Rule:
    """Removes the rule only: agreements stay signed; a run in progress finishes, nothing runs after."""

    def work(conn: Connection) -> Rule:
        rule = get_rule(conn, rule_id, customer_id)
        if rule.status == "DELETED":
            return rule
        conn.execute(sweep_rules.update().where(sweep_rules.c.id == rule_id).values(
            status="DELETED", live_other_account_id=None, version=rule.version + 1, updated_us=ctx.now_us()))
        return get_rule(conn, rule_id)

    return run_in_transaction(ctx.engine, work)


def invalidate_rule(conn: Connection, rule_id: int, reason: str, now_us: int) -> None:
    conn.execute(sweep_rules.update().where(sweep_rules.c.id == rule_id, sweep_rules.c.status == "ACTIVE").values(
        status="INVALID", live_other_account_id=None, invalid_reason=reason[:200], updated_us=now_us))


def next_run_date(conn: Connection, rule: Rule, today: dt.date) -> dt.date | None:
    """The next date the scheduler will run this rule (None when it never will)."""
    if rule.status != "ACTIVE":
        return None
    day = max(today, rule.schedule_from)
    candidate = cyc.next_run_on_or_after(rule.cycle, day)
    done = conn.execute(select(sweep_runs.c.id).where(
        sweep_runs.c.rule_id == rule.id, sweep_runs.c.run_date == candidate,
        sweep_runs.c.kind == "SCHEDULED")).first()
    if done is not None:
        candidate = cyc.next_run_on_or_after(rule.cycle, candidate + dt.timedelta(days=1))
    return candidate


def other_account_of(conn: Connection, rule: Rule) -> OtherAccount:
    row = conn.execute(select(sweep_other_accounts.c.customer_id).where(
        sweep_other_accounts.c.id == rule.other_account_id)).first()
    assert row is not None
    return get_other_account(conn, int(row.customer_id), rule.other_account_id)
