"""Resolving a reconciliation difference with a recorded adjustment (调账), under four eyes.

One operator proposes: which difference, a ledger double entry (debit account, credit account, amount)
and a reason. A SECOND, different operator approves it; only then, in ONE transaction, the posting is
made, the adjustment is marked APPROVED with the posting's sequence number, the difference RESOLVED,
and both operators' actions are in the console trail. The proposer can never approve (checked here and
by a CHECK constraint); an approval of an adjustment that is no longer PROPOSED changes nothing; a second
operator may also reject a proposal (nothing is posted; the difference stays OPEN for a new proposal).

Accounts an adjustment may name (all of the difference's platform, except the suspense account):
- `CUSTODY_CASH` — the platform's custody cash account (the real custody account's mirror);
- `SYS_GENERATE_000` … `007` — the platform's system accounts;
- a platformUserNo — that user's virtual account;
- `SUSPENSE` — the bank's reconciliation suspense account (`B:RECONCILE:SUSPENSE`, may go below zero),
  the only way to correct the first invariant itself (moves inside a platform never change Σ custody
  cash + virtual accounts) and a parking place for money whose owner is still being found.
Sign convention of the ledger: a credit raises a virtual account, a debit lowers it.

Who may: reviewers and admins (an operator role only reads). Amounts are typed in yuan (at most 2
decimals) and stored in fen.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from cunguan.clock import Clock
from cunguan.console import roles
from cunguan.console.actions import Conflict, record
from cunguan.console.errors import Forbidden, InvalidInput, NotFound
from cunguan.console.operators import Operator, now_us
from cunguan.custody import platforms
from cunguan.custody.user_store import ledger_code
from cunguan.db import ledger_store
from cunguan.db.tables.reconcile import reconcile_adjustments, reconcile_differences
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.errors import LedgerError
from cunguan.ledger.ops import Transfer
from cunguan.money import AmountError, parse_yuan

ADJUST_ROLES = (roles.REVIEWER, roles.ADMIN)
CUSTODY_CASH = "CUSTODY_CASH"
SUSPENSE = "SUSPENSE"
SUSPENSE_CODE = "B:RECONCILE:SUSPENSE"
MAX_REASON = 200
BIZ_TYPE = "RECONCILE_ADJUSTMENT"


@dataclass(frozen=True)
class Adjustment:
    id: int
    difference_id: int
    platform_no: str
    debit_account: str
    credit_account: str
    amount_fen: int
    reason: str
    status: str
    proposed_by: int
    decided_by: int | None
    posting_seq: int | None


def _to_adjustment(row) -> Adjustment:
    return Adjustment(int(row["id"]), int(row["difference_id"]), row["platform_no"], row["debit_account"],
                      row["credit_account"], int(row["amount_fen"]), row["reason"], row["status"],
                      int(row["proposed_by"]), None if row["decided_by"] is None else int(row["decided_by"]),
                      None if row["posting_seq"] is None else int(row["posting_seq"]))


def may_adjust(role: str) -> bool:
    return role in ADJUST_ROLES


def _require_role(actor: Operator) -> None:
    if not actor.active or not may_adjust(actor.role):
        raise Forbidden(f"您的角色（{roles.ROLE_LABEL.get(actor.role, actor.role)}）无权调账")


def _locked(conn: Connection, table, row_id: int):
    stmt = select(table).where(table.c.id == row_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).mappings().first()


def account_id(conn: Connection, platform_no: str, name: str, *, open_suspense: bool = False) -> int:
    """The ledger account an adjustment names (see module docstring); InvalidInput if there is none."""
    if name == SUSPENSE:
        found = ledger_store.find_account(conn, SUSPENSE_CODE)
        if found is not None:
            return int(found["id"])
        if not open_suspense:
            return 0
        return ledger_store.open_account(conn, SUSPENSE_CODE, owner_type="BANK", owner_ref="RECONCILE",
                                         allow_overdraw=True)
    if name == CUSTODY_CASH:
        code = platforms.custody_account_code(platform_no)
    elif name in platforms.SYSTEM_ACCOUNTS:
        code = platforms.system_account_code(platform_no, name)
    else:
        code = ledger_code(platform_no, name)
    found = ledger_store.find_account(conn, code)
    if found is None:
        raise InvalidInput(f"账户 {name} 不存在（平台 {platform_no}）")
    return int(found["id"])


def _account_name(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 50:
        raise InvalidInput(f"{field} 须为 CUSTODY_CASH、SYS_GENERATE_00x、SUSPENSE 或平台用户编号")
    return value.strip()


def propose(engine: Engine, clock: Clock, actor: Operator, *, difference_id: int, debit_account: str,
            credit_account: str, amount: object, reason: str) -> Adjustment:
    """Record a proposal (nothing is posted)."""
    _require_role(actor)
    debit = _account_name(debit_account, "借方账户")
    credit = _account_name(credit_account, "贷方账户")
    if debit == credit:
        raise InvalidInput("借方与贷方不能是同一账户")
    try:
        amount_fen = parse_yuan(amount, field="amount")
    except AmountError as exc:
        raise InvalidInput(f"金额不正确：{exc}") from None
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(f"须填写调账原因（至多 {MAX_REASON} 字）")

    def work(conn: Connection) -> Adjustment:
        diff = _locked(conn, reconcile_differences, difference_id)
        if diff is None:
            raise NotFound("差异不存在")
        if diff["status"] != "OPEN":
            raise Conflict("该差异已处理")
        pending = conn.execute(select(reconcile_adjustments.c.id).where(
            reconcile_adjustments.c.difference_id == difference_id,
            reconcile_adjustments.c.status == "PROPOSED")).first()
        if pending is not None:
            raise Conflict(f"该差异已有待复核的调账 #{pending[0]}")
        for name in (debit, credit):
            account_id(conn, diff["platform_no"], name)
        now = now_us(clock)
        new_id = int(conn.execute(reconcile_adjustments.insert().values(
            difference_id=difference_id, platform_no=diff["platform_no"], debit_account=debit, credit_account=credit,
            amount_fen=amount_fen, reason=reason, status="PROPOSED", proposed_by=actor.id, proposed_us=now))
            .inserted_primary_key[0])
        record(conn, clock, actor, "RECONCILE_PROPOSE", f"reconcile-difference:{difference_id}",
               f"adjustment {new_id}: {debit} → {credit} {amount_fen} fen")
        return _to_adjustment(_locked(conn, reconcile_adjustments, new_id))

    return run_in_transaction(engine, work)


def approve(engine: Engine, clock: Clock, actor: Operator, adjustment_id: int) -> Adjustment:
    """The second operator's approval: post the double entry, resolve the difference — one transaction."""
    _require_role(actor)

    def work(conn: Connection) -> Adjustment:
        row = _locked(conn, reconcile_adjustments, adjustment_id)
        if row is None:
            raise NotFound("调账不存在")
        if int(row["proposed_by"]) == actor.id:
            raise Forbidden("调账须由另一名操作员复核，提议人不能自己批准")
        if row["status"] != "PROPOSED":
            raise Conflict("该调账已处理")
        diff = _locked(conn, reconcile_differences, int(row["difference_id"]))
        if diff is None or diff["status"] != "OPEN":
            raise Conflict("该差异已处理")
        p = row["platform_no"]
        debit = account_id(conn, p, row["debit_account"], open_suspense=True)
        credit = account_id(conn, p, row["credit_account"], open_suspense=True)
        try:
            (result,) = ledger_store.apply(conn, [Transfer(debit, credit, int(row["amount_fen"]), BIZ_TYPE,
                                                           f"reconcile-adjustment:{adjustment_id}",
                                                           key=f"{p}:radj:{adjustment_id}")], atomic=True)
        except LedgerError as exc:
            raise InvalidInput(f"记账被拒绝：{exc.message}") from None
        assert result.ok and result.posting_seq is not None
        now = now_us(clock)
        done = conn.execute(update(reconcile_adjustments).where(
            reconcile_adjustments.c.id == adjustment_id, reconcile_adjustments.c.status == "PROPOSED").values(
            status="APPROVED", decided_by=actor.id, decided_us=now, posting_seq=result.posting_seq))
        assert done.rowcount == 1
        done = conn.execute(update(reconcile_differences).where(
            reconcile_differences.c.id == diff["id"], reconcile_differences.c.status == "OPEN").values(
            status="RESOLVED", adjustment_id=adjustment_id, resolved_us=now))
        assert done.rowcount == 1
        record(conn, clock, actor, "RECONCILE_APPROVE", f"reconcile-adjustment:{adjustment_id}",
               f"posting {result.posting_seq}")
        return _to_adjustment(_locked(conn, reconcile_adjustments, adjustment_id))

    return run_in_transaction(engine, work)


def reject(engine: Engine, clock: Clock, actor: Operator, adjustment_id: int) -> Adjustment:
    """A second operator turns the proposal down: nothing is posted, the difference stays OPEN."""
    _require_role(actor)

    def work(conn: Connection) -> Adjustment:
        row = _locked(conn, reconcile_adjustments, adjustment_id)
        if row is None:
            raise NotFound("调账不存在")
        if int(row["proposed_by"]) == actor.id:
            raise Forbidden("调账须由另一名操作员复核，提议人不能自己驳回")
        if row["status"] != "PROPOSED":
            raise Conflict("该调账已处理")
        conn.execute(update(reconcile_adjustments).where(reconcile_adjustments.c.id == adjustment_id).values(
            status="REJECTED", decided_by=actor.id, decided_us=now_us(clock)))
        record(conn, clock, actor, "RECONCILE_REJECT", f"reconcile-adjustment:{adjustment_id}")
        return _to_adjustment(_locked(conn, reconcile_adjustments, adjustment_id))

    return run_in_transaction(engine, work)


def adjustments_for(conn: Connection, difference_ids: list[int]) -> list[Adjustment]:
    if not difference_ids:
        return []
    a = reconcile_adjustments.c
    rows = conn.execute(select(reconcile_adjustments).where(a.difference_id.in_(difference_ids)).order_by(a.id))
    return [_to_adjustment(r) for r in rows.mappings()]
