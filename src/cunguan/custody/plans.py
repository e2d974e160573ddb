"""Wealth-management plans (理财计划 / 批量投标计划; scenario 12, protocol §2.5, §2.7, §5.8).

Services: ESTABLISH_INTELLIGENT_PROJECT, PURCHASE_INTELLIGENT_PROJECT, SYNC_TRANSACTION tradeType
INTELLIGENT_APPEND / APPEND_FREEZE (registered in `trades.EXTENSIONS`, so ASYNC_TRANSACTION runs it
too), INTELLIGENT_PROJECT_UNFREEZE, INTELLIGENT_PROJECT_DEBENTURE_SALE, QUERY_INTELLIGENT_PROJECT_ORDER.
Each state change is one transaction: requestNo claim, ledger operations, business rows, outcome.

Decisions where the spec is silent:
- A plan purchase is a freeze order: a row in `custody_pre_transactions` (service
  PURCHASE_INTELLIGENT_PROJECT, bizType TENDER, no project) under the purchase requestNo, plus a
  `custody_plan_orders` row. So QUERY_TRANSACTION PRETRANSACTION shows purchases (amount = all money put
  under the plan so far, remainAmount = unmatched), and the trade core consumes it like a bid.
- Authorization: a purchase (and an append) is the investor's own act through the platform without a
  page, so it needs the investor's TENDER authorization (unexpired, within its cap, consumed), as
  USER_AUTO_PRE_TRANSACTION bizType TENDER does (100011 otherwise).
- Matching (撮合): the platform releases a project with an ordinary TENDER trade whose TENDER detail's
  `freezeRequestNo` is the plan purchase's requestNo. The plan freeze is consumed for the detail amount,
  the investor's share grows as for any bid, and the plan order records a match {matchProjectNo,
  matchShare}; unmatchAmount (what is still frozen) falls. The project's over-raise rule holds: loan +
  bids still frozen never exceed projectAmount (a plan freeze is not one of the project's bids).
- A ledger freeze cannot grow, so money added to a plan order (append, repayments, sale proceeds)
  re-freezes it: the remaining ledger freeze is released and the whole new remainder held again under
  a key naming the order's new total (`{platform}:pre:{requestNo}@{amount_fen}`; `trades.ORDER_LEDGER_KEYS`
  tells the trade core). CANCEL_PRE_TRANSACTION does not apply to plan orders (it finds no freeze:
  100007); exits go through INTELLIGENT_PROJECT_UNFREEZE.
- Money back into the plan (`after_trade`, a `trades.AFTER_TRADE` hook, same transaction as the trade):
  REPAYMENT and COMPENSATORY details paid to a holder whose share of the project is partly held through
  plan orders: the plan's part of the money is amount × (plan share not on sale) / (holder's share not
  on sale), the plan's part of the principal likewise; both are split over the plan orders in
  proportion to their matches. That money is frozen again under the plan order (unmatchAmount grows)
  and the matchShare falls by the principal. Never more than the trade credits to the holder net of fees
  the holder pays in it.
- Unified interest (统一派息): INTEREST details from SYS_GENERATE_005 (tradeType MARKETING or REPAYMENT)
  pay plan investors like anyone else, to the AVAILABLE balance: interest is the plan's income paid
  out, not principal to reinvest, and an INTEREST detail does not name a plan order.
- INTELLIGENT_PROJECT_DEBENTURE_SALE is atomic: every offer becomes a DEBENTURE_SALE (its saleRequestNo
  claimed in the register, the share locked) or none does. An offer may sell at most the match's share
  not already on sale. When a sale of a plan share sells (CREDIT_ASSIGNMENT), the matchShare falls by the
  share sold and the seller's proceeds (net of fees the seller pays in the trade) are frozen again under
  the plan order. A plain DEBENTURE_SALE by a plan holder sells the directly held share first; only what
  it eats into the plan's share comes back to the plan (proportional part of the proceeds).
- Records: a purchase is a QUERY_TRANSACTION PRETRANSACTION record (bizType TENDER, no projectNo), an
  append a TRANSACTION record (its APPEND_FREEZE details), an exit a CANCEL_PRETRANSACTION record
  (preTransactionNo = intelRequestNo), each plan sale a DEBENTURE_SALE record.
- ESTABLISH_INTELLIGENT_PROJECT: intelProjectNo unique per platform (100008); the rate is recorded as
  sent (`annualInterestRate`, the ESTABLISH_PROJECT spelling `annnualInterestRate` accepted too).
Lock order (PostgreSQL): project → freeze orders (custody_pre_transactions) → plan orders, the trade
core's order; plan matches change only under their project's lock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.custody import authorizations, debentures, pre_transactions, projects, requests, trades
from cunguan.custody.fields import opt, opt_text, req_text
from cunguan.custody.plan_math import part, split
from cunguan.custody.trade_common import (
    amount_fen,
    apply_ledger,
    get_party,
    load_parties,
    party,
    pre_key,
    yuan,
)
from cunguan.custody.trade_errors import (
    BusinessRefused,
    FreezeInsufficient,
    FreezeNotFound,
    InvalidField,
    ProjectTypeMismatch,
    ShareInsufficient,
)
from cunguan.custody.trade_rules import TradePlan, TradeRequest, TradeState, parse_trade
from cunguan.custody.user_errors import QueryTargetNotFound
from cunguan.db.tables.custody_plans import (
    custody_plan_matches,
    custody_plan_movements,
    custody_plan_orders,
    custody_plan_sales,
    custody_plans,
)
from cunguan.db.tables.custody_trades import (
    custody_debenture_sales,
    custody_freeze_releases,
    custody_pre_transactions,
    custody_trade_details,
    custody_trades,
)
from cunguan.ledger.ops import Hold, Op, Release
from cunguan.money import format_yuan

PURCHASE = "PURCHASE_INTELLIGENT_PROJECT"
MAX_SALE_OFFERS = 200
"""Offers per INTELLIGENT_PROJECT_DEBENTURE_SALE: bounds the transaction's locks and statements."""
APPEND_TRADE_TYPES = ("INTELLIGENT_APPEND", "APPEND_FREEZE")
HOLDER_PAYMENTS = ("REPAYMENT", "COMPENSATORY")
"""Detail bizTypes that pay a holder for (part of) their share: the plan's part flows back."""


class PlanNotFound(QueryTargetNotFound):
    reason = "PLAN_NOT_FOUND"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(f"批量投标计划不存在：{detail}", field=field)


class PlanOrderNotFound(QueryTargetNotFound):
    reason = "PLAN_ORDER_NOT_FOUND"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(f"批量投标请求不存在：{detail}", field=field)


def ledger_key(platform_no: str, order: Mapping[str, Any]) -> str:
    """Ledger freeze key of a plan order's current freeze (see module docstring)."""
    return pre_key(platform_no, f"{order['request_no']}@{order['amount_fen']}")


def remaining_fen(pre: Mapping[str, Any]) -> int:
    return pre_transactions.remaining_fen(pre)


# ---------------------------------------------------------------- loading


def find_plan(conn: Connection, platform_no: str, intel_no: str) -> dict | None:
    c = custody_plans.c
    row = conn.execute(select(custody_plans).where(c.platform_no == platform_no, c.intel_project_no == intel_no)) \
        .mappings().first()
    return dict(row) if row is not None else None


def load_orders(conn: Connection, platform_no: str, nos: Sequence[str], *,
                lock: bool = False) -> dict[str, tuple[dict, dict]]:
    """Plan orders by requestNo: (freeze order row, plan order row). Lock order: freeze order, plan order."""
    pres = pre_transactions.load_orders(conn, platform_no, list(nos), lock=lock)
    nos = sorted(n for n, p in pres.items() if p["service_name"] == PURCHASE)
    if not nos:
        return {}
    c = custody_plan_orders.c
    stmt = select(custody_plan_orders).where(c.platform_no == platform_no, c.request_no.in_(nos))
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    rows = {r["request_no"]: dict(r) for r in conn.execute(stmt).mappings()}
    return {n: (pres[n], rows[n]) for n in nos}


def _matches(conn: Connection, platform_no: str, project_no: str, holders: Sequence[str]) -> list[dict]:
    c = custody_plan_matches.c
    stmt = select(custody_plan_matches).where(c.platform_no == platform_no, c.project_no == project_no,
                                              c.holder_user_no.in_(sorted(set(holders))), c.share_fen > 0) \
        .order_by(c.id)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def _on_sale(conn: Connection, platform_no: str, project_no: str, order_nos: Sequence[str]) -> dict[str, int]:
    """Share of each plan order on this project still offered by a plan sale (locked, unsold)."""
    ps, ds = custody_plan_sales.c, custody_debenture_sales.c
    stmt = select(ps.order_request_no, func.sum(ds.sale_share_fen - ds.sold_fen - ds.cancelled_fen)).select_from(
        custody_plan_sales.join(custody_debenture_sales, and_(ds.platform_no == ps.platform_no,
                                                               ds.request_no == ps.sale_request_no))
    ).where(ps.platform_no == platform_no, ps.project_no == project_no, ps.order_request_no.in_(sorted(set(order_nos))),
            ds.status == "ONSALE").group_by(ps.order_request_no)
    return {r[0]: int(r[1] or 0) for r in conn.execute(stmt)}


# ---------------------------------------------------------------- money into a plan order


def _top_up(conn: Connection, platform_no: str, no: str, account_id: int, delta_fen: int, request_no: str,
            kind: str, project_no: str | None, now: int) -> None:
    """Freeze `delta_fen` more of the owner's available balance under plan order `no`: release what the
    current ledger freeze holds and hold it again, plus the delta, under the key of the new total."""
    assert delta_fen > 0
    pre, order = load_orders(conn, platform_no, [no], lock=True)[no]
    left = remaining_fen(pre)
    new_total = pre["amount_fen"] + delta_fen
    ops: list[Op] = []
    if left > 0:
        ops.append(Release(ledger_key(platform_no, pre), left, ref=f"PLAN:{kind}:{request_no}"))
    ops.append(Hold(account_id, left + delta_fen, ledger_key(platform_no, {"request_no": no, "amount_fen": new_total}),
                    f"PLAN:{kind}:{request_no}"))
    apply_ledger(conn, ops, ["amount"] * len(ops))
    conn.execute(update(custody_pre_transactions).where(custody_pre_transactions.c.id == pre["id"]).values(
        amount_fen=new_total, status="FREEZED", updated_us=now))
    column = "appended_fen" if kind == "APPEND" else "reinvested_fen"
    conn.execute(update(custody_plan_orders).where(custody_plan_orders.c.id == order["id"]).values(
        **{column: order[column] + delta_fen}, updated_us=now))
    _movement(conn, platform_no, no, request_no, kind, project_no, delta_fen, now)


def _movement(conn: Connection, platform_no: str, order_no: str, request_no: str, kind: str, project_no: str | None,
              amount: int, now: int) -> None:
    conn.execute(custody_plan_movements.insert().values(
        platform_no=platform_no, order_request_no=order_no, request_no=request_no, kind=kind, project_no=project_no,
        amount_fen=amount, created_us=now))


# ---------------------------------------------------------------- ESTABLISH_INTELLIGENT_PROJECT


def establish_intelligent_project(conn: Connection, clock: Clock, platform_no: str,
                                  req: Mapping[str, Any]) -> dict[str, Any]:
    request_no = requests.request_no(req.get("requestNo"))
    intel_no = req_text(req.get("intelProjectNo"), "intelProjectNo")
    name = req_text(req.get("intelProjectName"), "intelProjectName", max_len=300)
    description = opt_text(req.get("intelProjectDescription"), "intelProjectDescription", max_len=300)
    raw_rate = req.get("annualInterestRate")
    if opt(raw_rate) is None:
        raw_rate = req.get("annnualInterestRate")
    rate = projects.parse_rate(raw_rate, "annualInterestRate")
    requests.claim(conn, clock, platform_no, request_no, "ESTABLISH_INTELLIGENT_PROJECT", None)
    if find_plan(conn, platform_no, intel_no) is not None:
        raise BusinessRefused(f"intelProjectNo {intel_no!r} already exists on this platform", field="intelProjectNo")
    now = requests.clock_us(clock)
    # A concurrent twin on PostgreSQL meets the unique pair; run_in_transaction retries and finds it above.
    conn.execute(custody_plans.insert().values(
        platform_no=platform_no, intel_project_no=intel_no, intel_project_name=name,
        intel_project_description=description, annual_interest_rate=str(rate), request_no=request_no, created_us=now))
    out = {"requestNo": request_no, "intelProjectNo": intel_no}
    requests.record(conn, platform_no, request_no, None, {**out, "annualInterestRate": str(rate)})
    return out


# ---------------------------------------------------------------- PURCHASE_INTELLIGENT_PROJECT


def purchase_intelligent_project(conn: Connection, clock: Clock, platform_no: str,
                                 req: Mapping[str, Any]) -> dict[str, Any]:
    """Freeze the investor's `amount` under the plan (intelRequestNo = this requestNo)."""
    request_no = requests.request_no(req.get("requestNo"))
    user_no = req_text(req.get("platformUserNo"), "platformUserNo")
    amount = amount_fen(req.get("amount"), "amount")
    intel_no = req_text(req.get("intelProjectNo"), "intelProjectNo")
    remark = opt_text(req.get("remark"), "remark")
    requests.claim(conn, clock, platform_no, request_no, PURCHASE, user_no)
    payer = get_party(conn, platform_no, user_no, "platformUserNo")
    if payer.system:
        raise BusinessRefused("platformUserNo: a system account cannot buy a plan", field="platformUserNo")
    if find_plan(conn, platform_no, intel_no) is None:
        raise PlanNotFound(f"intelProjectNo {intel_no[:50]!r}", field="intelProjectNo")
    authorizations.require_authorization(conn, platform_no, user_no, "TENDER", amount, clock.now(), consume=True)
    apply_ledger(conn, [Hold(payer.account_id, amount, ledger_key(platform_no, {"request_no": request_no,
                                                                                "amount_fen": amount}),
                             f"{PURCHASE}:{request_no}")], ["amount"])
    now = requests.clock_us(clock)
    conn.execute(custody_pre_transactions.insert().values(
        platform_no=platform_no, request_no=request_no, service_name=PURCHASE, platform_user_no=user_no,
        biz_type="TENDER", project_no=None, amount_fen=amount, consumed_fen=0, released_fen=0, pre_marketing_fen=0,
        marketing_spent=False, share_fen=0, share_bought_fen=0, creditsale_request_no=None, original_recharge_no=None,
        remark=remark, status="FREEZED", created_us=now, updated_us=now))
    conn.execute(custody_plan_orders.insert().values(
        platform_no=platform_no, request_no=request_no, intel_project_no=intel_no, platform_user_no=user_no,
        purchase_fen=amount, appended_fen=0, reinvested_fen=0, matched_fen=0, unfrozen_fen=0, remark=remark,
        created_us=now, updated_us=now))
    _movement(conn, platform_no, request_no, request_no, "PURCHASE", None, amount, now)
    out = {"requestNo": request_no, "platformUserNo": user_no, "intelProjectNo": intel_no}
    requests.record(conn, platform_no, request_no, user_no, {**out, "amount": amount})
    return out


# ---------------------------------------------------------------- SYNC_TRANSACTION INTELLIGENT_APPEND


def intelligent_append(conn: Connection, clock: Clock, platform_no: str, request_no: str,
                       trade: Mapping[str, Any]) -> trades.TradeResult:
    """tradeType INTELLIGENT_APPEND (or APPEND_FREEZE): each APPEND_FREEZE detail freezes `amount` more of
    the plan owner's available balance under `freezeRequestNo` (the purchase requestNo)."""
    req = parse_trade(request_no, trade)
    if req.trade_type not in APPEND_TRADE_TYPES:
        raise InvalidField(f"tradeType {req.trade_type} is not an append", field="tradeType")
    if req.project_no is not None:
        raise InvalidField("projectNo: an append adds to a plan order, not to a project", field="projectNo")
    for d in req.details:
        if d.biz_type != "APPEND_FREEZE":
            raise InvalidField(f"details[{d.seq}].bizType must be APPEND_FREEZE in {req.trade_type}",
                               field=f"details[{d.seq}].bizType")
        if d.freeze_request_no is None:
            raise InvalidField(f"details[{d.seq}].freezeRequestNo (the plan purchase requestNo) is required",
                               field=f"details[{d.seq}].freezeRequestNo")
        if d.share_fen is not None:
            raise InvalidField(f"details[{d.seq}].share has no meaning in an append", field=f"details[{d.seq}].share")
    requests.claim(conn, clock, platform_no, req.request_no, trades.SERVICE, None)
    nos = [d.freeze_request_no for d in req.details if d.freeze_request_no]
    orders = load_orders(conn, platform_no, nos, lock=True)
    known = pre_transactions.load_orders(conn, platform_no, nos) if len(orders) < len(set(nos)) else {}
    owners: dict[str, str] = {}
    totals: dict[str, int] = defaultdict(int)
    for d in req.details:
        fr, no = f"details[{d.seq}].freezeRequestNo", d.freeze_request_no
        assert no is not None
        if no not in orders:
            if no in known:
                raise ProjectTypeMismatch(f"{fr} {no!r} is not a plan purchase", field=fr)
            raise FreezeNotFound(f"{fr} {no!r}", field=fr)
        owner = orders[no][1]["platform_user_no"]
        if d.source is not None and d.source != owner:
            raise BusinessRefused(f"details[{d.seq}].sourcePlatformUserNo is not the owner of {fr}",
                                  field=f"details[{d.seq}].sourcePlatformUserNo")
        if d.target is not None and d.target != owner:
            raise InvalidField(f"details[{d.seq}].targetPlatformUserNo: an append freezes the owner's own money",
                               field=f"details[{d.seq}].targetPlatformUserNo")
        owners[no] = owner
        totals[no] += d.amount_fen
    parties = load_parties(conn, platform_no, set(owners.values()))
    at = clock.now()
    per_user: dict[str, int] = defaultdict(int)
    for no, amount in totals.items():
        per_user[owners[no]] += amount
    for user_no in sorted(per_user):
        party(parties, user_no, "details.sourcePlatformUserNo")
        authorizations.require_authorization(conn, platform_no, user_no, "TENDER", per_user[user_no], at, consume=True)
    now = requests.clock_us(clock)
    for no in sorted(totals):
        _top_up(conn, platform_no, no, parties[owners[no]].account_id, totals[no], req.request_no, "APPEND", None, now)
    total = sum(totals.values())
    trade_id = conn.execute(custody_trades.insert().values(
        platform_no=platform_no, request_no=req.request_no, trade_type=req.trade_type, project_no=None,
        sale_request_no=None, batch_no=None, status="SUCCESS", amount_fen=total, detail_count=len(req.details),
        created_us=now)).inserted_primary_key[0]
    conn.execute(custody_trade_details.insert(), [dict(
        trade_id=trade_id, platform_no=platform_no, request_no=req.request_no, seq=d.seq, biz_type=d.biz_type,
        freeze_request_no=d.freeze_request_no, source_user_no=owners[d.freeze_request_no or ""],
        target_user_no=owners[d.freeze_request_no or ""], amount_fen=d.amount_fen, income_fen=0, share_fen=None,
        project_no=None, custom_define=d.custom_define, remark=d.remark, created_us=now) for d in req.details])
    requests.record(conn, platform_no, req.request_no, None,
                    {"requestNo": req.request_no, "tradeType": req.trade_type, "transactionStatus": "SUCCESS",
                     "amount": total})
    return trades.TradeResult(req.request_no, req.trade_type, "SUCCESS", int(trade_id), len(req.details), total, None)


# ---------------------------------------------------------------- INTELLIGENT_PROJECT_UNFREEZE


def intelligent_project_unfreeze(conn: Connection, clock: Clock, platform_no: str,
                                 req: Mapping[str, Any]) -> dict[str, Any]:
    """Exit (all or part of) the unmatched money of a plan order: back to the available balance."""
    request_no = requests.request_no(req.get("requestNo"))
    no = req_text(req.get("intelRequestNo"), "intelRequestNo")
    amount = amount_fen(req.get("amount"), "amount")
    requests.claim(conn, clock, platform_no, request_no, "INTELLIGENT_PROJECT_UNFREEZE", None)
    found = load_orders(conn, platform_no, [no], lock=True).get(no)
    if found is None:
        raise PlanOrderNotFound(f"intelRequestNo {no[:50]!r}", field="intelRequestNo")
    pre, order = found
    left = remaining_fen(pre)
    if amount > left:
        raise FreezeInsufficient(f"intelRequestNo {no!r} has {format_yuan(left)} unmatched, {format_yuan(amount)} asked",
                                 field="amount")
    apply_ledger(conn, [Release(ledger_key(platform_no, pre), amount, ref=f"INTELLIGENT_PROJECT_UNFREEZE:{request_no}")],
                 ["amount"])
    now = requests.clock_us(clock)
    conn.execute(update(custody_pre_transactions).where(custody_pre_transactions.c.id == pre["id"]).values(
        released_fen=pre["released_fen"] + amount, status="FREEZED" if amount < left else "UNFREEZED", updated_us=now))
    conn.execute(update(custody_plan_orders).where(custody_plan_orders.c.id == order["id"]).values(
        unfrozen_fen=order["unfrozen_fen"] + amount, updated_us=now))
    _movement(conn, platform_no, no, request_no, "UNFREEZE", None, amount, now)
    conn.execute(custody_freeze_releases.insert().values(  # QUERY_TRANSACTION CANCEL_PRETRANSACTION shows it
        platform_no=platform_no, request_no=request_no, kind="CANCEL_PRETRANSACTION", original_no=no,
        platform_user_no=order["platform_user_no"], amount_fen=amount, created_us=now))
    out = {"requestNo": request_no, "intelRequestNo": no}
    requests.record(conn, platform_no, request_no, order["platform_user_no"],
                    {**out, "amount": amount, "unmatchAmount": left - amount})
    return out


# ---------------------------------------------------------------- INTELLIGENT_PROJECT_DEBENTURE_SALE


def intelligent_project_debenture_sale(conn: Connection, clock: Clock, platform_no: str,
                                       req: Mapping[str, Any]) -> dict[str, Any]:
    """A batch of DEBENTURE_SALEs of plan-held shares, all or none (see module docstring)."""
    request_no = requests.request_no(req.get("requestNo"))
    raw = req.get("details")
    if opt(raw) is None:
        raise InvalidField("details is required", field="details")
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise InvalidField("details must be a non-empty array", field="details")
    if len(raw) > MAX_SALE_OFFERS:
        raise InvalidField(f"details holds at most {MAX_SALE_OFFERS} offers", field="details")
    offers = []
    for i, item in enumerate(raw):
        f = f"details[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidField(f"{f} must be an object", field=f)
        offers.append((i, req_text(item.get("saleRequestNo"), f"{f}.saleRequestNo"),
                       req_text(item.get("intelRequestNo"), f"{f}.intelRequestNo"),
                       req_text(item.get("platformUserNo"), f"{f}.platformUserNo"),
                       req_text(item.get("projectNo"), f"{f}.projectNo"),
                       amount_fen(item.get("saleShare"), f"{f}.saleShare"), item.get("saleShare")))
    sale_nos = [o[1] for o in offers]
    if len(set(sale_nos)) != len(sale_nos) or request_no in sale_nos:
        raise InvalidField("details[].saleRequestNo must be distinct (and not the batch requestNo)",
                           field="details")
    requests.claim(conn, clock, platform_no, request_no, "INTELLIGENT_PROJECT_DEBENTURE_SALE", None)
    for project_no in sorted({o[4] for o in offers}):  # lock order: projects, sorted
        projects.get_project(conn, platform_no, project_no, lock=True,
                             field=f"details[{next(o[0] for o in offers if o[4] == project_no)}].projectNo")
    orders = {n: o for n, (_, o) in load_orders(conn, platform_no, sorted({o[2] for o in offers})).items()}
    now = requests.clock_us(clock)
    for i, sale_no, intel_no, user_no, project_no, share, raw_share in offers:
        f = f"details[{i}]"
        order = orders.get(intel_no)
        if order is None:
            raise PlanOrderNotFound(f"{f}.intelRequestNo {intel_no!r}", field=f"{f}.intelRequestNo")
        if order["platform_user_no"] != user_no:
            raise BusinessRefused(f"{f}.platformUserNo is not the owner of the plan order", field=f"{f}.platformUserNo")
        match = next((m for m in _matches(conn, platform_no, project_no, [user_no])
                      if m["order_request_no"] == intel_no), None)
        if match is None:
            raise BusinessRefused(f"{f}: the plan order holds no share of project {project_no!r}", field=f"{f}.projectNo")
        free = match["share_fen"] - _on_sale(conn, platform_no, project_no, [intel_no]).get(intel_no, 0)
        if share > free:
            raise ShareInsufficient(f"{f}.saleShare is above the plan order's share not on sale ({format_yuan(free)})",
                                    field=f"{f}.saleShare")
        debentures.debenture_sale(conn, clock, platform_no, {"requestNo": sale_no, "platformUserNo": user_no,
                                                             "projectNo": project_no, "saleShare": raw_share})
        conn.execute(custody_plan_sales.insert().values(
            platform_no=platform_no, sale_request_no=sale_no, batch_request_no=request_no, order_request_no=intel_no,
            project_no=project_no, seller_user_no=user_no, sale_share_fen=share, created_us=now))
    out = {"requestNo": request_no}
    requests.record(conn, platform_no, request_no, None, {**out, "saleRequestNos": sale_nos})
    return out


# ---------------------------------------------------------------- QUERY_INTELLIGENT_PROJECT_ORDER


def query_intelligent_project_order(conn: Connection, platform_no: str, req: Mapping[str, Any]) -> dict[str, Any]:
    no = req_text(req.get("requestNo"), "requestNo")
    found = load_orders(conn, platform_no, [no]).get(no)
    if found is None:
        raise PlanOrderNotFound(f"requestNo {no[:50]!r}", field="requestNo")
    pre, order = found
    plan = find_plan(conn, platform_no, order["intel_project_no"])
    assert plan is not None
    c = custody_plan_matches.c
    matches = conn.execute(select(c.project_no, c.share_fen, c.matched_fen).where(
        c.platform_no == platform_no, c.order_request_no == no).order_by(c.id)).all()
    return {
        "requestNo": no, "platformUserNo": order["platform_user_no"],
        "amount": yuan(order["purchase_fen"] + order["appended_fen"]),
        "annualInterestRate": Decimal(plan["annual_interest_rate"]), "intelProjectNo": order["intel_project_no"],
        "unmatchAmount": yuan(remaining_fen(pre)),
        "details": [{"matchProjectNo": p, "matchShare": yuan(s), "matchAmount": yuan(m)} for p, s, m in matches],
    }


# ---------------------------------------------------------------- trades that touch plans (AFTER_TRADE hook)


def _net_credit(plan: TradePlan) -> dict[str, int]:
    """What the trade leaves on each user's available balance: credits minus payments not from a freeze."""
    net: dict[str, int] = defaultdict(int)
    for m in plan.moves:
        net[m.target.user_no] += m.amount_fen
        if m.freeze_request_no is None:
            net[m.source.user_no] -= m.amount_fen
    return net


def _payees_for_shares(req: TradeRequest, state: TradeState, plan: TradePlan) -> list[str]:
    """Holders this trade pays for their share (whose plan orders may take money back)."""
    if req.base_type in ("REPAYMENT", "COMPENSATORY", "INDIRECT_COMPENSATORY"):
        return sorted({dst for d, _src, dst in plan.rows if d.biz_type in HOLDER_PAYMENTS})
    if req.base_type == "CREDIT_ASSIGNMENT" and state.sale is not None and plan.sale_sold_fen > 0:
        return [state.sale["seller_user_no"]]
    return []


def lock_before_ledger(conn: Connection, platform_no: str, req: TradeRequest, state: TradeState,
                      plan: TradePlan) -> None:
    """A `trades.BEFORE_LEDGER` hook: lock the plan orders that `after_trade` will add money to before the
    trade takes its ledger account locks (INTELLIGENT_PROJECT_UNFREEZE takes the order, then the account)."""
    holders = _payees_for_shares(req, state, plan) if state.project is not None else []
    if holders:
        nos = sorted({m["order_request_no"] for m in _matches(conn, platform_no, req.project_no or "", holders)})
        if nos:
            load_orders(conn, platform_no, nos, lock=True)


def after_trade(conn: Connection, clock: Clock, platform_no: str, req: TradeRequest, state: TradeState,
                plan: TradePlan, now: int) -> None:
    project = state.project
    if project is None:
        return
    if req.base_type == "TENDER":
        _record_matches(conn, platform_no, req, state, plan, now)
    elif req.base_type in ("REPAYMENT", "COMPENSATORY", "INDIRECT_COMPENSATORY"):
        _repayments_back(conn, platform_no, req, state, plan, now)
    elif req.base_type == "CREDIT_ASSIGNMENT":
        _sale_back(conn, platform_no, req, state, plan, now)


def _record_matches(conn: Connection, platform_no: str, req: TradeRequest, state: TradeState, plan: TradePlan,
                    now: int) -> None:
    matched: dict[str, int] = defaultdict(int)
    for m in plan.moves:
        o = state.orders.get(m.freeze_request_no or "")
        if m.biz_type == "TENDER" and o is not None and o["service_name"] == PURCHASE:
            matched[o["request_no"]] += m.amount_fen
    if not matched:
        return
    project_no = req.project_no or ""
    c = custody_plan_matches.c
    for no in sorted(matched):
        amount = matched[no]
        _, order = load_orders(conn, platform_no, [no], lock=True)[no]
        row = conn.execute(select(c.id, c.matched_fen, c.share_fen).where(
            c.platform_no == platform_no, c.order_request_no == no, c.project_no == project_no)).first()
        if row is None:
            conn.execute(custody_plan_matches.insert().values(
                platform_no=platform_no, order_request_no=no, project_no=project_no,
                holder_user_no=order["platform_user_no"], matched_fen=amount, share_fen=amount, created_us=now,
                updated_us=now))
        else:
            conn.execute(update(custody_plan_matches).where(c.id == row[0]).values(
                matched_fen=row[1] + amount, share_fen=row[2] + amount, updated_us=now))
        conn.execute(update(custody_plan_orders).where(custody_plan_orders.c.id == order["id"]).values(
            matched_fen=order["matched_fen"] + amount, updated_us=now))
        _movement(conn, platform_no, no, req.request_no, "MATCH", project_no, amount, now)


def _cut_shares(conn: Connection, cuts: Mapping[int, int], now: int) -> None:
    c = custody_plan_matches.c
    for match_id, cut in cuts.items():
        if cut:
            conn.execute(update(custody_plan_matches).where(c.id == match_id).values(
                share_fen=c.share_fen - cut, updated_us=now))


def _repayments_back(conn: Connection, platform_no: str, req: TradeRequest, state: TradeState, plan: TradePlan,
                     now: int) -> None:
    credited: dict[str, int] = defaultdict(int)
    principal: dict[str, int] = defaultdict(int)
    for d, _src, dst in plan.rows:
        if d.biz_type in HOLDER_PAYMENTS:
            credited[dst] += d.amount_fen
            principal[dst] += d.amount_fen - d.income_fen
    if not credited:
        return
    project_no = req.project_no or ""
    matches = _matches(conn, platform_no, project_no, list(credited))
    if not matches:
        return
    on_sale = _on_sale(conn, platform_no, project_no, [m["order_request_no"] for m in matches])
    net = _net_credit(plan)
    by_holder: dict[str, list[dict]] = defaultdict(list)
    for m in matches:
        by_holder[m["holder_user_no"]].append(m)
    for holder in sorted(by_holder):
        ms = by_holder[holder]
        held = state.shares.get(holder, {"principal_fen": 0, "locked_fen": 0})
        s_total, s_free = held["principal_fen"], held["principal_fen"] - held["locked_fen"]
        m_free = [max(0, m["share_fen"] - on_sale.get(m["order_request_no"], 0)) for m in ms]
        m_total = [m["share_fen"] for m in ms]
        if s_free > 0:
            weights, whole = m_free, s_free
        else:
            weights, whole = m_total, s_total
        money = min(part(credited[holder], sum(weights), whole), max(net.get(holder, 0), 0))
        plan_principal = part(principal[holder], sum(m_free), s_free) if s_free > 0 else 0
        cuts = split(plan_principal, m_free, caps=m_free)
        _cut_shares(conn, {m["id"]: cut for m, cut in zip(ms, cuts, strict=True)}, now)
        account = state.parties[holder].account_id
        for m, back in zip(ms, split(money, weights), strict=True):
            if back:
                _top_up(conn, platform_no, m["order_request_no"], account, back, req.request_no, "REPAYMENT",
                        project_no, now)


def _sale_back(conn: Connection, platform_no: str, req: TradeRequest, state: TradeState, plan: TradePlan,
               now: int) -> None:
    sale, sold = state.sale, plan.sale_sold_fen
    if sale is None or sold <= 0:
        return
    seller, project_no = sale["seller_user_no"], req.project_no or ""
    matches = _matches(conn, platform_no, project_no, [seller])
    if not matches:
        return
    proceeds = sum(m.amount_fen for m in plan.moves if m.biz_type == "CREDIT_ASSIGNMENT" and m.target.user_no == seller)
    cap = max(_net_credit(plan).get(seller, 0), 0)
    ps = custody_plan_sales.c
    own = conn.execute(select(ps.order_request_no).where(ps.platform_no == platform_no,
                                                         ps.sale_request_no == sale["request_no"])).first()
    if own is not None:
        chosen = [m for m in matches if m["order_request_no"] == own[0]]
        cuts = [min(sold, m["share_fen"]) for m in chosen]
        money = min(proceeds, cap)
    else:  # a plain sale: the directly held share goes first, only what it eats into the plan comes back
        chosen = matches
        shares_ = [m["share_fen"] for m in chosen]
        left = state.shares.get(seller, {"principal_fen": 0})["principal_fen"] - sold
        excess = max(0, sum(shares_) - left)
        if excess == 0:
            return
        cuts = split(excess, shares_, caps=shares_)
        money = min(part(proceeds, excess, sold), cap)
    _cut_shares(conn, {m["id"]: cut for m, cut in zip(chosen, cuts, strict=True)}, now)
    account = state.parties[seller].account_id
    for m, back in zip(chosen, split(money, cuts), strict=True):
        if back:
            _top_up(conn, platform_no, m["order_request_no"], account, back, req.request_no, "SALE", project_no, now)


# ---------------------------------------------------------------- wiring into the trade core

for _trade_type in APPEND_TRADE_TYPES:
    trades.EXTENSIONS[_trade_type] = intelligent_append
trades.ORDER_LEDGER_KEYS[PURCHASE] = ledger_key
if after_trade not in trades.AFTER_TRADE:
    trades.AFTER_TRADE.append(after_trade)
if lock_before_ledger not in trades.BEFORE_LEDGER:
    trades.BEFORE_LEDGER.append(lock_before_ledger)
