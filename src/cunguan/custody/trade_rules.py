"""The rules of a trade (SYNC_TRANSACTION, and per bizDetail of ASYNC_TRANSACTION), as pure functions:
`parse_trade` reads the reqData-shaped dict, `plan_trade` decides every detail against the loaded
state (project, sale, freeze orders, parties, shares) and returns the ledger transfers and the
business-row changes, or raises the typed refusal. No I/O here: `custody/trades.py` loads the state in
a few statements, calls `plan_trade`, and writes the plan.

Which details a trade type takes (§3.6 × §3.8), who pays and who is paid by default:
| tradeType | details |
|---|---|
| TENDER (放款) | TENDER investor→borrower (freeze: the investor's TENDER order, required), COMMISSION, MARKETING (investment red packet, SYS_GENERATE_002→borrower), PROFIT |
| REPAYMENT | REPAYMENT borrower→holder, COMPENSATORY_REPAYMENT borrower→compensator, INTEREST_REPAYMENT borrower→SYS_GENERATE_005, COMMISSION, PROFIT, MARKETING, INTEREST |
| CREDIT_ASSIGNMENT | CREDIT_ASSIGNMENT buyer→seller (freeze: the buyer's CREDIT_ASSIGNMENT order for `saleRequestNo`), COMMISSION, MARKETING |
| COMPENSATORY / INDIRECT_COMPENSATORY | COMPENSATORY compensator→holder, COMMISSION |
| PLATFORM_INDEPENDENT_PROFIT | PLATFORM_INDEPENDENT_PROFIT (default source SYS_GENERATE_003) |
| MARKETING | MARKETING (SYS_GENERATE_002), INTEREST (SYS_GENERATE_005), ALTERNATIVE_RECHARGE (SYS_GENERATE_006) |
| PLATFORM_SERVICE_DEDUCT | DEDUCT, COMMISSION (default target SYS_GENERATE_004) |
| FUNDS_TRANSFER | FUNDS_TRANSFER from a system account (default SYS_GENERATE_000) |
| AUTO_TENDER, AUTO_REPAYMENT, AUTO_CREDIT_ASSIGNMENT, AUTO_COMPENSATORY, AUTO_INDIRECT_COMPENSATORY | as the base type, but a user's payment without freezeRequestNo comes from the available balance under the user's authorization of the base type (TENDER, REPAYMENT, CREDIT_ASSIGNMENT, COMPENSATORY; consumed) |
COMMISSION and DEDUCT default their target to SYS_GENERATE_004 (platform income). A detail in the wrong
trade type → 100002 (field details[i].bizType).

Money rules:
- A user's money leaves only from a freeze order (the user's consent was taken at the pre-transaction:
  page password, authorization, or the platform's own FREEZE_PRE_TRANSACTION). Exceptions: AUTO_* trades
  (authorization, see above), and fees (COMMISSION, PROFIT, DEDUCT) a party pays out of what the same
  trade credits to it (the borrower's commission from the loan, the seller's from the price). System
  accounts pay from their available balance. Short → 100014.
- A freeze order consumed by a detail must be FREEZED, the payer's, of the trade's project, and of the
  matching bizType (TENDER←TENDER, REPAYMENT←REPAYMENT, CREDIT_ASSIGNMENT←CREDIT_ASSIGNMENT,
  COMPENSATORY←COMPENSATORY; PRETRANSACTION orders fit any detail) — else 100019. Several details and
  several trades may consume one order; more than remains → 100014 "冻结金额不足"; unknown → 100007.
- Investment red packets: a MARKETING detail of a TENDER trade names the bid it belongs to in
  `freezeRequestNo` (the bid is not consumed by it); its amount must equal that bid's
  preMarketingAmount, the bid must be released (in this trade or before) and its red packet not yet
  paid. A failed project pays no red packet because it takes no TENDER trade.
- TENDER: the project is COLLECTING or FINISH (截标) and was never REPAYING (100015); the release gives
  the investor a share equal to the released principal, adds to loanAmount and takes the bid off the
  frozen bids; loan + frozen bids never exceed projectAmount. On an ENTRUST_PAY project the money may
  go to the entrusted payee (AUTHORIZATION_ENTRUST_PAY) instead of the borrower.
- REPAYMENT / COMPENSATORY: principal = amount − income (income ≤ amount). Creditor check: the principal
  paid to a holder in a trade never exceeds the holder's unlocked share (a share on sale is repaid only
  after the sale ends or sells); the share goes down by the principal. REPAYMENT adds to
  repaymentAmount and income; direct COMPENSATORY to the compensated principal, which the borrower later
  pays back with COMPENSATORY_REPAYMENT (principal part ≤ compensated − already repaid). INDIRECT
  compensation moves the principal share to the compensator, who is then repaid as a holder.
- CREDIT_ASSIGNMENT: `share` (default: what the buyer's order still reserves) ≤ the order's reservation
  and ≤ the seller's locked share; the share moves seller → buyer, the money buyer → seller at any price;
  the sale is COMPLETED when all its share is sold or cancelled; a share is never sold twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cunguan.custody.fields import opt, opt_text, req_enum, req_text
from cunguan.custody.trade_common import Party, amount_fen, opt_amount_fen
from cunguan.custody.trade_errors import (
    BusinessRefused,
    CreditorCheckFailed,
    FreezeInsufficient,
    FreezeNotFound,
    InvalidField,
    Oversubscribed,
    ProjectStateMismatch,
    ProjectTypeMismatch,
    SaleEnded,
    SaleNotFound,
    ShareInsufficient,
)
from cunguan.custody.user_errors import UserNotFound, UserUnavailable
from cunguan.money import format_yuan

MAX_DETAILS = 1000
"""Details per trade: bounds a transaction's locks and memory (one ledger batch ≤ 10,000 ops)."""

BASE_TRADE_TYPES = ("TENDER", "REPAYMENT", "CREDIT_ASSIGNMENT", "COMPENSATORY", "INDIRECT_COMPENSATORY",
                    "PLATFORM_INDEPENDENT_PROFIT", "MARKETING", "PLATFORM_SERVICE_DEDUCT", "FUNDS_TRANSFER")
AUTO_TRADE_TYPES = {"AUTO_TENDER": "TENDER", "AUTO_REPAYMENT": "REPAYMENT", "AUTO_CREDIT_ASSIGNMENT": "CREDIT_ASSIGNMENT",
                    "AUTO_COMPENSATORY": "COMPENSATORY", "AUTO_INDIRECT_COMPENSATORY": "INDIRECT_COMPENSATORY"}
EXTENSION_TRADE_TYPES = ("INTELLIGENT_APPEND", "APPEND_FREEZE", "COMPEN_FREEZE")
"""Handled by another module through `trades.EXTENSIONS` (plans engineer); 100006 until registered."""
TRADE_TYPES = BASE_TRADE_TYPES + tuple(AUTO_TRADE_TYPES) + EXTENSION_TRADE_TYPES

DETAIL_BIZ_TYPES = ("TENDER", "REPAYMENT", "CREDIT_ASSIGNMENT", "COMPENSATORY", "COMPENSATORY_REPAYMENT",
                    "PLATFORM_INDEPENDENT_PROFIT", "MARKETING", "INTEREST", "ALTERNATIVE_RECHARGE",
                    "INTEREST_REPAYMENT", "COMMISSION", "PROFIT", "APPEND_FREEZE", "DEDUCT", "FUNDS_TRANSFER")

ALLOWED_DETAILS: dict[str, frozenset[str]] = {
    "TENDER": frozenset({"TENDER", "COMMISSION", "MARKETING", "PROFIT"}),
    "REPAYMENT": frozenset({"REPAYMENT", "COMPENSATORY_REPAYMENT", "INTEREST_REPAYMENT", "COMMISSION", "PROFIT",
                            "MARKETING", "INTEREST"}),
    "CREDIT_ASSIGNMENT": frozenset({"CREDIT_ASSIGNMENT", "COMMISSION", "MARKETING"}),
    "COMPENSATORY": frozenset({"COMPENSATORY", "COMMISSION"}),
    "INDIRECT_COMPENSATORY": frozenset({"COMPENSATORY", "COMMISSION"}),
    "PLATFORM_INDEPENDENT_PROFIT": frozenset({"PLATFORM_INDEPENDENT_PROFIT"}),
    "MARKETING": frozenset({"MARKETING", "INTEREST", "ALTERNATIVE_RECHARGE"}),
    "PLATFORM_SERVICE_DEDUCT": frozenset({"DEDUCT", "COMMISSION"}),
    "FUNDS_TRANSFER": frozenset({"FUNDS_TRANSFER"}),
}
PROJECT_TRADES = frozenset({"TENDER", "REPAYMENT", "CREDIT_ASSIGNMENT", "COMPENSATORY", "INDIRECT_COMPENSATORY"})
FREEZE_TYPE_OF_TRADE = {"TENDER": "TENDER", "REPAYMENT": "REPAYMENT", "CREDIT_ASSIGNMENT": "CREDIT_ASSIGNMENT",
                        "COMPENSATORY": "COMPENSATORY", "INDIRECT_COMPENSATORY": "COMPENSATORY"}
AUTH_OF_TRADE = {"TENDER": "TENDER", "REPAYMENT": "REPAYMENT", "CREDIT_ASSIGNMENT": "CREDIT_ASSIGNMENT",
                 "COMPENSATORY": "COMPENSATORY", "INDIRECT_COMPENSATORY": "COMPENSATORY"}
FIXED_SOURCE = {"MARKETING": "SYS_GENERATE_002", "INTEREST": "SYS_GENERATE_005", "ALTERNATIVE_RECHARGE": "SYS_GENERATE_006"}
DEFAULT_SOURCE = {"PLATFORM_INDEPENDENT_PROFIT": "SYS_GENERATE_003", "FUNDS_TRANSFER": "SYS_GENERATE_000"}
DEFAULT_TARGET = {"COMMISSION": "SYS_GENERATE_004", "DEDUCT": "SYS_GENERATE_004", "INTEREST_REPAYMENT": "SYS_GENERATE_005"}
FEE_TYPES = frozenset({"COMMISSION", "PROFIT", "DEDUCT"})
INCOME_TYPES = frozenset({"REPAYMENT", "COMPENSATORY", "COMPENSATORY_REPAYMENT"})
"""Details whose `income` (interest part) means something; elsewhere it must be absent or 0."""
SYSTEM_ACCOUNT_NOS = tuple(f"SYS_GENERATE_00{i}" for i in range(8))


# ---------------------------------------------------------------- parsing


@dataclass(slots=True)
class Detail:
    """One parsed detail. Not `frozen` (treat it as a value all the same), like the trade, its moves
    and parties: they are built for every detail of every ASYNC batch, and a frozen dataclass costs
    five times more to build (1 µs against 0.2 µs)."""

    seq: int
    biz_type: str
    freeze_request_no: str | None
    source: str | None
    target: str | None
    amount_fen: int
    income_fen: int
    share_fen: int | None
    custom_define: str | None
    remark: str | None


@dataclass(slots=True)
class TradeRequest:
    request_no: str
    trade_type: str
    project_no: str | None
    sale_request_no: str | None
    details: tuple[Detail, ...]

    @property
    def base_type(self) -> str:
        return AUTO_TRADE_TYPES.get(self.trade_type, self.trade_type)

    @property
    def auto(self) -> bool:
        return self.trade_type in AUTO_TRADE_TYPES


def parse_detail(i: int, raw: object) -> Detail:
    f = f"details[{i}]"
    if not isinstance(raw, Mapping):
        raise InvalidField(f"{f} must be an object", field=f)
    biz = req_enum(raw.get("bizType"), f"{f}.bizType", DETAIL_BIZ_TYPES)
    amount = amount_fen(raw.get("amount"), f"{f}.amount")
    income = opt_amount_fen(raw.get("income"), f"{f}.income") or 0
    if income > amount:
        raise InvalidField(f"{f}.income is above its amount", field=f"{f}.income")
    if income and biz not in INCOME_TYPES:
        raise InvalidField(f"{f}.income is only for {', '.join(sorted(INCOME_TYPES))}", field=f"{f}.income")
    share = opt_amount_fen(raw.get("share"), f"{f}.share")
    if share is not None and share <= 0:
        raise InvalidField(f"{f}.share must be positive", field=f"{f}.share")
    return Detail(i, biz, opt_text(raw.get("freezeRequestNo"), f"{f}.freezeRequestNo"),
                  opt_text(raw.get("sourcePlatformUserNo"), f"{f}.sourcePlatformUserNo"),
                  opt_text(raw.get("targetPlatformUserNo"), f"{f}.targetPlatformUserNo"), amount, income, share,
                  opt_text(raw.get("customDefine"), f"{f}.customDefine"), opt_text(raw.get("remark"), f"{f}.remark"))


def parse_trade(request_no: str, trade: Mapping[str, Any]) -> TradeRequest:
    trade_type = req_enum(trade.get("tradeType"), "tradeType", TRADE_TYPES)
    project_no = opt_text(trade.get("projectNo"), "projectNo")
    sale_no = opt_text(trade.get("saleRequestNo"), "saleRequestNo")
    raw = trade.get("details")
    if opt(raw) is None:
        raise InvalidField("details is required", field="details")
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise InvalidField("details must be a non-empty array", field="details")
    if len(raw) > MAX_DETAILS:
        raise InvalidField(f"details holds at most {MAX_DETAILS} items", field="details")
    details = tuple(parse_detail(i, d) for i, d in enumerate(raw))
    req = TradeRequest(req_text(request_no, "requestNo"), trade_type, project_no, sale_no, details)
    base = req.base_type
    if base in PROJECT_TRADES and project_no is None:
        raise InvalidField(f"projectNo is required for tradeType {trade_type}", field="projectNo")
    if base == "CREDIT_ASSIGNMENT" and sale_no is None:
        raise InvalidField("saleRequestNo is required for CREDIT_ASSIGNMENT", field="saleRequestNo")
    if base != "CREDIT_ASSIGNMENT" and sale_no is not None:
        raise InvalidField("saleRequestNo is for CREDIT_ASSIGNMENT only", field="saleRequestNo")
    allowed = ALLOWED_DETAILS.get(base)
    if allowed is not None:
        for d in details:
            if d.biz_type not in allowed:
                raise InvalidField(f"details[{d.seq}].bizType {d.biz_type} does not belong to tradeType {trade_type}",
                                   field=f"details[{d.seq}].bizType")
    return req


def party_numbers(req: TradeRequest, project: Mapping | None, sale: Mapping | None,
                  orders: Mapping[str, Mapping]) -> set[str]:
    """Every platformUserNo the plan may touch, for one bulk load."""
    nos = set(SYSTEM_ACCOUNT_NOS)
    for d in req.details:
        nos.update(n for n in (d.source, d.target) if n)
    if project is not None:
        nos.add(project["borrower_user_no"])
    if sale is not None:
        nos.add(sale["seller_user_no"])
    nos.update(o["platform_user_no"] for o in orders.values())
    return nos


# ---------------------------------------------------------------- planning


@dataclass(slots=True)
class Move:
    """One ledger transfer of the plan (trades.py turns it into a ledger Transfer)."""

    seq: int
    biz_type: str
    source: Party
    target: Party
    amount_fen: int
    freeze_request_no: str | None  # consumed freeze order, if any


@dataclass
class TradeState:
    platform_no: str
    project: dict | None
    sale: dict | None
    orders: dict[str, dict]
    parties: dict[str, Party]
    shares: dict[str, dict]  # holder -> {principal_fen, locked_fen}
    entrusted_payee: str | None = None


def _zero_pair() -> list[int]:
    return [0, 0]


class TradePlan:
    """What one trade does: its moves and the business-row changes (a plain slots class: one is built
    per trade, and dataclass field factories cost more than the containers)."""

    __slots__ = ("moves", "share_deltas", "project_deltas", "order_consumed", "order_share_bought",
                 "marketing_spent", "sale_sold_fen", "sale_unreserved_fen", "sale_completed", "auth_needed", "rows")

    def __init__(self) -> None:
        self.moves: list[Move] = []
        self.share_deltas: dict[str, list[int]] = defaultdict(_zero_pair)  # holder -> [principal, locked]
        self.project_deltas: dict[str, int] = defaultdict(int)
        self.order_consumed: dict[str, int] = defaultdict(int)
        self.order_share_bought: dict[str, int] = defaultdict(int)
        self.marketing_spent: set[str] = set()
        self.sale_sold_fen = 0
        self.sale_unreserved_fen = 0
        self.sale_completed = False
        self.auth_needed: dict[tuple[str, str], int] = defaultdict(int)
        self.rows: list[tuple[Detail, str, str]] = []  # (detail, source no, target no)

    @property
    def total_fen(self) -> int:
        return sum(m.amount_fen for m in self.moves)


def _f(d: Detail, name: str) -> str:
    return f"details[{d.seq}].{name}"


def _party(state: TradeState, user_no: str, field_: str) -> Party:
    p = state.parties.get(user_no)
    if p is None:
        raise UserNotFound(f"{field_}: {user_no[:50]!r} does not exist on this platform", field=field_)
    if not p.active:
        raise UserUnavailable(f"{field_}: the user's account is not active", field=field_)
    return p


class _Planner:
    def __init__(self, req: TradeRequest, state: TradeState) -> None:
        self.req, self.state, self.plan = req, state, TradePlan()
        self.base = req.base_type
        self.project = state.project
        self.credited: dict[str, int] = defaultdict(int)
        self.fee_paid: dict[str, int] = defaultdict(int)

    # -- pieces

    def check_project(self) -> None:
        p = self.project
        if p is None:
            return
        status = p["status"]
        if self.base == "TENDER":
            if status not in ("COLLECTING", "FINISH") or p["ever_repaying"]:
                raise ProjectStateMismatch(f"projectNo: a TENDER release needs the project COLLECTING or FINISH "
                                           f"(is {status})", field="projectNo")
        elif self.base in PROJECT_TRADES and status != "REPAYING":
            raise ProjectStateMismatch(f"projectNo: {self.req.trade_type} needs the project REPAYING (is {status})",
                                       field="projectNo")

    def check_sale(self) -> None:
        if self.base != "CREDIT_ASSIGNMENT":
            return
        sale = self.state.sale
        if sale is None:
            raise SaleNotFound(f"saleRequestNo {self.req.sale_request_no!r}", field="saleRequestNo")
        if sale["status"] != "ONSALE":
            raise SaleEnded(f"saleRequestNo {self.req.sale_request_no!r}", field="saleRequestNo")
        if sale["project_no"] != self.req.project_no:
            raise BusinessRefused("saleRequestNo is a sale of another project", field="saleRequestNo")

    def order(self, d: Detail) -> dict:
        assert d.freeze_request_no is not None
        o = self.state.orders.get(d.freeze_request_no)
        if o is None:
            raise FreezeNotFound(f"{_f(d, 'freezeRequestNo')} {d.freeze_request_no!r}", field=_f(d, "freezeRequestNo"))
        return o

    def consume(self, d: Detail, payer_default: str | None) -> tuple[Party, str | None]:
        """The payer of a detail and the freeze order it consumes (None = available balance)."""
        if d.freeze_request_no is not None:
            o = self.order(d)
            fr = _f(d, "freezeRequestNo")
            if d.source is not None and d.source != o["platform_user_no"]:
                raise BusinessRefused(f"{_f(d, 'sourcePlatformUserNo')} is not the owner of {fr}",
                                      field=_f(d, "sourcePlatformUserNo"))
            want = FREEZE_TYPE_OF_TRADE.get(self.base)
            if o["biz_type"] != "PRETRANSACTION" and o["biz_type"] != want:
                raise ProjectTypeMismatch(f"{fr} is a {o['biz_type']} freeze; {self.req.trade_type} takes "
                                          f"{want or 'PRETRANSACTION'} freezes", field=fr)
            if o["project_no"] is not None and o["project_no"] != self.req.project_no:
                raise BusinessRefused(f"{fr} belongs to another project", field=fr)
            used = self.plan.order_consumed[o["request_no"]] + d.amount_fen
            left = o["amount_fen"] - o["consumed_fen"] - o["released_fen"]
            if o["status"] != "FREEZED" or used > left:
                raise FreezeInsufficient(f"{fr} has {format_yuan(max(0, left - used + d.amount_fen))} left, "
                                         f"{format_yuan(d.amount_fen)} asked", field=fr)
            self.plan.order_consumed[o["request_no"]] = used
            return _party(self.state, o["platform_user_no"], fr), o["request_no"]
        fixed = FIXED_SOURCE.get(d.biz_type)
        if fixed is not None and d.source is not None and d.source != fixed:
            raise InvalidField(f"{_f(d, 'sourcePlatformUserNo')}: {d.biz_type} is paid from {fixed}",
                               field=_f(d, "sourcePlatformUserNo"))
        source_no = d.source or fixed or DEFAULT_SOURCE.get(d.biz_type) or payer_default
        if source_no is None:
            raise InvalidField(f"{_f(d, 'sourcePlatformUserNo')} or {_f(d, 'freezeRequestNo')} is required",
                               field=_f(d, "sourcePlatformUserNo"))
        payer = _party(self.state, source_no, _f(d, "sourcePlatformUserNo"))
        if not payer.system:
            auth = AUTH_OF_TRADE.get(self.base)
            if self.req.auto and auth is not None and d.biz_type not in FEE_TYPES:
                self.plan.auth_needed[(payer.user_no, auth)] += d.amount_fen
            elif d.biz_type in FEE_TYPES:
                self.fee_paid[payer.user_no] += d.amount_fen  # checked against credits at the end
            else:
                raise InvalidField(f"{_f(d, 'freezeRequestNo')} is required: a user pays {d.biz_type} from a freeze "
                                   "order", field=_f(d, "freezeRequestNo"))
        return payer, None

    def payee(self, d: Detail, default: str | None) -> Party:
        target_no = d.target or DEFAULT_TARGET.get(d.biz_type) or default
        if target_no is None:
            raise InvalidField(f"{_f(d, 'targetPlatformUserNo')} is required", field=_f(d, "targetPlatformUserNo"))
        return _party(self.state, target_no, _f(d, "targetPlatformUserNo"))

    def move(self, d: Detail, payer: Party, payee: Party, order_no: str | None) -> None:
        if payer.user_no == payee.user_no:
            raise InvalidField(f"details[{d.seq}]: source and target are the same account", field=f"details[{d.seq}]")
        if d.biz_type == "FUNDS_TRANSFER" and not payer.system:
            raise InvalidField(f"{_f(d, 'sourcePlatformUserNo')}: FUNDS_TRANSFER moves the platform's own money "
                               "(a SYS_GENERATE_* account)", field=_f(d, "sourcePlatformUserNo"))
        self.credited[payee.user_no] += d.amount_fen
        self.plan.moves.append(Move(d.seq, d.biz_type, payer, payee, d.amount_fen, order_no))
        self.plan.rows.append((d, payer.user_no, payee.user_no))

    def take_principal(self, d: Detail, holder: str, principal: int) -> None:
        """Creditor check: principal paid to `holder` within the holder's unlocked share."""
        if principal <= 0:
            return
        held = self.state.shares.get(holder, {"principal_fen": 0, "locked_fen": 0})
        free = held["principal_fen"] - held["locked_fen"] + self.plan.share_deltas[holder][0] \
            - self.plan.share_deltas[holder][1]
        if principal > free:
            raise CreditorCheckFailed(f"{_f(d, 'amount')}: principal {format_yuan(principal)} is above the unlocked share "
                                      f"{format_yuan(max(free, 0))} that {holder} holds", field=_f(d, "amount"))
        self.plan.share_deltas[holder][0] -= principal

    # -- details

    def detail(self, d: Detail) -> None:
        p = self.project
        borrower = p["borrower_user_no"] if p is not None else None
        b = d.biz_type
        if b == "TENDER":
            payer, order_no = self.consume(d, None)
            if order_no is None and not self.req.auto:
                raise InvalidField(f"{_f(d, 'freezeRequestNo')} is required for TENDER", field=_f(d, "freezeRequestNo"))
            if d.target is not None and d.target not in (borrower, self.state.entrusted_payee):
                raise BusinessRefused(f"{_f(d, 'targetPlatformUserNo')}: a release goes to the borrower"
                                      f"{' or the entrusted payee' if self.state.entrusted_payee else ''}",
                                      field=_f(d, "targetPlatformUserNo"))
            payee = self.payee(d, self.state.entrusted_payee or borrower)
            if payer.user_no == borrower:
                raise BusinessRefused(f"{_f(d, 'sourcePlatformUserNo')}: the borrower cannot lend to themselves",
                                      field=_f(d, "sourcePlatformUserNo"))
            self.move(d, payer, payee, order_no)
            self.plan.share_deltas[payer.user_no][0] += d.amount_fen
            self.plan.project_deltas["loan_fen"] += d.amount_fen
            if order_no is not None and self.state.orders[order_no]["project_no"] is not None:  # bids, not plans
                self.plan.project_deltas["tender_frozen_fen"] -= d.amount_fen
        elif b == "MARKETING" and self.base == "TENDER":
            if d.freeze_request_no is None:
                raise InvalidField(f"{_f(d, 'freezeRequestNo')} is required: it names the bid whose red packet this is",
                                   field=_f(d, "freezeRequestNo"))
            o = self.order(d)
            fr = _f(d, "freezeRequestNo")
            if o["biz_type"] != "TENDER" or o["project_no"] != self.req.project_no:
                raise ProjectTypeMismatch(f"{fr} is not a bid on this project", field=fr)
            if o["marketing_spent"] or o["request_no"] in self.plan.marketing_spent:
                raise BusinessRefused(f"{fr}: the bid's red packet was already paid", field=fr)
            if d.amount_fen != o["pre_marketing_fen"]:
                raise BusinessRefused(f"{_f(d, 'amount')} must equal the bid's preMarketingAmount "
                                      f"({format_yuan(o['pre_marketing_fen'])})", field=_f(d, "amount"))
            if o["consumed_fen"] + self.plan.order_consumed.get(o["request_no"], 0) <= 0:
                raise BusinessRefused(f"{fr}: the bid has not been released", field=fr)
            if d.source is not None and d.source != FIXED_SOURCE["MARKETING"]:
                raise InvalidField(f"{_f(d, 'sourcePlatformUserNo')}: MARKETING is paid from SYS_GENERATE_002",
                                   field=_f(d, "sourcePlatformUserNo"))
            payer = _party(self.state, FIXED_SOURCE["MARKETING"], _f(d, "sourcePlatformUserNo"))
            payee = self.payee(d, self.state.entrusted_payee or borrower)
            self.plan.marketing_spent.add(o["request_no"])
            self.move(d, payer, payee, None)
        elif b == "REPAYMENT":
            payer, order_no = self.consume(d, borrower)
            if payer.user_no != borrower:
                raise BusinessRefused(f"{_f(d, 'sourcePlatformUserNo')}: REPAYMENT is paid by the project's borrower",
                                      field=_f(d, "sourcePlatformUserNo"))
            payee = self.payee(d, None)
            principal = d.amount_fen - d.income_fen
            self.take_principal(d, payee.user_no, principal)
            self.plan.project_deltas["repaid_principal_fen"] += principal
            self.plan.project_deltas["income_fen"] += d.income_fen
            self.move(d, payer, payee, order_no)
        elif b == "COMPENSATORY":
            payer, order_no = self.consume(d, "SYS_GENERATE_001")
            payee = self.payee(d, None)
            principal = d.amount_fen - d.income_fen
            if payer.user_no == borrower:
                raise BusinessRefused(f"{_f(d, 'sourcePlatformUserNo')}: the borrower repays, not compensates",
                                      field=_f(d, "sourcePlatformUserNo"))
            self.take_principal(d, payee.user_no, principal)
            if self.base == "INDIRECT_COMPENSATORY":
                self.plan.share_deltas[payer.user_no][0] += principal  # the compensator takes the claim over
            else:
                self.plan.project_deltas["compensated_fen"] += principal
            self.move(d, payer, payee, order_no)
        elif b == "COMPENSATORY_REPAYMENT":
            payer, order_no = self.consume(d, borrower)
            if payer.user_no != borrower:
                raise BusinessRefused(f"{_f(d, 'sourcePlatformUserNo')}: COMPENSATORY_REPAYMENT is paid by the borrower",
                                      field=_f(d, "sourcePlatformUserNo"))
            payee = self.payee(d, None)
            principal = d.amount_fen - d.income_fen
            assert p is not None
            owed = p["compensated_fen"] + self.plan.project_deltas["compensated_fen"] - p["compensation_repaid_fen"] \
                - self.plan.project_deltas["compensation_repaid_fen"]
            if principal > owed:
                raise CreditorCheckFailed(f"{_f(d, 'amount')}: principal {format_yuan(principal)} is above the compensation "
                                          f"still owed ({format_yuan(owed)})", field=_f(d, "amount"))
            self.plan.project_deltas["compensation_repaid_fen"] += principal
            self.move(d, payer, payee, order_no)
        elif b == "CREDIT_ASSIGNMENT":
            self.credit_assignment(d)
        else:  # plain money details: fees, marketing, interest, profit, funds transfer, alternative recharge
            default_payer = None
            if self.base in ("TENDER", "REPAYMENT"):
                default_payer = borrower  # the borrower's commission from the loan, or from the repayment
            elif self.base == "CREDIT_ASSIGNMENT" and self.state.sale is not None:
                default_payer = self.state.sale["seller_user_no"]
            payer, order_no = self.consume(d, default_payer)
            self.move(d, payer, self.payee(d, None), order_no)

    def credit_assignment(self, d: Detail) -> None:
        sale = self.state.sale
        assert sale is not None
        seller = sale["seller_user_no"]
        payer, order_no = self.consume(d, None)
        fr = _f(d, "freezeRequestNo")
        if order_no is None and not self.req.auto:
            raise InvalidField(f"{fr} is required for CREDIT_ASSIGNMENT", field=fr)
        if d.target is not None and d.target != seller:
            raise BusinessRefused(f"{_f(d, 'targetPlatformUserNo')}: the price goes to the seller of the sale",
                                  field=_f(d, "targetPlatformUserNo"))
        if payer.user_no == seller:
            raise BusinessRefused(f"{_f(d, 'sourcePlatformUserNo')}: the seller cannot buy their own sale",
                                  field=_f(d, "sourcePlatformUserNo"))
        payee = self.payee(d, seller)
        sold_here = self.plan.sale_sold_fen
        o = self.state.orders[order_no] if order_no is not None else None
        if o is not None and o["biz_type"] == "CREDIT_ASSIGNMENT":
            if o["creditsale_request_no"] != sale["request_no"]:
                raise BusinessRefused(f"{fr} is a purchase from another sale", field=fr)
            reserved_left = o["share_fen"] - o["share_bought_fen"] - self.plan.order_share_bought[order_no]
            share = d.share_fen if d.share_fen is not None else reserved_left
            if share <= 0 or share > reserved_left:
                raise ShareInsufficient(f"{_f(d, 'share')}: the buyer's order reserves {format_yuan(max(reserved_left, 0))}",
                                        field=_f(d, "share"))
            self.plan.order_share_bought[order_no] += share
            self.plan.sale_unreserved_fen += share
        else:  # AUTO from available, or a PRETRANSACTION freeze: buys unreserved share
            if d.share_fen is None:
                raise InvalidField(f"{_f(d, 'share')} is required without a CREDIT_ASSIGNMENT freeze order",
                                   field=_f(d, "share"))
            share = d.share_fen
            free = sale["sale_share_fen"] - sale["sold_fen"] - sale["reserved_fen"] - sale["cancelled_fen"] \
                - (sold_here - self.plan.sale_unreserved_fen)
            if share > free:
                raise ShareInsufficient(f"{_f(d, 'share')} is above the sale's unsold share", field=_f(d, "share"))
        held = self.state.shares.get(seller, {"principal_fen": 0, "locked_fen": 0})
        locked_left = held["locked_fen"] + self.plan.share_deltas[seller][1]
        if share > locked_left:
            raise ShareInsufficient(f"{_f(d, 'share')}: the seller has {format_yuan(max(locked_left, 0))} on sale",
                                    field=_f(d, "share"))
        self.plan.share_deltas[seller][0] -= share
        self.plan.share_deltas[seller][1] -= share
        self.plan.share_deltas[payer.user_no][0] += share
        self.plan.sale_sold_fen += share
        self.move(d, payer, payee, order_no)
        self.plan.rows[-1] = (Detail(d.seq, d.biz_type, d.freeze_request_no, d.source, d.target, d.amount_fen,
                                     d.income_fen, share, d.custom_define, d.remark), payer.user_no, payee.user_no)

    # -- the whole trade

    def run(self) -> TradePlan:
        self.check_project()
        self.check_sale()
        for d in self.req.details:
            self.detail(d)
        for user_no, paid in self.fee_paid.items():
            if paid > self.credited.get(user_no, 0):
                raise InvalidField(f"{user_no} pays fees of {format_yuan(paid)} without a freeze order, above the "
                                   f"{format_yuan(self.credited.get(user_no, 0))} this trade credits to them; give a "
                                   "freezeRequestNo", field="details")
        p = self.project
        if p is not None and self.base == "TENDER":
            loan = p["loan_fen"] + self.plan.project_deltas["loan_fen"]
            frozen = p["tender_frozen_fen"] + self.plan.project_deltas["tender_frozen_fen"]
            if loan + max(frozen, 0) > p["project_amount_fen"]:
                raise Oversubscribed("the release would make the project raise more than its amount", field="details")
        sale = self.state.sale
        if sale is not None and self.plan.sale_sold_fen:
            self.plan.sale_completed = (sale["sold_fen"] + self.plan.sale_sold_fen + sale["cancelled_fen"]
                                        == sale["sale_share_fen"])
        return self.plan


def plan_trade(req: TradeRequest, state: TradeState) -> TradePlan:
    """Decide the whole trade (all details or nothing): the moves and the business-row changes."""
    return _Planner(req, state).run()
