"""Withdraw (提现, scenarios 9 and 10; protocol §2.3, §3.17, §3.18, §5.5): WITHDRAW (bank page, trade
password), AUTO_WITHDRAW (authorization WITHDRAW), CONFIRM_WITHDRAW, CANCEL_WITHDRAW,
INTERCEPT_WITHDRAW, and the remittance through the payout channel.

Decisions where the spec is silent:
- Money: at acceptance the whole `amount` is frozen on the user (key `{p}:wd:{requestNo}`), so it
  leaves the available balance at once (IMMEDIATE) or waits frozen (CONFIRMED). When the payout is
  handed to the channel (ACCEPT → REMITING) the payout part `amount − commission` moves out of the
  freeze to the platform's custody cash account (the reverse of a recharge: the bank's debt to the user
  ends as the real money leaves the custody account). On SUCCESS the frozen `commission` moves to
  SYS_GENERATE_004. On a failure after remittance the payout part is booked back (custody cash → user)
  and the commission released: BACKROLL_RECHARGE REMITFAIL. Σ virtual accounts + custody cash stays 0.
- Types: NORMAL (T+1): only settled money (available − unsettled, custody/recharges.unsettled_fen) may
  be withdrawn; it is handed to the channel at the day's cut-off (`NORMAL_CUTOFF`, 23:00 Beijing, or at
  once when accepted later), and the channel pays it on the next working day of the Chinese calendar
  (payouts/working_days.py) — until the cut-off it can be intercepted. URGENT / NORMAL_URGENT (T0):
  IMMEDIATE form only, handed over at once; the unsettled part is advanced (custody/advances.py,
  `floatAmount`): 100017 without an advance, 100016 when the advance is short.
- 100018: an URGENT withdrawal of an enterprise (corporate account) outside working time, 08:30–17:00
  Beijing on a working day (the HVPS hours the corporate real-time payout uses; payouts/working_days).
- Audit mode (per platform, advances.MoneySettings): every withdrawal waits in CONFIRMING for
  CONFIRM_WITHDRAW, whatever its form.
- Statuses: CONFIRMING → ACCEPT → REMITING → SUCCESS / FAIL. A cancelled or intercepted withdrawal ends
  FAIL (`closed_reason` CANCELLED / INTERCEPTED); ACCEPT_FAIL is never produced (refusals write nothing).
- NOTIFY WITHDRAW on: CONFIRMING (a waiting withdrawal), ACCEPT (accepted for payout, also after a
  confirm), SUCCESS and FAIL (final, including intercepted). REMITING is visible by query only.
  CANCEL_WITHDRAW answers synchronously and notifies nothing; INTERCEPT and REMITFAIL also notify
  BACKROLL_RECHARGE (custody/backroll.py).
- The payout goes to the user's bound card at remittance time; route BANK_OWN when its bank is ours
  (`own_bank_code`), else INTERBANK; corporate for ORGANIZATION users.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from cunguan.clock import BEIJING, Clock
from cunguan.custody import advances, authorizations, platforms, requests
from cunguan.custody.backroll import record_backroll
from cunguan.custody.fields import opt_enum, req_enum
from cunguan.custody.masking import mask_card
from cunguan.custody.money_errors import (
    FreezeOrderNotFound,
    FrozenAmountShort,
    FrozenOrderShort,
    InsufficientBalance,
    UrgentCorporateClosed,
    WithdrawNotAccept,
    WithdrawOrderNotFound,
    WithdrawRecordNotFound,
)
from cunguan.custody.recharges import (
    INCOME_ACCOUNT,
    active_user,
    amount_fen,
    enqueue_notify,
    now_us,
    opt_amount_fen,
    unsettled_fen,
    us_to_dt,
    wire_time,
)
from cunguan.custody.user_errors import InvalidField, WrongState
from cunguan.custody.user_store import User, check_platform_no, get_user, platform_user_no
from cunguan.db import ledger_store
from cunguan.db.tables.custody_money import custody_withdraw_intercepts, custody_withdrawals
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.errors import InsufficientAvailable
from cunguan.ledger.ops import Hold, Op, Release, Transfer
from cunguan.money import fen_to_decimal
from cunguan.payouts.channel import (
    PayoutChannel,
    PayoutError,
    PayoutOrder,
    RemitAnswer,
    RemitResult,
    RemitStatus,
    route_for,
)
from cunguan.payouts.working_days import is_working_time

PAGE_SERVICE = "WITHDRAW"
AUTO_SERVICE = "AUTO_WITHDRAW"
TYPES = ("NORMAL", "URGENT", "NORMAL_URGENT")
T0_TYPES = ("URGENT", "NORMAL_URGENT")
FORMS = ("IMMEDIATE", "CONFIRMED")
NORMAL_CUTOFF = dt.time(23, 0)
QUERY_AFTER_S = 60
DEFAULT_OWN_BANK = "BOSH"


def freeze_key(platform_no: str, request_no: str) -> str:
    return f"{platform_no}:wd:{request_no}"


# ---------------------------------------------------------------- requests / results


@dataclass(frozen=True)
class WithdrawRequest:
    request_no: str
    platform_user_no: str
    amount: object
    withdraw_type: str | None = None
    withdraw_form: str | None = None
    commission: object = None
    expired: str | None = None
    redirect_url: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AutoWithdrawRequest:
    request_no: str
    platform_user_no: str
    amount: object
    withdraw_type: str | None = None
    commission: object = None


@dataclass(frozen=True)
class ConfirmWithdrawRequest:
    request_no: str
    pre_transaction_no: str
    withdraw_type: str | None = None


@dataclass(frozen=True)
class CancelWithdrawRequest:
    request_no: str
    pre_transaction_no: str


@dataclass(frozen=True)
class InterceptWithdrawRequest:
    request_no: str
    withdraw_request_no: str


@dataclass(frozen=True)
class WithdrawResult:
    """The page CALLBACK / AUTO_WITHDRAW answer (§2.3); amounts in fen, rendered as yuan."""

    request_no: str
    platform_user_no: str
    withdraw_status: str
    amount_fen: int
    commission_fen: int
    withdraw_way: str
    withdraw_form: str
    remit_type: str
    float_amount_fen: int
    bankcard_no: str | None
    bankcode: str | None
    create_time: str | None
    transaction_time: str | None


def result_of(row: dict) -> WithdrawResult:
    return WithdrawResult(row["request_no"], row["platform_user_no"], row["status"], int(row["amount_fen"]),
                          int(row["commission_fen"]), row["withdraw_type"], row["withdraw_form"], row["remit_type"],
                          int(row["float_fen"]), row["bankcard_masked"], row["bankcode"], wire_time(row["created_us"]),
                          wire_time(row["accepted_us"] or row["created_us"]))


def notify_fields(row: dict) -> dict[str, Any]:
    """respData of NOTIFY WITHDRAW (§2.3)."""
    return {
        "requestNo": row["request_no"], "withdrawStatus": row["status"], "platformUserNo": row["platform_user_no"],
        "amount": fen_to_decimal(int(row["amount_fen"])), "commission": fen_to_decimal(int(row["commission_fen"])),
        "withdrawWay": row["withdraw_type"], "withdrawForm": row["withdraw_form"],
        "bankcardNo": row["bankcard_masked"], "bankcode": row["bankcode"], "createTime": wire_time(row["created_us"]),
        "transactionTime": wire_time(row["accepted_us"] or row["created_us"]), "remitTime": wire_time(row["remit_us"]),
        "completedTime": wire_time(row["completed_us"]), "remitType": row["remit_type"],
        "floatAmount": fen_to_decimal(int(row["float_fen"])),
    }


def _notify(conn: Connection, clock: Clock, row: dict) -> None:
    enqueue_notify(conn, clock, row["platform_no"], row["service_name"], notify_fields(row), row["request_no"])


def remit_due_us(withdraw_type: str, accepted_us: int) -> int:
    """T0: at once. NORMAL: the cut-off of the acceptance's Beijing day (at once if past it)."""
    if withdraw_type in T0_TYPES:
        return accepted_us
    local = us_to_dt(accepted_us).astimezone(BEIJING)
    cutoff = dt.datetime.combine(local.date(), NORMAL_CUTOFF, BEIJING)
    cutoff_us = int((cutoff - us_to_dt(0)) / dt.timedelta(microseconds=1))
    return max(accepted_us, cutoff_us)


# ---------------------------------------------------------------- accepting


def _lookup(conn: Connection, platform_no: str, request_no: str, *, lock: bool = False) -> dict | None:
    stmt = select(custody_withdrawals).where(custody_withdrawals.c.platform_no == platform_no,
                                             custody_withdrawals.c.request_no == request_no)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def find_withdrawal(conn: Connection, platform_no: str, request_no: str) -> dict | None:
    return _lookup(conn, platform_no, request_no)


def _create(conn: Connection, clock: Clock, platform_no: str, service: str, request_no_value: object,
            user_no_value: object, amount: object, commission: object, withdraw_type: object,
            withdraw_form: object, *, authorized: bool) -> dict:
    check_platform_no(platform_no)
    request_no = requests.request_no(request_no_value)
    user_no = platform_user_no(user_no_value)
    amount_value = amount_fen(amount, "amount")
    commission_value = opt_amount_fen(commission, "commission")
    if commission_value >= amount_value:
        raise InvalidField("commission must be less than amount", field="commission")
    form = opt_enum(withdraw_form, "withdrawForm", FORMS, default="IMMEDIATE")
    assert form is not None
    if form == "IMMEDIATE":
        kind = req_enum(withdraw_type, "withdrawType", TYPES)
    else:
        kind = opt_enum(withdraw_type, "withdrawType", TYPES, default="NORMAL")
        assert kind is not None
        if kind != "NORMAL":
            raise InvalidField("withdrawType URGENT / NORMAL_URGENT is for the IMMEDIATE form only",
                               field="withdrawType")
    now = now_us(clock)
    user = active_user(conn, platform_no, user_no, for_update=True)
    if not user.bankcard_no or not user.bankcode:
        raise WrongState("the user has no bound bank card to withdraw to", field="platformUserNo")
    corporate = user.user_type == "ORGANIZATION"
    if kind == "URGENT" and corporate and not is_working_time(clock.now()):
        raise UrgentCorporateClosed("URGENT corporate withdrawals are accepted 08:30-17:00 Beijing on working days")
    balance, frozen = ledger_store.get_balance(conn, user.ledger_account_id)
    available = balance - frozen
    if amount_value > available:
        raise InsufficientBalance(f"available balance is {available} fen", field="amount")
    settled = max(0, available - unsettled_fen(conn, platform_no, user_no))
    float_value = 0
    if kind == "NORMAL" and amount_value > settled:
        raise InsufficientBalance(f"a NORMAL (T+1) withdrawal may only take settled money ({settled} fen); "
                                  "money recharged today can be withdrawn after settlement", field="amount")
    source = None
    if kind in T0_TYPES and amount_value > settled:
        float_value = amount_value - settled
        source = advances.plan_advance(conn, platform_no, float_value)
    requests.claim(conn, clock, platform_no, request_no, service, user_no)
    if authorized:
        authorizations.require_authorization(conn, platform_no, user_no, "WITHDRAW", amount_value, clock.now(),
                                             consume=True)
    waiting = form == "CONFIRMED" or advances.get_settings(conn, platform_no).audit_mode
    status = "CONFIRMING" if waiting else "ACCEPT"
    key = freeze_key(platform_no, request_no)
    values = dict(
        platform_no=platform_no, request_no=request_no, service_name=service, platform_user_no=user_no,
        user_id=user.id, order_no=f"CGW{uuid.uuid4().hex[:28].upper()}", amount_fen=amount_value,
        commission_fen=commission_value, float_fen=float_value, withdraw_type=kind, withdraw_form=form,
        remit_type=kind, status=status, bankcard_masked=mask_card(user.bankcard_no) or None, bankcode=user.bankcode,
        corporate=corporate, freeze_key=key, remit_due_us=None if waiting else remit_due_us(kind, now),
        created_us=now, accepted_us=None if waiting else now, updated_us=now,
        next_check_us=None if waiting else remit_due_us(kind, now))
    values["id"] = int(conn.execute(custody_withdrawals.insert().values(**values)).inserted_primary_key[0])
    ref = f"withdraw:{values['id']}"
    ops: list[Op] = [Hold(user.ledger_account_id, amount_value, key, ref)]
    if source is not None:
        ops += advances.advance_ops(conn, platform_no, source, request_no, float_value, ref)
        advances.record_advance(conn, now, platform_no=platform_no, user_no=user_no, withdrawal_id=values["id"],
                                source=source, float_fen=float_value, withdraw_request_no=request_no)
    try:
        ledger_store.apply(conn, ops, atomic=True)
    except InsufficientAvailable:
        raise InsufficientBalance("available balance changed meanwhile and no longer covers it", field="amount") \
            from None
    row = _by_id(conn, values["id"])
    assert row is not None
    _notify(conn, clock, row)
    requests.record(conn, platform_no, request_no, user_no, {"withdrawStatus": status, "floatFen": float_value})
    return row


def withdraw(conn: Connection, clock: Clock, platform_no: str, req: WithdrawRequest) -> WithdrawResult:
    """WITHDRAW, run by the bank page once the trade password is confirmed."""
    row = _create(conn, clock, platform_no, PAGE_SERVICE, req.request_no, req.platform_user_no, req.amount,
                  req.commission, req.withdraw_type, req.withdraw_form, authorized=False)
    return result_of(row)


def auto_withdraw(conn: Connection, clock: Clock, platform_no: str, req: AutoWithdrawRequest) -> WithdrawResult:
    """AUTO_WITHDRAW: no page; the user's WITHDRAW authorization (consumed by the amount)."""
    row = _create(conn, clock, platform_no, AUTO_SERVICE, req.request_no, req.platform_user_no, req.amount,
                  req.commission, req.withdraw_type, None, authorized=True)
    return result_of(row)


# ---------------------------------------------------------------- confirm / cancel / intercept


def confirm_withdraw(conn: Connection, clock: Clock, platform_no: str, req: ConfirmWithdrawRequest) -> dict:
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    target = requests.request_no(req.pre_transaction_no, "preTransactionNo")
    requests.claim(conn, clock, platform_no, request_no, "CONFIRM_WITHDRAW", None)
    row = _lookup(conn, platform_no, target, lock=True)
    if row is None:
        raise WithdrawRecordNotFound(field="preTransactionNo")
    if row["status"] != "CONFIRMING":
        raise FrozenOrderShort(field="preTransactionNo")
    now = now_us(clock)
    due = remit_due_us(row["withdraw_type"], now)
    values = dict(status="ACCEPT", accepted_us=now, remit_due_us=due, next_check_us=due, updated_us=now)
    done = conn.execute(update(custody_withdrawals).where(custody_withdrawals.c.id == row["id"],
                                                          custody_withdrawals.c.status == "CONFIRMING").values(**values))
    if done.rowcount != 1:
        raise FrozenOrderShort(field="preTransactionNo")
    fresh = {**row, **values}
    _notify(conn, clock, fresh)
    requests.record(conn, platform_no, request_no, row["platform_user_no"], {"preTransactionNo": target})
    return {"requestNo": request_no, "withdrawStatus": "ACCEPT", "withdrawWay": row["withdraw_type"],
            "remitType": row["remit_type"], "floatAmount": fen_to_decimal(int(row["float_fen"])),
            "createTime": wire_time(row["created_us"]), "transactionTime": wire_time(now)}


def _close_unpaid(conn: Connection, clock: Clock, row: dict, reason: str, from_status: str) -> dict:
    """End a withdrawal whose money never left: release its freeze and any advance."""
    now = now_us(clock)
    values = dict(status="FAIL", closed_reason=reason, completed_us=now, updated_us=now, next_check_us=None)
    done = conn.execute(update(custody_withdrawals).where(custody_withdrawals.c.id == row["id"],
                                                          custody_withdrawals.c.status == from_status).values(**values))
    if done.rowcount != 1:
        return {}
    ops: list[Op] = [Release(row["freeze_key"], None, ref=f"withdraw:{row['id']}")]
    ops += advances.return_advance(conn, now, int(row["id"]))
    ledger_store.apply(conn, ops, atomic=True)
    return {**row, **values}


def cancel_withdraw(conn: Connection, clock: Clock, platform_no: str, req: CancelWithdrawRequest) -> dict:
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    target = requests.request_no(req.pre_transaction_no, "preTransactionNo")
    requests.claim(conn, clock, platform_no, request_no, "CANCEL_WITHDRAW", None)
    row = _lookup(conn, platform_no, target, lock=True)
    if row is None:
        raise FreezeOrderNotFound(field="preTransactionNo")
    if row["status"] != "CONFIRMING" or not _close_unpaid(conn, clock, row, "CANCELLED", "CONFIRMING"):
        raise FrozenAmountShort(field="preTransactionNo")
    requests.record(conn, platform_no, request_no, row["platform_user_no"], {"preTransactionNo": target})
    return {"requestNo": request_no, "preTransactionNo": target}


def intercept_withdraw(conn: Connection, clock: Clock, platform_no: str, req: InterceptWithdrawRequest) -> dict:
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    target = requests.request_no(req.withdraw_request_no, "withdrawRequestNo")
    requests.claim(conn, clock, platform_no, request_no, "INTERCEPT_WITHDRAW", None)
    row = _lookup(conn, platform_no, target, lock=True)
    if row is None:
        raise WithdrawOrderNotFound(field="withdrawRequestNo")
    closed = _close_unpaid(conn, clock, row, "INTERCEPTED", "ACCEPT") if row["status"] == "ACCEPT" else {}
    if not closed:
        raise WithdrawNotAccept(field="withdrawRequestNo")
    backroll = record_backroll(conn, clock, closed, "INTERCEPT")
    _notify(conn, clock, closed)
    conn.execute(custody_withdraw_intercepts.insert().values(
        platform_no=platform_no, request_no=request_no, withdraw_request_no=target,
        platform_user_no=row["platform_user_no"], amount_fen=int(row["amount_fen"]), status="SUCCESS",
        created_us=now_us(clock)))
    requests.record(conn, platform_no, request_no, row["platform_user_no"],
                    {"withdrawRequestNo": target, "backrollRequestNo": backroll["request_no"]})
    return {"requestNo": request_no, "withdrawRequestNo": target, "interceptStatus": "SUCCESS",
            "backrollRequestNo": backroll["request_no"]}


# ---------------------------------------------------------------- remittance (the money worker)


def _payout_order(row: dict, user: User, own_bank_code: str) -> PayoutOrder:
    assert user.bankcard_no and user.bankcode
    return PayoutOrder(row["order_no"], user.bankcard_no, user.name or user.platform_user_no, user.bankcode,
                       int(row["amount_fen"]) - int(row["commission_fen"]), route_for(user.bankcode, own_bank_code),
                       row["remit_type"], bool(row["corporate"]))


def _by_id(conn: Connection, withdrawal_id: int, *, lock: bool = False) -> dict | None:
    stmt = select(custody_withdrawals).where(custody_withdrawals.c.id == withdrawal_id)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def _begin_remit(conn: Connection, clock: Clock, withdrawal_id: int) -> dict | None:
    """ACCEPT → REMITING and the payout part leaves the user (out of the freeze) — before the channel
    is called, so an interception can no longer race the payout."""
    row = _by_id(conn, withdrawal_id, lock=True)
    if row is None or row["status"] != "ACCEPT":
        return None
    now = now_us(clock)
    values = dict(status="REMITING", remit_us=now, updated_us=now, next_check_us=now + QUERY_AFTER_S * 1_000_000)
    conn.execute(update(custody_withdrawals).where(custody_withdrawals.c.id == withdrawal_id,
                                                   custody_withdrawals.c.status == "ACCEPT").values(**values))
    platform = platforms.get_platform(conn, row["platform_no"])
    user = get_user(conn, row["platform_no"], row["platform_user_no"])
    payout = int(row["amount_fen"]) - int(row["commission_fen"])
    ledger_store.apply(conn, [Transfer(user.ledger_account_id, platform.custody_account_id, payout, "WITHDRAW",
                                       f"withdraw:{row['id']}", key=f"{row['platform_no']}:wd:{row['request_no']}",
                                       freeze_key=row["freeze_key"])], atomic=True)
    return {**row, **values}


def _remit_call(channel: PayoutChannel, row: dict, user: User, own_bank_code: str) -> RemitResult:
    try:
        return channel.remit(_payout_order(row, user, own_bank_code))
    except PayoutError as exc:  # an order the channel cannot take at all: a definite refusal
        return RemitResult(RemitAnswer.REJECTED, "RJ01", str(exc)[:100])


def _after_remit(engine: Engine, clock: Clock, withdrawal_id: int, result: RemitResult) -> None:
    if result.answer is RemitAnswer.REJECTED:
        fail_after_remit(engine, clock, withdrawal_id, result.code, result.message)
        return
    later = now_us(clock) + QUERY_AFTER_S * 1_000_000
    if result.answer is RemitAnswer.ACCEPTED and result.expected_at is not None:
        later = int((result.expected_at - us_to_dt(0)) / dt.timedelta(microseconds=1))  # when it is due paid
    run_in_transaction(engine, lambda c: c.execute(update(custody_withdrawals).where(
        custody_withdrawals.c.id == withdrawal_id, custody_withdrawals.c.status == "REMITING")
        .values(next_check_us=later)))


def remit_due(engine: Engine, clock: Clock, channel: PayoutChannel, *, own_bank_code: str = DEFAULT_OWN_BANK,
              limit: int = 200) -> int:
    """Hand every ACCEPT withdrawal whose time has come to the payout channel. Returns how many."""
    now = now_us(clock)
    with engine.connect() as conn:
        ids = [int(r[0]) for r in conn.execute(select(custody_withdrawals.c.id).where(
            custody_withdrawals.c.status == "ACCEPT", custody_withdrawals.c.remit_due_us <= now)
            .order_by(custody_withdrawals.c.remit_due_us).limit(limit))]
        conn.rollback()
    count = 0
    for wid in ids:
        row = run_in_transaction(engine, lambda c, w=wid: _begin_remit(c, clock, w))
        if row is None:
            continue
        count += 1
        with engine.connect() as conn:
            user = get_user(conn, row["platform_no"], row["platform_user_no"])
            conn.rollback()
        _after_remit(engine, clock, wid, _remit_call(channel, row, user, own_bank_code))
    return count


def poll_remitting(engine: Engine, clock: Clock, channel: PayoutChannel, *, own_bank_code: str = DEFAULT_OWN_BANK,
                   limit: int = 200) -> int:
    """Ask the channel about REMITING withdrawals that are due a look; finish them. Returns how many."""
    now = now_us(clock)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(custody_withdrawals).where(
            custody_withdrawals.c.status == "REMITING", custody_withdrawals.c.next_check_us <= now)
            .order_by(custody_withdrawals.c.next_check_us).limit(limit)).mappings()]
        conn.rollback()
    for row in rows:
        result = channel.query(row["order_no"])
        if result.status is RemitStatus.SUCCESS:
            succeed(engine, clock, int(row["id"]), result.completed_at)
        elif result.status in (RemitStatus.FAIL, RemitStatus.REJECTED):
            fail_after_remit(engine, clock, int(row["id"]), result.reason_code, result.reason)
        elif result.status is RemitStatus.NOT_FOUND:  # our submission never arrived: the same order again
            with engine.connect() as conn:
                user = get_user(conn, row["platform_no"], row["platform_user_no"])
                conn.rollback()
            _after_remit(engine, clock, int(row["id"]), _remit_call(channel, row, user, own_bank_code))
        else:
            _after_remit(engine, clock, int(row["id"]), RemitResult(RemitAnswer.UNKNOWN))  # still on its way
    return len(rows)


def succeed(engine: Engine, clock: Clock, withdrawal_id: int, completed_at: dt.datetime | None) -> bool:
    def work(conn: Connection) -> bool:
        row = _by_id(conn, withdrawal_id, lock=True)
        if row is None or row["status"] != "REMITING":
            return False
        now = now_us(clock)
        done_us = now if completed_at is None else int((completed_at - us_to_dt(0)) / dt.timedelta(microseconds=1))
        values = dict(status="SUCCESS", completed_us=done_us, updated_us=now, next_check_us=None)
        conn.execute(update(custody_withdrawals).where(custody_withdrawals.c.id == withdrawal_id,
                                                       custody_withdrawals.c.status == "REMITING").values(**values))
        if int(row["commission_fen"]):
            user = get_user(conn, row["platform_no"], row["platform_user_no"])
            income = platforms.system_account(conn, row["platform_no"], INCOME_ACCOUNT)
            assert income is not None
            ledger_store.apply(conn, [Transfer(user.ledger_account_id, income.account_id, int(row["commission_fen"]),
                                               "WITHDRAW_COMMISSION", f"withdraw:{row['id']}",
                                               key=f"{row['platform_no']}:wd:{row['request_no']}:commission",
                                               freeze_key=row["freeze_key"])], atomic=True)
        _notify(conn, clock, {**row, **values})
        return True

    return run_in_transaction(engine, work)


def fail_after_remit(engine: Engine, clock: Clock, withdrawal_id: int, code: str | None, message: str) -> bool:
    """The channel refused or returned the payout: book it back and tell the platform (REMITFAIL)."""
    def work(conn: Connection) -> bool:
        row = _by_id(conn, withdrawal_id, lock=True)
        if row is None or row["status"] != "REMITING":
            return False
        now = now_us(clock)
        values = dict(status="FAIL", closed_reason="REMITFAIL", completed_us=now, updated_us=now, next_check_us=None,
                      fail_code=(code or None), fail_message=(message or "")[:100] or None)
        conn.execute(update(custody_withdrawals).where(custody_withdrawals.c.id == withdrawal_id,
                                                       custody_withdrawals.c.status == "REMITING").values(**values))
        platform = platforms.get_platform(conn, row["platform_no"])
        user = get_user(conn, row["platform_no"], row["platform_user_no"])
        payout = int(row["amount_fen"]) - int(row["commission_fen"])
        ref = f"withdraw:{row['id']}"
        ops: list[Op] = [Transfer(platform.custody_account_id, user.ledger_account_id, payout, "BACKROLL_RECHARGE", ref,
                                  key=f"{row['platform_no']}:br:{row['request_no']}")]
        if int(row["commission_fen"]):
            ops.append(Release(row["freeze_key"], None, ref=ref))
        ops += advances.return_advance(conn, now, int(row["id"]))
        ledger_store.apply(conn, ops, atomic=True)
        closed = {**row, **values}
        record_backroll(conn, clock, closed, "REMITFAIL")
        _notify(conn, clock, closed)
        return True

    return run_in_transaction(engine, work)


def intercept_record(conn: Connection, platform_no: str, request_no: str) -> dict | None:
    row = conn.execute(select(custody_withdraw_intercepts).where(
        custody_withdraw_intercepts.c.platform_no == platform_no,
        custody_withdraw_intercepts.c.request_no == request_no)).mappings().first()
    return dict(row) if row is not None else None
