"""Trades: SYNC_TRANSACTION now, and the per-bizDetail executor of ASYNC_TRANSACTION next
(`execute`), plus VERIFY_DEDUCT (the bank page where a user pays a fee). Rules: `trade_rules`.

`execute(conn, clock, platform_no, request_no, trade)` is a plain function over one connection:
1. parse (pure), claim the requestNo in the platform-wide register;
2. load what the trade touches in a few statements: the project (row-locked first: every writer of a
   project's rows locks it before anything else), the sale, the freeze orders, every payer and payee
   (users and system accounts), the holders' shares, the entrusted payee;
3. plan (pure; raises the typed refusal), check AUTO_* authorizations;
4. write the business rows (trade, details in one insert, shares, project accumulators, orders,
   sale) and record the outcome on the claim;
5. ONE atomic ledger batch (`ledger_store.apply(..., atomic=True)`) with every transfer, freeze
   consumption included, then the `AFTER_TRADE` hooks (they may move the money the ledger just moved).
The ledger goes last because its locks are the contended ones: every trade of a project's borrower
locks that account, and every posting transaction the chain head, until the commit. The rows of step 4
are locked at step 2 already, so the order of lock acquisition (project, sale, orders, then accounts,
then the chain) is unchanged; measured on PostgreSQL with 32 clients: the chain head held through step
4's statements capped SYNC_TRANSACTION at ~140 a second. A ledger refusal after step 4 rolls back
with the rest.
A refusal raises a `CustodyError` subclass; the caller's transaction (or savepoint) rolls back, so
nothing is written. SQL statements per trade: about a dozen, whatever the number of details.

Trade types handled elsewhere (INTELLIGENT_APPEND / APPEND_FREEZE, COMPEN_FREEZE) go through
`EXTENSIONS[tradeType]`, a function with `execute`'s signature that the plans room registers; until
then they answer 100006.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.custody import authorizations, debentures, pre_transactions, projects, requests, shares
from cunguan.custody.entrust_pay import entrusted_payee
from cunguan.custody.errors import ServiceNotOpen
from cunguan.custody.fields import opt_text, req_text
from cunguan.custody.trade_common import (
    amount_fen,
    apply_ledger,
    get_party,
    load_parties,
    pre_key,
)
from cunguan.custody.trade_errors import InvalidField
from cunguan.custody.trade_rules import (
    EXTENSION_TRADE_TYPES,
    TradePlan,
    TradeRequest,
    TradeState,
    parse_trade,
    party_numbers,
    plan_trade,
)
from cunguan.custody.user_errors import BusinessRefused
from cunguan.db.prepared import Prepared, Write, run_together
from cunguan.db.tables.custody_trades import (
    custody_debenture_sales,
    custody_pre_transactions,
    custody_trade_details,
    custody_trades,
)
from cunguan.ledger.ops import Transfer

SERVICE = "SYNC_TRANSACTION"


@dataclass(frozen=True)
class TradeResult:
    request_no: str
    trade_type: str
    transaction_status: str
    trade_id: int
    detail_count: int
    amount_fen: int
    project_no: str | None = None

    def wire(self) -> dict[str, Any]:
        return {"requestNo": self.request_no, "transactionStatus": self.transaction_status}


Extension = Callable[[Connection, Clock, str, str, Mapping[str, Any]], TradeResult]
EXTENSIONS: dict[str, Extension] = {}
"""tradeType → executor for the types another room implements (see module docstring)."""
ORDER_LEDGER_KEYS: dict[str, Callable[[str, Mapping[str, Any]], str]] = {}
"""service_name of a freeze order → its ledger freeze key when not `pre_key(requestNo)` (plan orders)."""
BEFORE_LEDGER: list[Callable[..., None]] = []
"""Hooks `(conn, platform_no, req, state, plan)` run after planning, before the ledger (plans: lock the
plan orders the trade will add money to, so row locks keep one order: orders before ledger accounts)."""
AFTER_TRADE: list[Callable[..., None]] = []
"""Hooks `(conn, clock, platform_no, req, state, plan, now_us)` run after the rows are written, in the
trade's transaction (plans: matches, money flowing back into plan orders)."""


def _load_state(conn: Connection, platform_no: str, req: TradeRequest) -> TradeState:
    project = projects.get_project(conn, platform_no, req.project_no, lock=True) if req.project_no else None
    sale = debentures.find_sale(conn, platform_no, req.sale_request_no, lock=True) if req.sale_request_no else None
    orders = pre_transactions.load_orders(conn, platform_no, [d.freeze_request_no for d in req.details if d.freeze_request_no],
                         lock=True)
    parties = load_parties(conn, platform_no, party_numbers(req, project, sale, orders))
    holders: set[str] = set()
    if project is not None:
        holders.update(d.target for d in req.details if d.target)
        holders.update(d.source for d in req.details if d.source)
        holders.update(o["platform_user_no"] for o in orders.values())
        holders.add("SYS_GENERATE_001")  # the default compensator may take a claim over (indirect)
        if sale is not None:
            holders.add(sale["seller_user_no"])
    held = shares.load(conn, platform_no, req.project_no, holders, lock=True) if project is not None else {}
    payee = None
    if project is not None and project["project_type"] == "ENTRUST_PAY" and req.base_type == "TENDER":
        payee = entrusted_payee(conn, platform_no, project["project_no"])
        if payee is not None and payee not in parties:
            parties.update(load_parties(conn, platform_no, [payee]))
    return TradeState(platform_no, project, sale, orders, parties, held, payee)


def _order_key(platform_no: str, orders: Mapping[str, Mapping[str, Any]], no: str) -> str:
    keyer = ORDER_LEDGER_KEYS.get(orders[no]["service_name"]) if no in orders else None
    return keyer(platform_no, orders[no]) if keyer is not None else pre_key(platform_no, no)


def _ledger_ops(platform_no: str, request_no: str, plan: TradePlan,
                orders: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[list[Transfer], list[str]]:
    ops, fields = [], []
    for m in plan.moves:
        ops.append(Transfer(m.source.account_id, m.target.account_id, m.amount_fen, f"TRADE:{m.biz_type}",
                            f"{request_no}#{m.seq}",
                            freeze_key=_order_key(platform_no, orders or {}, m.freeze_request_no)
                            if m.freeze_request_no else None))
        fields.append(f"details[{m.seq}].amount")
    return ops, fields


_INSERT_TRADE = Prepared(custody_trades.insert().values({name: bindparam(name) for name in (
    "platform_no", "request_no", "trade_type", "project_no", "sale_request_no", "batch_no", "status", "amount_fen",
    "detail_count", "created_us")}).returning(custody_trades.c.id))
_INSERT_DETAIL = Prepared(custody_trade_details.insert().values({name: bindparam(name) for name in (
    "trade_id", "platform_no", "request_no", "seq", "biz_type", "freeze_request_no", "source_user_no", "target_user_no",
    "amount_fen", "income_fen", "share_fen", "project_no", "custom_define", "remark", "created_us")}))
_UPDATE_ORDERS = Prepared(update(custody_pre_transactions).where(custody_pre_transactions.c.id == bindparam("b_id"))
                          .values(consumed_fen=bindparam("b_consumed"), share_bought_fen=bindparam("b_bought"),
                                  marketing_spent=bindparam("b_spent"), status=bindparam("b_status"),
                                  updated_us=bindparam("b_now")))
"""Statements prepared once (every trade runs them; db/prepared.py)."""


def _write(conn: Connection, platform_no: str, req: TradeRequest, state: TradeState, plan: TradePlan, now: int,
           batch_no: str | None, outcome: Mapping[str, Any]) -> int:
    """The trade's rows and its outcome on the register: the trade and its details, then the rest in one
    round trip (`run_together`: projects, shares, orders and the register are different rows)."""
    total = plan.total_fen
    (trade_id,) = _INSERT_TRADE.first(conn, dict(
        platform_no=platform_no, request_no=req.request_no, trade_type=req.trade_type, project_no=req.project_no,
        sale_request_no=req.sale_request_no, batch_no=batch_no, status="SUCCESS", amount_fen=total,
        detail_count=len(plan.rows), created_us=now))
    _INSERT_DETAIL.execute_many(conn, [dict(
        trade_id=trade_id, platform_no=platform_no, request_no=req.request_no, seq=d.seq, biz_type=d.biz_type,
        freeze_request_no=d.freeze_request_no, source_user_no=src, target_user_no=dst, amount_fen=d.amount_fen,
        income_fen=d.income_fen, share_fen=d.share_fen, project_no=req.project_no, custom_define=d.custom_define,
        remark=d.remark, created_us=now) for d, src, dst in plan.rows])
    writes: list[Write | None] = []
    if state.project is not None:
        writes.append(projects.bump_write(state.project["id"], now, **plan.project_deltas))
        writes += shares.delta_writes(platform_no, req.project_no or "", state.shares,
                                      {h: (dp, dl) for h, (dp, dl) in plan.share_deltas.items()}, now)
    for no in sorted(set(plan.order_consumed) | set(plan.order_share_bought) | plan.marketing_spent):
        o = state.orders[no]
        consumed = o["consumed_fen"] + plan.order_consumed.get(no, 0)
        writes.append(Write(_UPDATE_ORDERS, {
            "b_id": o["id"], "b_consumed": consumed, "b_bought": o["share_bought_fen"] + plan.order_share_bought.get(no, 0),
            "b_spent": bool(o["marketing_spent"] or no in plan.marketing_spent),
            "b_status": "FREEZED" if o["amount_fen"] - consumed - o["released_fen"] > 0 else "UNFREEZED",
            "b_now": now}, rows=1))
    writes.append(requests.record_write(platform_no, req.request_no, None, outcome))
    run_together(conn, writes)
    sale = state.sale
    if sale is not None and plan.sale_sold_fen:
        conn.execute(update(custody_debenture_sales).where(custody_debenture_sales.c.id == sale["id"]).values(
            sold_fen=sale["sold_fen"] + plan.sale_sold_fen,
            reserved_fen=sale["reserved_fen"] - plan.sale_unreserved_fen,
            status="COMPLETED" if plan.sale_completed else "ONSALE", updated_us=now))
    return int(trade_id)


def execute(conn: Connection, clock: Clock, platform_no: str, request_no: str, trade: Mapping[str, Any], *,
            batch_no: str | None = None, service_name: str = SERVICE) -> TradeResult:
    """Claim, validate, apply and record one trade in the caller's transaction (see module docstring).
    `trade` is the reqData-shaped dict, or a trade already parsed (an ASYNC detail, or its refusal)."""
    if isinstance(trade, BaseException):
        raise trade
    if isinstance(trade, TradeRequest):
        req = trade
    else:
        trade_type = trade.get("tradeType")
        if isinstance(trade_type, str) and trade_type in EXTENSION_TRADE_TYPES:
            extension = EXTENSIONS.get(trade_type)
            if extension is None:
                raise ServiceNotOpen(f"tradeType {trade_type} is not available yet", field="tradeType")
            return extension(conn, clock, platform_no, request_no, trade)
        req = parse_trade(request_no, trade)
    requests.claim(conn, clock, platform_no, req.request_no, service_name, None)
    state = _load_state(conn, platform_no, req)
    plan = plan_trade(req, state)
    for before in BEFORE_LEDGER:
        before(conn, platform_no, req, state, plan)
    now = requests.clock_us(clock)
    if plan.auth_needed:
        at = clock.now()
        for (user_no, auth_type), amount in sorted(plan.auth_needed.items()):
            authorizations.require_authorization(conn, platform_no, user_no, auth_type, amount, at, consume=True)
    ops, fields = _ledger_ops(platform_no, req.request_no, plan, state.orders)
    trade_id = _write(conn, platform_no, req, state, plan, now, batch_no,
                      {"requestNo": req.request_no, "tradeType": req.trade_type, "transactionStatus": "SUCCESS",
                       "amount": plan.total_fen})
    apply_ledger(conn, ops, fields)  # last: see the module docstring
    for hook in AFTER_TRADE:
        hook(conn, clock, platform_no, req, state, plan, now)
    return TradeResult(req.request_no, req.trade_type, "SUCCESS", trade_id, len(plan.rows), plan.total_fen,
                       req.project_no)


def sync_transaction(conn: Connection, clock: Clock, platform_no: str, req: Mapping[str, Any]) -> dict[str, Any]:
    request_no = requests.request_no(req.get("requestNo"))
    return execute(conn, clock, platform_no, request_no, req).wire()


# ---------------------------------------------------------------- VERIFY_DEDUCT (page)


@dataclass(frozen=True)
class VerifyDeductRequest:
    """reqData of the VERIFY_DEDUCT page; the page checks the trade password first."""

    request_no: str
    platform_user_no: str
    target_platform_user_no: str
    amount: object
    custom_define: str | None = None
    expired: str | None = None
    redirect_url: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class VerifyDeductResult:
    request_no: str
    platform_user_no: str
    target_platform_user_no: str
    amount_fen: int
    custom_define: str | None


def verify_deduct(conn: Connection, clock: Clock, platform_no: str, req: VerifyDeductRequest) -> VerifyDeductResult:
    """The user, having typed the trade password, pays `amount` from the available balance to
    `targetPlatformUserNo` (typically SYS_GENERATE_004). Recorded as a trade of type VERIFY_DEDUCT with
    one DEDUCT detail, so it shows in the COMMISSION / TRANSACTION check files."""
    request_no = requests.request_no(req.request_no)
    payer_no = req_text(req.platform_user_no, "platformUserNo")
    target_no = req_text(req.target_platform_user_no, "targetPlatformUserNo")
    amount = amount_fen(req.amount, "amount")
    custom = opt_text(req.custom_define, "customDefine")
    if payer_no == target_no:
        raise InvalidField("targetPlatformUserNo is the payer", field="targetPlatformUserNo")
    requests.claim(conn, clock, platform_no, request_no, "VERIFY_DEDUCT", payer_no)
    payer = get_party(conn, platform_no, payer_no, "platformUserNo")
    target = get_party(conn, platform_no, target_no, "targetPlatformUserNo")
    if payer.system:
        raise BusinessRefused("platformUserNo: a system account has no password page", field="platformUserNo")
    apply_ledger(conn, [Transfer(payer.account_id, target.account_id, amount, "TRADE:DEDUCT",
                                 f"VERIFY_DEDUCT:{request_no}")], ["amount"])
    now = requests.clock_us(clock)
    trade_id = conn.execute(custody_trades.insert().values(
        platform_no=platform_no, request_no=request_no, trade_type="VERIFY_DEDUCT", project_no=None,
        sale_request_no=None, batch_no=None, status="SUCCESS", amount_fen=amount, detail_count=1,
        created_us=now)).inserted_primary_key[0]
    conn.execute(custody_trade_details.insert().values(
        trade_id=trade_id, platform_no=platform_no, request_no=request_no, seq=0, biz_type="DEDUCT",
        freeze_request_no=None, source_user_no=payer_no, target_user_no=target_no, amount_fen=amount, income_fen=0,
        share_fen=None, project_no=None, custom_define=custom, remark=None, created_us=now))
    result = VerifyDeductResult(request_no, payer_no, target_no, amount, custom)
    requests.record(conn, platform_no, request_no, payer_no, {"requestNo": request_no, "amount": amount,
                                                               "targetPlatformUserNo": target_no})
    return result


def trade_row(conn: Connection, platform_no: str, request_no: str) -> dict | None:
    c = custody_trades.c
    row = conn.execute(select(custody_trades).where(c.platform_no == platform_no, c.request_no == request_no)) \
        .mappings().first()
    return dict(row) if row is not None else None


import cunguan.custody.plans  # noqa: E402, F401  (registers the plan tradeTypes and hooks wherever trades run)
