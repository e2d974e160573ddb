"""The batched freeze-order executor: USER_AUTO_PRE_TRANSACTION requests that met (in `db.group_commit` on
PostgreSQL, in the event-loop batch of `router.ServiceFastPath` on SQLite) applied with a constant number
of statements, each order still all-or-nothing and decided by exactly the checks of the single path
(`pre_transactions.judge_order`, `authorizations.judge_grant`, the ledger).

`user_auto_pre_transactions(conn, clock, platform_no, reqs)` returns, per request, its answer or its
refusal (an exception, never raised). Inside the caller's transaction:
1. parse every request (a parse error is its refusal);
2. run the orders the batch does not take alone, each in a SAVEPOINT at its place (the orders before it
   written first, the ones after it loaded again): CREDIT_ASSIGNMENT (its sale), an order naming
   originalRechargeNo (its recharge), an order without a project, and a requestNo repeated in the batch;
3. read which of the rest's requestNos are taken, in one statement (`requests.taken_all`; the free
   ones' register rows are written with their outcomes at the end, `requests.record_all`);
4. load, one statement each and in the single path's lock order: the payers, the projects (row-locked),
   the payers' ACTIVE grants of the orders' types (row-locked);
5. judge the orders in turn against the state in memory: an order sees the room and the grant use of
   the orders accepted before it;
6. ONE `ledger_store.apply_groups` of the holds (each all-or-nothing); a hold the ledger refuses (the
   available balance) makes that order a refusal and the batch is judged again without it;
7. bulk writes: the grants' use, the orders, the projects' accumulators, the register rows of the
   accepted orders with their outcomes (a refused order leaves none) — the register ends exactly as
   after one request at a time.
About ten statements per batch, whatever its size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.custody import authorizations, pre_transactions, projects, requests
from cunguan.custody.pre_transactions import Order
from cunguan.custody.trade_batch import detached, free_entries, rows_in
from cunguan.custody.trade_common import Party, ledger_refusal, load_parties, party
from cunguan.db import ledger_store
from cunguan.db.bulk import insert_rows, update_rows
from cunguan.db.prepared import Write, run_together
from cunguan.db.tables.custody_trades import custody_pre_transactions, custody_projects
from cunguan.db.tx import is_retryable
from cunguan.ledger.ops import Hold

SERVICE = "USER_AUTO_PRE_TRANSACTION"
Answer = dict[str, Any] | BaseException


def _batchable(order: Order) -> bool:
    return order.project_no is not None and order.biz_type != "CREDIT_ASSIGNMENT" and order.original_recharge_no is None


@dataclass
class _Judged:
    """One judging pass: the accepted orders (index, order, payer account), the refusals, and the
    state the accepted ones leave (project rooms, grant use)."""

    accepted: list[tuple[int, Order, int]] = field(default_factory=list)
    refused: dict[int, BaseException] = field(default_factory=dict)
    tender_frozen: dict[int, int] = field(default_factory=dict)
    """Project id → fen the batch's accepted TENDER orders freeze."""
    grant_use: dict[int, int] = field(default_factory=dict)
    """Grant id → fen the batch's accepted orders count against it."""


def _judge(entries: list[tuple[int, Order]], parties: Mapping[str, Party], by_no: Mapping[str, dict],
           grants: Mapping[tuple[str, str], authorizations.Grant], today: str,
           ledger_refused: Mapping[int, BaseException]) -> _Judged:
    judged = _Judged(refused=dict(ledger_refused))
    for index, order in entries:
        if index in ledger_refused:
            continue
        try:
            payer = party(parties, order.user_no, "platformUserNo")
            pre_transactions.judge_payer(payer)
            project = by_no.get(order.project_no or "")
            if project is None:
                raise projects.not_found(order.project_no or "")
            frozen = judged.tender_frozen.get(project["id"], 0)
            pre_transactions.judge_project(order, {**project, "tender_frozen_fen": project["tender_frozen_fen"] + frozen})
            grant = grants.get((order.user_no, order.biz_type))
            used = judged.grant_use.get(grant.id, 0) if grant is not None else 0
            authorizations.judge_grant(grant, order.biz_type, order.amount_fen, today, used_before=used)
        except Exception as exc:  # noqa: BLE001 - the order's refusal
            judged.refused[index] = detached(exc)
            continue
        if order.biz_type == "TENDER":
            judged.tender_frozen[project["id"]] = frozen + order.amount_fen
        if grant is not None and order.amount_fen:
            judged.grant_use[grant.id] = used + order.amount_fen
        judged.accepted.append((index, order, payer.account_id))
    return judged


def _run_batched(conn: Connection, clock: Clock, platform_no: str, entries: list[tuple[int, Order]],
                 out: list[Answer | None]) -> None:
    if not entries:
        return
    live = free_entries(conn, platform_no, entries, out)
    if not live:
        return
    orders = [o for _i, o in live]
    parties = load_parties(conn, platform_no, {o.user_no for o in orders})
    by_no = {p["project_no"]: p for p in rows_in(conn, custody_projects, custody_projects.c.project_no, platform_no,
                                                  {o.project_no for o in orders if o.project_no}, lock=True)}
    grants = authorizations.current_grants(conn, platform_no, {(o.user_no, o.biz_type) for o in orders})
    today = clock.beijing_date().strftime("%Y%m%d")
    ledger_refused: dict[int, BaseException] = {}
    while True:
        judged = _judge(live, parties, by_no, grants, today, ledger_refused)
        holds = [[Hold(account, order.amount_fen, pre_transactions.pre_key(platform_no, order.request_no),
                       f"{SERVICE}:{order.request_no}")] for _i, order, account in judged.accepted]
        results = ledger_store.apply_groups(conn, holds, write_if_refused=False)
        newly = {index: ledger_refusal(r.error, ["amount"])
                 for (index, _o, _a), r in zip(judged.accepted, results, strict=True)
                 if r is not None and not r.ok and r.error is not None}
        if not newly:
            break
        ledger_refused.update(newly)
    now = requests.clock_us(clock)
    _write(conn, platform_no, judged, now)
    records = []
    for index, order, _account in judged.accepted:
        answer = {"requestNo": order.request_no, "bizType": order.biz_type, "platformUserNo": order.user_no}
        out[index] = answer
        records.append((order.request_no, order.user_no, {**answer, "amount": order.amount_fen}))
    requests.record_all(conn, clock, platform_no, SERVICE, records)
    for index, exc in judged.refused.items():
        out[index] = exc


_ORDER_COLUMNS = ("platform_no", "request_no", "service_name", "platform_user_no", "biz_type", "project_no",
                  "amount_fen", "consumed_fen", "released_fen", "pre_marketing_fen", "marketing_spent", "share_fen",
                  "share_bought_fen", "creditsale_request_no", "original_recharge_no", "remark", "status",
                  "created_us", "updated_us")


def _write(conn: Connection, platform_no: str, judged: _Judged, now: int) -> None:
    run_together(conn, [Write(authorizations.CONSUME, {"a_id": grant_id, "amount": fen}, rows=1)
                        for grant_id, fen in sorted(judged.grant_use.items())])  # the grants are locked: they fit
    insert_rows(conn, custody_pre_transactions, _ORDER_COLUMNS, [
        (platform_no, o.request_no, SERVICE, o.user_no, o.biz_type, o.project_no, o.amount_fen, 0, 0,
         o.pre_marketing_fen, False, o.share_fen, 0, None, None, o.remark, "FREEZED", now, now)
        for _i, o, _a in judged.accepted])
    update_rows(conn, custody_projects, "id", ("tender_frozen_fen", "updated_us"),
                [(fen, now, project_id) for project_id, fen in sorted(judged.tender_frozen.items())],
                add=("tender_frozen_fen",))


def _single(conn: Connection, clock: Clock, platform_no: str, req: Mapping[str, Any]) -> Answer:
    try:
        with conn.begin_nested():
            return pre_transactions.user_auto_pre_transaction(conn, clock, platform_no, req)
    except Exception as exc:  # noqa: BLE001 - a refusal is the request's answer; conflicts go up
        if is_retryable(exc):
            raise
        return detached(exc)


def user_auto_pre_transactions(conn: Connection, clock: Clock, platform_no: str,
                               reqs: Sequence[Mapping[str, Any]]) -> list[Answer]:
    """Per request the answer `pre_transactions.user_auto_pre_transaction` gives it alone, or its
    refusal, in this order (see the module docstring)."""
    out: list[Answer | None] = [None] * len(reqs)
    entries: list[tuple[int, Order]] = []
    seen: set[str] = set()
    for index, req in enumerate(reqs):
        try:
            order = pre_transactions.parse_order(req, pre_transactions.USER_BIZ_TYPES)
        except Exception as exc:  # noqa: BLE001 - the request's refusal
            out[index] = detached(exc)
            continue
        if _batchable(order) and order.request_no not in seen:
            seen.add(order.request_no)
            entries.append((index, order))
            continue
        _run_batched(conn, clock, platform_no, entries, out)  # the orders before it, then it alone
        entries, seen = [], set()
        out[index] = _single(conn, clock, platform_no, req)
    _run_batched(conn, clock, platform_no, entries, out)
    assert all(o is not None for o in out)
    return out  # type: ignore[return-value]
