"""Executing one collection run, crash-safe.

Steps, each its own transaction, so a crash anywhere leaves a state the next attempt can resume from:
1. `start_run`: insert the run (RUNNING, with a snapshot of the rule) and claim the rule
   (`running_run_id`, a conditional update: one run per rule at a time). A scheduled run is unique per
   (rule, date) by a partial unique index. An unusable agreement finishes the run FAILED right away.
2. `execute_run`: query the balance, split, persist every planned transfer (PLANNED).
3. For each transfer in order: mark it SENT (committed) *before* calling the connector, then record
   the answer with its ledger postings. A timeout (UNKNOWN) is queried, bounded; a SENT transfer found
   on resume is only ever queried, never re-sent. The first reject stops the run; later transfers are
   CANCELLED.
4. `finish`: status SUCCESS / PARTIAL / FAILED / SKIPPED, release the claim, and the result SMS, in
   one transaction.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from cunguan.db import ledger_store
from cunguan.db.tables.sweep import sweep_rules, sweep_runs, sweep_transfers
from cunguan.db.tx import run_in_transaction
from cunguan.interbank.connector import BalanceResult, DebitRequest, DebitResult, DebitStatus
from cunguan.ledger.ops import Transfer
from cunguan.money import format_yuan
from cunguan.notify import sms
from cunguan.retail import store as retail
from cunguan.sweep.bank_accounts import bank_accounts
from cunguan.sweep.context import SweepContext
from cunguan.sweep.rules import AgreementState, agreement_state, get_rule, other_account_of
from cunguan.sweep.split import Mode, split

SCHEDULED = "SCHEDULED"
MANUAL = "MANUAL"
STATUS_TEXT = {"SUCCESS": "成功", "PARTIAL": "部分成功", "FAILED": "失败", "SKIPPED": "未执行(无可归集金额)"}


@dataclass(frozen=True, slots=True)
class RunOutcome:
    run_id: int
    rule_id: int
    status: str  # RUNNING (left to resume), SUCCESS, PARTIAL, FAILED, SKIPPED
    moved_fen: int
    reject_code: str | None
    reason: str | None


class _Busy(Exception):
    """The rule has a run in progress (rolls back the new run's insert)."""


def start_run(ctx: SweepContext, rule_id: int, kind: str, run_date: dt.date) -> tuple[int, bool] | None:
    """(run_id, needs_execution), or None when nothing was started (already ran for that date, rule not
    active any more, or another run of the rule is in progress)."""
    today = ctx.today()

    def work(conn: Connection) -> tuple[int, bool] | None:
        rule = get_rule(conn, rule_id)
        if rule.status != "ACTIVE":
            return None
        if kind == SCHEDULED and conn.execute(select(sweep_runs.c.id).where(
                sweep_runs.c.rule_id == rule_id, sweep_runs.c.run_date == run_date,
                sweep_runs.c.kind == SCHEDULED)).first() is not None:
            return None
        now = ctx.now_us()
        run_id = int(conn.execute(sweep_runs.insert().values(
            rule_id=rule_id, customer_id=rule.customer_id, run_date=run_date, kind=kind, status="RUNNING",
            mode=rule.mode.value, amount_fen=rule.amount_fen, rule_version=rule.version, heartbeat_us=now,
            created_us=now)).inserted_primary_key[0])
        other = other_account_of(conn, rule)
        state = agreement_state(other, today, ctx.config)
        if state is not AgreementState.VALID:
            _finish(ctx, conn, run_id, "FAILED", _agreement_reason(state, other.end_date, ctx), None, claimed=False)
            return run_id, False
        claimed = conn.execute(sweep_rules.update().where(
            sweep_rules.c.id == rule_id, sweep_rules.c.running_run_id.is_(None)).values(running_run_id=run_id))
        if claimed.rowcount != 1:
            raise _Busy()
        return run_id, True

    try:
        return run_in_transaction(ctx.engine, work)
    except (_Busy, IntegrityError):
        return None


def _agreement_reason(state: AgreementState, end: dt.date | None, ctx: SweepContext) -> str:
    if state is AgreementState.EXPIRED_IN_GRACE and end is not None:
        last = end + dt.timedelta(days=ctx.config.grace_days)
        return f"payment agreement expired on {end.isoformat()}; renew it by {last.isoformat()} to resume collection"
    if state is AgreementState.NO_PAYEE:
        return "payment agreement names no payee; sign a new one"
    return f"payment agreement not usable ({state.value.lower()})"


def execute_run(ctx: SweepContext, run_id: int) -> RunOutcome:
    """Drive a claimed run to its end (or leave it RUNNING when a debit stays unknown)."""
    with ctx.engine.connect() as conn:
        run = conn.execute(select(sweep_runs).where(sweep_runs.c.id == run_id)).mappings().one()
        rule = get_rule(conn, run["rule_id"])
        other = other_account_of(conn, rule)
        payee = retail.get_account(conn, rule.collecting_account_id)
    if run["status"] != "RUNNING":
        return _outcome(ctx, run_id)
    if run["balance_fen"] is None:
        try:
            bal = ctx.connector.query_balance(other.query_agreement_no)
        except Exception:  # noqa: BLE001 - nothing was sent yet: the run fails cleanly
            bal = BalanceResult(False, code="RJ90", message="balance query failed (connector error)")
        if not bal.ok:
            run_in_transaction(ctx.engine, lambda c: _finish(
                ctx, c, run_id, "FAILED", f"balance query refused: {bal.code} {bal.message}", bal.code))
            return _outcome(ctx, run_id)
        plan = split(Mode(run["mode"]), bal.balance_fen, run["amount_fen"], ctx.config.limits)
        if not plan.transfers_fen:
            reason = ("nothing to move: the wanted amount is not positive" if plan.wanted_fen <= 0
                      else "nothing to move: the balance only covers the amount left behind")
            run_in_transaction(ctx.engine, lambda c: (_set_plan(ctx, c, run, plan.balance_fen, plan.wanted_fen, ()),
                                                      _finish(ctx, c, run_id, "SKIPPED", reason, None)))
            return _outcome(ctx, run_id)
        run_in_transaction(ctx.engine, lambda c: _set_plan(ctx, c, run, plan.balance_fen, plan.wanted_fen,
                                                           plan.transfers_fen))
    with ctx.engine.connect() as conn:
        transfers = [dict(t) for t in conn.execute(select(sweep_transfers).where(
            sweep_transfers.c.run_id == run_id).order_by(sweep_transfers.c.seq)).mappings()]
    for t in transfers:
        if t["status"] == "SUCCESS":
            continue
        if t["status"] in ("REJECTED", "CANCELLED"):
            break
        if t["status"] == "PLANNED":
            marked = run_in_transaction(ctx.engine, lambda c, t=t: _mark_sent(ctx, c, t["id"], run_id))
            if not marked:  # someone else took the run over; let them finish it
                return _outcome(ctx, run_id)
            try:
                result = ctx.connector.debit(DebitRequest(t["serial"], other.payment_agreement_no or "",
                                                          t["amount_fen"], payee.account_no))
            except Exception:  # noqa: BLE001 - a transport error is an unknown outcome: query, never re-send
                result = DebitResult(DebitStatus.UNKNOWN, None, "connector error")
        else:  # SENT: found on resume; the outcome is only ever asked for, never re-sent
            result = DebitResult(DebitStatus.UNKNOWN)
        result = _resolve(ctx, t, result)
        if result.status is DebitStatus.UNKNOWN:
            return _outcome(ctx, run_id)  # still unknown: the run stays RUNNING for the resumer
        if result.status is DebitStatus.SUCCESS:
            run_in_transaction(ctx.engine, lambda c, t=t: _record_success(ctx, c, t, payee))
            continue
        run_in_transaction(ctx.engine, lambda c, t=t, r=result: _record_reject(ctx, c, t, r))
        break
    run_in_transaction(ctx.engine, lambda c: _finish_from_transfers(ctx, c, run_id))
    return _outcome(ctx, run_id)


def _resolve(ctx: SweepContext, t: dict, result: DebitResult) -> DebitResult:
    attempts = 0
    while result.status is DebitStatus.UNKNOWN and attempts < ctx.config.query_attempts:
        if attempts:
            time.sleep(ctx.config.query_interval_s)
        attempts += 1
        try:
            result = ctx.connector.query_debit(t["serial"])
        except Exception:  # noqa: BLE001 - still unknown; the next query (or the resumer) asks again
            result = DebitResult(DebitStatus.UNKNOWN, None, "connector error")
    if attempts:
        run_in_transaction(ctx.engine, lambda c: c.execute(sweep_transfers.update().where(
            sweep_transfers.c.id == t["id"]).values(queries=sweep_transfers.c.queries + attempts)))
    return result


def _set_plan(ctx: SweepContext, conn: Connection, run, balance: int, wanted: int, parts: tuple[int, ...]) -> None:
    fee = ctx.config.customer_fee_fen
    conn.execute(sweep_runs.update().where(sweep_runs.c.id == run["id"]).values(
        balance_fen=balance, wanted_fen=wanted, planned_fen=sum(parts), heartbeat_us=ctx.now_us()))
    if parts:
        stamp = run["run_date"].strftime("%Y%m%d")
        conn.execute(sweep_transfers.insert(), [
            dict(run_id=run["id"], seq=i, serial=f"SW{stamp}{run['id']:010d}{i:02d}", amount_fen=amount, fee_fen=fee,
                 status="PLANNED", queries=0) for i, amount in enumerate(parts, start=1)])


def _mark_sent(ctx: SweepContext, conn: Connection, transfer_id: int, run_id: int) -> bool:
    now = ctx.now_us()
    done = conn.execute(sweep_transfers.update().where(
        sweep_transfers.c.id == transfer_id, sweep_transfers.c.status == "PLANNED").values(status="SENT", sent_us=now))
    conn.execute(sweep_runs.update().where(sweep_runs.c.id == run_id).values(heartbeat_us=now))
    return done.rowcount == 1


def _record_success(ctx: SweepContext, conn: Connection, t: dict, payee: retail.Account) -> None:
    done = conn.execute(sweep_transfers.update().where(
        sweep_transfers.c.id == t["id"], sweep_transfers.c.status == "SENT").values(
        status="SUCCESS", resolved_us=ctx.now_us()))
    if done.rowcount != 1:
        return  # already recorded (a concurrent resumer); postings are keyed anyway
    bank = bank_accounts(conn)
    serial = t["serial"]
    ops = [Transfer(bank.settlement, payee.ledger_account_id, t["amount_fen"], "SWEEP_IN", serial, key=f"sweep:{serial}")]
    if ctx.config.interbank_fee_fen:
        ops.append(Transfer(bank.fee_expense, bank.settlement, ctx.config.interbank_fee_fen, "SWEEP_IBPS_FEE", serial,
                            key=f"sweep:{serial}:ibps-fee"))
    if t["fee_fen"]:
        ops.append(Transfer(payee.ledger_account_id, bank.fee_income, t["fee_fen"], "SWEEP_FEE", serial,
                            key=f"sweep:{serial}:fee"))
    ledger_store.apply(conn, ops, atomic=True)
    conn.execute(sweep_runs.update().where(sweep_runs.c.id == t["run_id"]).values(heartbeat_us=ctx.now_us()))


def _record_reject(ctx: SweepContext, conn: Connection, t: dict, result: DebitResult) -> None:
    conn.execute(sweep_transfers.update().where(
        sweep_transfers.c.id == t["id"], sweep_transfers.c.status == "SENT").values(
        status="REJECTED", reject_code=str(result.code) if result.code else None, message=result.message[:200],
        resolved_us=ctx.now_us()))
    conn.execute(sweep_transfers.update().where(
        sweep_transfers.c.run_id == t["run_id"], sweep_transfers.c.status == "PLANNED").values(status="CANCELLED"))


def _finish_from_transfers(ctx: SweepContext, conn: Connection, run_id: int) -> None:
    rows = conn.execute(select(sweep_transfers.c.status, sweep_transfers.c.reject_code, sweep_transfers.c.message)
                        .where(sweep_transfers.c.run_id == run_id).order_by(sweep_transfers.c.seq)).all()
    ok = sum(1 for r in rows if r.status == "SUCCESS")
    rejected = next((r for r in rows if r.status == "REJECTED"), None)
    if any(r.status in ("PLANNED", "SENT") for r in rows):
        return  # not finished (a concurrent resumer is still at it)
    if rejected is None:
        _finish(ctx, conn, run_id, "SUCCESS", None, None)
    else:
        status = "PARTIAL" if ok else "FAILED"
        _finish(ctx, conn, run_id, status, f"stopped at a reject: {rejected.reject_code} {rejected.message}",
                rejected.reject_code)


def _finish(ctx: SweepContext, conn: Connection, run_id: int, status: str, reason: str | None, code: str | None,
            *, claimed: bool = True) -> None:
    moved, fees = conn.execute(select(func.coalesce(func.sum(sweep_transfers.c.amount_fen), 0),
                                      func.coalesce(func.sum(sweep_transfers.c.fee_fen), 0)).where(
        sweep_transfers.c.run_id == run_id, sweep_transfers.c.status == "SUCCESS")).one()
    done = conn.execute(sweep_runs.update().where(sweep_runs.c.id == run_id, sweep_runs.c.status == "RUNNING").values(
        status=status, reason=None if reason is None else reason[:200], reject_code=code, moved_fen=int(moved),
        fee_fen=int(fees), finished_us=ctx.now_us()))
    if done.rowcount != 1:
        return
    run = conn.execute(select(sweep_runs).where(sweep_runs.c.id == run_id)).mappings().one()
    if claimed:
        conn.execute(sweep_rules.update().where(sweep_rules.c.id == run["rule_id"],
                                                sweep_rules.c.running_run_id == run_id).values(running_run_id=None))
    rule = get_rule(conn, run["rule_id"])
    other = other_account_of(conn, rule)
    kind = "定时" if run["kind"] == SCHEDULED else "即时"
    body = (f"【跨行资金归集】您尾号{other.account_no[-4:]}的{other.bank_name}账户{run['run_date']:%Y-%m-%d}"
            f"{kind}归集{STATUS_TEXT[status]}，共归集{format_yuan(int(moved))}元。")
    if reason and status != "SUCCESS":
        body += f"原因：{reason}"
    sms.enqueue(conn, mobile=rule.notify_mobile, kind=f"SWEEP_{status}", body=body, ref=f"run:{run_id}")


def _outcome(ctx: SweepContext, run_id: int) -> RunOutcome:
    with ctx.engine.connect() as conn:
        r = conn.execute(select(sweep_runs).where(sweep_runs.c.id == run_id)).mappings().one()
    return RunOutcome(run_id, int(r["rule_id"]), r["status"], int(r["moved_fen"]), r["reject_code"], r["reason"])


def run_rule(ctx: SweepContext, rule_id: int, kind: str, run_date: dt.date) -> RunOutcome | None:
    started = start_run(ctx, rule_id, kind, run_date)
    if started is None:
        return None
    run_id, needs = started
    return execute_run(ctx, run_id) if needs else _outcome(ctx, run_id)


def resume_stale_runs(ctx: SweepContext, *, stale_after_s: int | None = None) -> list[RunOutcome]:
    """Take over RUNNING runs whose heartbeat is older than `stale_after_s` (crashed or left with an
    unknown debit) and drive them on. The take-over is a conditional update of the heartbeat, so two
    resumers never drive the same run."""
    stale = ctx.config.stale_run_s if stale_after_s is None else stale_after_s
    cutoff = ctx.now_us() - stale * 1_000_000
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(sweep_runs.c.id, sweep_runs.c.heartbeat_us).where(
            sweep_runs.c.status == "RUNNING", sweep_runs.c.heartbeat_us <= cutoff).order_by(sweep_runs.c.id)).all()
    outcomes = []
    for run_id, beat in rows:
        took = run_in_transaction(ctx.engine, lambda c, i=run_id, b=beat: c.execute(sweep_runs.update().where(
            sweep_runs.c.id == i, sweep_runs.c.heartbeat_us == b, sweep_runs.c.status == "RUNNING").values(
            heartbeat_us=ctx.now_us())).rowcount)
        if took:
            outcomes.append(execute_run(ctx, run_id))
    return outcomes
