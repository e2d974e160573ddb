"""Pre-transactions (freeze orders): USER_PRE_TRANSACTION (bank page, trade password),
USER_AUTO_PRE_TRANSACTION (prior authorization), FREEZE_PRE_TRANSACTION (platform-initiated,
bizType PRETRANSACTION) and CANCEL_PRE_TRANSACTION (protocol §2.4, §3.5, §3.16, §5.2).

A freeze order moves `amount` of the payer's available balance into a ledger freeze keyed
`{platform}:pre:{requestNo}`; trades consume it (`details[].freezeRequestNo`), cancels release it.
Status: FREEZED while something remains, UNFREEZED when nothing does (consumed or released). A
refused request writes nothing, so INIT / FAIL are never stored (the requestNo stays free to retry).

Rules where the spec is silent:
- TENDER (bid): the project must be COLLECTING (100015; a MISCARRY or FINISH project takes no bids);
  the borrower cannot bid on their own project (100008). A project never raises more than its
  amount: under the project's row lock, loan + bids still frozen + this bid ≤ projectAmount, else
  100008 (Oversubscribed); the table's CHECK says the same. `preMarketingAmount` (investment red
  packet) is recorded, not frozen; it is TENDER-only (100002 otherwise).
- REPAYMENT: project REPAYING, payer = the project's borrower (100011 otherwise).
- COMPENSATORY: project REPAYING; any active user may compensate (guarantor, partner institution).
- CREDIT_ASSIGNMENT: `share` and `creditsaleRequestNo` are required; the sale must be ONSALE on the
  same project, the buyer not the seller, and `share` ≤ the sale's unsold, unreserved share. The share
  is reserved on the sale until the trade buys it or the order is fully cancelled.
- PRETRANSACTION (FREEZE_PRE_TRANSACTION): no project; only that service uses it.
- USER_AUTO_PRE_TRANSACTION needs the user's authorization named like the bizType (TENDER, REPAYMENT,
  CREDIT_ASSIGNMENT, COMPENSATORY), unexpired and within its cap, and consumes the amount (100011).
  With `originalRechargeNo` (recharge-and-bid) the bizType must be TENDER and the authority comes
  from that recharge instead (`_recharge_and_bid_authority`, not available yet).
- CANCEL_PRE_TRANSACTION releases `amount` (partial allowed); more than remains, or an order already
  UNFREEZED → 100014 "冻结金额不足"; unknown order → 100007 "冻结订单不存在".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.custody import authorizations, debentures, projects, recharges, requests
from cunguan.custody.fields import opt_text, req_enum, req_text
from cunguan.custody.trade_common import Party, amount_fen, apply_ledger, get_party, opt_amount_fen, pre_key
from cunguan.custody.trade_errors import (
    BusinessRefused,
    FreezeInsufficient,
    FreezeNotFound,
    InvalidField,
    Oversubscribed,
    ProjectStateMismatch,
    SaleEnded,
    ShareInsufficient,
)
from cunguan.custody.user_errors import NotAuthorized
from cunguan.db.prepared import Prepared, Write, driver_sql, in_list, run_sql, run_together
from cunguan.db.tables.custody_trades import (
    custody_debenture_sales,
    custody_freeze_releases,
    custody_pre_transactions,
)
from cunguan.ledger.ops import Hold, Release
from cunguan.money import format_yuan

USER_BIZ_TYPES = ("TENDER", "REPAYMENT", "CREDIT_ASSIGNMENT", "COMPENSATORY")
PROJECT_STATUS_FOR = {"TENDER": ("COLLECTING",), "REPAYMENT": ("REPAYING",), "COMPENSATORY": ("REPAYING",),
                      "CREDIT_ASSIGNMENT": ("REPAYING",)}


@dataclass(frozen=True)
class Order:
    """A parsed freeze-order request."""

    request_no: str
    user_no: str
    biz_type: str
    amount_fen: int
    project_no: str | None
    pre_marketing_fen: int
    share_fen: int
    creditsale_request_no: str | None
    remark: str | None
    original_recharge_no: str | None = None


def parse_order(req: Mapping[str, Any], biz_types: tuple[str, ...]) -> Order:
    request_no = requests.request_no(req.get("requestNo"))
    user_no = req_text(req.get("platformUserNo"), "platformUserNo")
    biz_type = req_enum(req.get("bizType"), "bizType", biz_types)
    amount = amount_fen(req.get("amount"), "amount")
    project_no = opt_text(req.get("projectNo"), "projectNo")
    if biz_type != "PRETRANSACTION" and project_no is None:
        raise InvalidField("projectNo is required", field="projectNo")
    marketing = opt_amount_fen(req.get("preMarketingAmount"), "preMarketingAmount") or 0
    if marketing and biz_type != "TENDER":
        raise InvalidField("preMarketingAmount is for TENDER only", field="preMarketingAmount")
    share = opt_amount_fen(req.get("share"), "share") or 0
    sale_no = opt_text(req.get("creditsaleRequestNo"), "creditsaleRequestNo")
    if biz_type == "CREDIT_ASSIGNMENT":
        if share <= 0:
            raise InvalidField("share is required for CREDIT_ASSIGNMENT (a positive amount)", field="share")
        if sale_no is None:
            raise InvalidField("creditsaleRequestNo is required for CREDIT_ASSIGNMENT", field="creditsaleRequestNo")
    elif share or sale_no:
        raise InvalidField("share and creditsaleRequestNo are for CREDIT_ASSIGNMENT only",
                           field="share" if share else "creditsaleRequestNo")
    recharge_no = opt_text(req.get("originalRechargeNo"), "originalRechargeNo")
    if recharge_no is not None and biz_type != "TENDER":
        raise InvalidField("originalRechargeNo goes with bizType TENDER only", field="originalRechargeNo")
    return Order(request_no, user_no, biz_type, amount, project_no, marketing, share, sale_no,
                 opt_text(req.get("remark"), "remark"), recharge_no)


_INSERT_ORDER = Prepared(custody_pre_transactions.insert().values({name: bindparam(name) for name in (
    "platform_no", "request_no", "service_name", "platform_user_no", "biz_type", "project_no", "amount_fen",
    "consumed_fen", "released_fen", "pre_marketing_fen", "marketing_spent", "share_fen", "share_bought_fen",
    "creditsale_request_no", "original_recharge_no", "remark", "status", "created_us", "updated_us")}))
"""Statements built once (the freeze and trade paths run them on every request)."""


_ORDER_COLUMNS = ", ".join(c.name for c in custody_pre_transactions.c)


def load_orders(conn: Connection, platform_no: str, request_nos: list[str], *, lock: bool = False) -> dict[str, dict]:
    """Freeze orders by requestNo in one statement (`lock`: their row locks on PostgreSQL)."""
    if not request_nos:
        return {}
    in_nos, params = in_list(conn, sorted(set(request_nos)))
    sql = f"SELECT {_ORDER_COLUMNS} FROM custody_pre_transactions WHERE platform_no = ? AND request_no {in_nos}"  # noqa: S608
    if lock and conn.dialect.name == "postgresql":
        sql += " FOR UPDATE"
    cur = run_sql(conn, driver_sql(conn, sql), [platform_no, *params])
    names = [d[0] for d in cur.description]
    out = {}
    for row in cur.fetchall():
        order = dict(zip(names, row, strict=True))
        order["marketing_spent"] = bool(order["marketing_spent"])  # the driver's 0/1 on SQLite
        out[order["request_no"]] = order
    return out


def remaining_fen(order: Mapping[str, Any]) -> int:
    return order["amount_fen"] - order["consumed_fen"] - order["released_fen"]


def judge_payer(payer: Party) -> None:
    """The payer's own checks (after it was found and is active: `trade_common.party`)."""
    if payer.system:
        raise BusinessRefused("platformUserNo: a system account has no freeze orders", field="platformUserNo")


def judge_project(order: Order, project: Mapping[str, Any] | None) -> None:
    """The checks of an order against its project (as locked, plus what the orders before it in the
    same batch froze): its state for the bizType, the borrower, the room left to raise."""
    if project is not None:
        allowed = PROJECT_STATUS_FOR.get(order.biz_type)
        if allowed is not None and project["status"] not in allowed:
            raise ProjectStateMismatch(f"projectNo: a {order.biz_type} freeze needs the project {' or '.join(allowed)} "
                                       f"(is {project['status']})", field="projectNo")
    if order.biz_type == "TENDER":
        assert project is not None
        if order.user_no == project["borrower_user_no"]:
            raise BusinessRefused("platformUserNo: the borrower cannot bid on their own project", field="platformUserNo")
        room = project["project_amount_fen"] - project["loan_fen"] - project["tender_frozen_fen"]
        if order.amount_fen > room:
            raise Oversubscribed(f"amount is above what the project still raises ({format_yuan(room)})", field="amount")
    elif order.biz_type == "REPAYMENT":
        assert project is not None
        if order.user_no != project["borrower_user_no"]:
            raise NotAuthorized("platformUserNo: only the project's borrower repays it", field="platformUserNo")


def _freeze(conn: Connection, clock: Clock, platform_no: str, service_name: str, order: Order, *,
            authorize: bool = False) -> dict[str, Any]:
    """Claim, check, hold, record: the one path of all three freeze services."""
    requests.claim(conn, clock, platform_no, order.request_no, service_name, order.user_no)
    payer: Party = get_party(conn, platform_no, order.user_no, "platformUserNo")
    judge_payer(payer)
    project = None
    if order.project_no is not None:
        project = projects.get_project(conn, platform_no, order.project_no, lock=True)
    judge_project(order, project)
    now = requests.clock_us(clock)
    sale = None
    if order.biz_type == "CREDIT_ASSIGNMENT":
        assert order.creditsale_request_no is not None
        sale = debentures.get_sale(conn, platform_no, order.creditsale_request_no, "creditsaleRequestNo", lock=True)
        if sale["status"] != "ONSALE":
            raise SaleEnded(f"creditsaleRequestNo {order.creditsale_request_no!r}", field="creditsaleRequestNo")
        if sale["project_no"] != order.project_no:
            raise BusinessRefused("creditsaleRequestNo is a sale of another project", field="creditsaleRequestNo")
        if sale["seller_user_no"] == order.user_no:
            raise BusinessRefused("platformUserNo: the seller cannot buy their own sale", field="platformUserNo")
        if order.share_fen > debentures.unsold_free_fen(sale):
            raise ShareInsufficient(f"share is above the sale's unsold share "
                                    f"({format_yuan(debentures.unsold_free_fen(sale))})", field="share")
    if order.original_recharge_no is not None:
        assert order.project_no is not None, "a TENDER order names its project"
        recharges.recharge_bid_authority(conn, platform_no, order.user_no, order.original_recharge_no,
                                         order.amount_fen, order.project_no)
    elif authorize:
        authorizations.require_authorization(conn, platform_no, order.user_no, order.biz_type, order.amount_fen,
                                             clock.now(), consume=True)
    apply_ledger(conn, [Hold(payer.account_id, order.amount_fen, pre_key(platform_no, order.request_no),
                             f"{service_name}:{order.request_no}")], ["amount"])
    if sale is not None:
        debentures.bump_sale(conn, sale["id"], now, reserved_fen=order.share_fen)
    out = {"requestNo": order.request_no, "bizType": order.biz_type, "platformUserNo": order.user_no}
    run_together(conn, [  # the order, the project's accumulators and the outcome: one round trip on PostgreSQL
        Write(_INSERT_ORDER, dict(
            platform_no=platform_no, request_no=order.request_no, service_name=service_name,
            platform_user_no=order.user_no, biz_type=order.biz_type, project_no=order.project_no,
            amount_fen=order.amount_fen, consumed_fen=0, released_fen=0, pre_marketing_fen=order.pre_marketing_fen,
            marketing_spent=False, share_fen=order.share_fen, share_bought_fen=0,
            creditsale_request_no=order.creditsale_request_no, original_recharge_no=order.original_recharge_no,
            remark=order.remark, status="FREEZED", created_us=now, updated_us=now), rows=1),
        projects.bump_write(project["id"], now, tender_frozen_fen=order.amount_fen)
        if project is not None and order.biz_type == "TENDER" else None,
        requests.record_write(platform_no, order.request_no, order.user_no, {**out, "amount": order.amount_fen}),
    ])
    return out


# ---------------------------------------------------------------- USER_PRE_TRANSACTION (page)


@dataclass(frozen=True)
class UserPreTransactionRequest:
    """reqData of the page; the trade password is checked by the page first (confirm_password_first)."""

    request_no: str
    platform_user_no: str
    biz_type: str
    amount: object
    project_no: str | None = None
    pre_marketing_amount: object = None
    share: object = None
    creditsale_request_no: str | None = None
    remark: str | None = None
    expired: str | None = None
    redirect_url: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PreTransactionResult:
    request_no: str
    biz_type: str
    platform_user_no: str


def user_pre_transaction(conn: Connection, clock: Clock, platform_no: str,
                         req: UserPreTransactionRequest) -> PreTransactionResult:
    data = {"requestNo": req.request_no, "platformUserNo": req.platform_user_no, "bizType": req.biz_type,
            "amount": req.amount, "projectNo": req.project_no, "preMarketingAmount": req.pre_marketing_amount,
            "share": req.share, "creditsaleRequestNo": req.creditsale_request_no, "remark": req.remark}
    out = _freeze(conn, clock, platform_no, "USER_PRE_TRANSACTION", parse_order(data, USER_BIZ_TYPES))
    return PreTransactionResult(out["requestNo"], out["bizType"], out["platformUserNo"])


# ---------------------------------------------------------------- direct services


def user_auto_pre_transaction(conn: Connection, clock: Clock, platform_no: str, req: Mapping[str, Any]) -> dict:
    return _freeze(conn, clock, platform_no, "USER_AUTO_PRE_TRANSACTION", parse_order(req, USER_BIZ_TYPES),
                   authorize=True)


def freeze_pre_transaction(conn: Connection, clock: Clock, platform_no: str, req: Mapping[str, Any]) -> dict:
    order = parse_order({**req, "projectNo": None, "preMarketingAmount": None, "share": None,
                         "creditsaleRequestNo": None, "originalRechargeNo": None}, ("PRETRANSACTION",))
    out = _freeze(conn, clock, platform_no, "FREEZE_PRE_TRANSACTION", order)
    return {"requestNo": out["requestNo"], "bizType": out["bizType"]}


def cancel_pre_transaction(conn: Connection, clock: Clock, platform_no: str, req: Mapping[str, Any]) -> dict:
    request_no = requests.request_no(req.get("requestNo"))
    order_no = req_text(req.get("preTransactionNo"), "preTransactionNo")
    amount = amount_fen(req.get("amount"), "amount")
    requests.claim(conn, clock, platform_no, request_no, "CANCEL_PRE_TRANSACTION", None)
    probe = load_orders(conn, platform_no, [order_no]).get(order_no)
    if probe is None:
        raise FreezeNotFound(f"preTransactionNo {order_no!r}", field="preTransactionNo")
    project = None
    if probe["project_no"] is not None:  # lock order: project, order, sale, ledger
        project = projects.get_project(conn, platform_no, probe["project_no"], lock=True)
    order = load_orders(conn, platform_no, [order_no], lock=True)[order_no]
    left = remaining_fen(order)
    if order["status"] != "FREEZED" or amount > left:
        raise FreezeInsufficient(f"preTransactionNo {order_no!r} has {format_yuan(left)} left, {format_yuan(amount)} asked",
                                 field="amount")
    now = requests.clock_us(clock)
    apply_ledger(conn, [Release(pre_key(platform_no, order_no), amount, ref=f"CANCEL_PRE_TRANSACTION:{request_no}")],
                 ["amount"])
    emptied = amount == left
    conn.execute(update(custody_pre_transactions).where(custody_pre_transactions.c.id == order["id"]).values(
        released_fen=order["released_fen"] + amount, status="UNFREEZED" if emptied else "FREEZED", updated_us=now))
    if project is not None and order["biz_type"] == "TENDER":
        projects.bump(conn, project["id"], now, tender_frozen_fen=-amount)
    if emptied and order["biz_type"] == "CREDIT_ASSIGNMENT":
        _unreserve(conn, platform_no, order, now)
    conn.execute(custody_freeze_releases.insert().values(
        platform_no=platform_no, request_no=request_no, kind="CANCEL_PRETRANSACTION", original_no=order_no,
        platform_user_no=order["platform_user_no"], amount_fen=amount, created_us=now))
    out = {"requestNo": request_no, "preTransactionNo": order_no}
    requests.record(conn, platform_no, request_no, order["platform_user_no"], {**out, "amount": amount})
    return out


def _unreserve(conn: Connection, platform_no: str, order: Mapping[str, Any], now: int) -> None:
    """A fully released CREDIT_ASSIGNMENT order gives its unbought share back to an ONSALE sale."""
    left = order["share_fen"] - order["share_bought_fen"]
    sale = debentures.find_sale(conn, platform_no, order["creditsale_request_no"], lock=True)
    if left <= 0 or sale is None or sale["status"] != "ONSALE":
        return
    conn.execute(update(custody_debenture_sales).where(custody_debenture_sales.c.id == sale["id"]).values(
        reserved_fen=max(0, sale["reserved_fen"] - left), updated_us=now))

