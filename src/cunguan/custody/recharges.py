"""Recharge (充值, scenario 2): RECHARGE (bank page, trade password) and DIRECT_RECHARGE (authorization
RECHARGE, rechargeWay PROXY), carried in by the payment company the platform chose (§2.3, §5.6).

Life of a recharge (each step one transaction):
1. accepted: the request is checked (amounts, way, the company's route through the PaymentCloud —
   without calling it), the requestNo claimed and the row written PENDDING with `start_state NEW`.
   Nothing calls a payment company inside a database transaction (their calls are slow I/O, and the
   simulator keeps its own rows), so:
2. started: after commit `start_payment` hands it to the company (DIRECT_RECHARGE at once, in the same
   HTTP request; RECHARGE pages and anything left behind by a crash: the money worker). The same order
   number is safe to start again: companies charge an order once. REJECTED → FAIL at once; UNKNOWN
   (timeout) → queried later.
3. result: the company's notification (or our query, whichever comes first) makes it SUCCESS or FAIL.
   Duplicate and late notifications find the row final and change nothing (`apply_pay_result` is a
   conditional update on PENDDING, and the postings carry idempotency keys): money is credited once.

The double entry of a successful recharge (our choice; the spec is silent): the platform's custody
cash account (`P:{p}:CUSTODY_CASH`, the asset-side mirror of the real custody account, allowed below
zero: its balance is minus what the bank owes the platform's users) is debited with the whole amount;
the user is credited `amount − commission`, the platform income account SYS_GENERATE_004 `commission`.
So Σ virtual accounts + custody cash = 0 at every commit (the first invariant). A withdrawal books the
reverse (custody/withdrawals.py).

The money is available at once but *unsettled* until the payment company's settlement file for its
pay date (the Beijing date of the company's success) is applied (custody/settlement_intake.py).
PROXY (DIRECT_RECHARGE) is carried as quick pay (SWIFT) on the user's bound card and reserved phone.
Notifications (NOTIFY RECHARGE / DIRECT_RECHARGE): SUCCESS always; with `callbackMode=DIRECT_CALLBACK`
also FAIL and PENDDING (once, when the company accepts), with channelErrorCode/Message.
Payment-company fees in the settlement file are the bank's cost, booked outside custody.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from cunguan.clock import BEIJING, Clock, now_us, wire_time  # noqa: F401  (re-exported)
from cunguan.clock import from_us as us_to_dt  # noqa: F401  (re-exported)
from cunguan.custody import authorizations, platforms, requests
from cunguan.custody.fields import amount_fen, opt, opt_enum, opt_text, req_enum, req_text
from cunguan.custody.masking import mask_card, mask_mobile
from cunguan.custody.money_errors import PaymentRouteRefused
from cunguan.custody.user_errors import InvalidField, NotAuthorized, UserUnavailable, WrongState
from cunguan.custody.user_store import User, check_platform_no, get_user, platform_user_no
from cunguan.db import ledger_store
from cunguan.db.tables.custody_money import custody_recharges
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer
from cunguan.money import fen_to_decimal
from cunguan.notify import outbox
from cunguan.payments.gateway import (
    PayCompany,
    PaymentCloud,
    PaymentCloudError,
    PayRequest,
    PayStatus,
    StartAnswer,
)

PAGE_SERVICE = "RECHARGE"
DIRECT_SERVICE = "DIRECT_RECHARGE"
PAGE_WAYS = ("WEB", "SWIFT")
CALLBACK_MODES = ("DIRECT_CALLBACK",)
POLL_AFTER_S = 60
"""A payment still PENDDING this long after it was started (or last asked) is queried."""
MAX_POLL_S = 3600
NOTIFY_KEY_SERIAL = platforms.BANK_KEY_SERIAL
INCOME_ACCOUNT = "SYS_GENERATE_004"


def opt_amount_fen(value: object, field_name: str) -> int:
    return 0 if opt(value) is None else amount_fen(value, field_name, allow_zero=True)


def enqueue_notify(conn: Connection, clock: Clock, platform_no: str, service_name: str,
                   resp: dict[str, Any], biz_ref: str) -> int:
    """Queue one NOTIFY to the platform in the caller's transaction."""
    platform = platforms.get_platform(conn, platform_no)
    body = {"code": "0", "status": "SUCCESS", **{k: v for k, v in resp.items() if v is not None}}
    return outbox.enqueue(conn, platform_no=platform_no, service_name=service_name, notify_url=platform.notify_url,
                          resp_data=body, key_serial=NOTIFY_KEY_SERIAL, biz_ref=biz_ref, clock=clock)


def active_user(conn: Connection, platform_no: str, user_no: str, *, for_update: bool = False) -> User:
    user = get_user(conn, platform_no, user_no, for_update=for_update)
    if not user.active:
        raise UserUnavailable("platformUserNo: the user's account is not active", field="platformUserNo")
    return user


# ---------------------------------------------------------------- requests


@dataclass(frozen=True)
class RechargeRequest:
    """reqData of RECHARGE (gateway); the trade password is checked by the page first."""

    request_no: str
    platform_user_no: str
    amount: object
    expect_pay_company: str
    recharge_way: str
    commission: object = None
    bankcode: str | None = None
    pay_type: str | None = None
    authtrade_type: str | None = None
    authtender_amount: object = None
    project_no: str | None = None
    callback_mode: str | None = None
    swift_route: str | None = None
    redirect_url: str | None = None
    expired: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class DirectRechargeRequest:
    request_no: str
    platform_user_no: str
    amount: object
    expect_pay_company: str
    recharge_way: str
    commission: object = None
    bankcode: str | None = None
    callback_mode: str | None = None


@dataclass(frozen=True)
class RechargeResult:
    request_no: str
    platform_user_no: str
    recharge_status: str
    amount_fen: int
    commission_fen: int
    pay_company: str
    recharge_way: str
    bankcode: str | None = None
    channel_error_code: str | None = None
    channel_error_message: str | None = None


@dataclass(frozen=True)
class _Checked:
    request_no: str
    user_no: str
    amount_fen: int
    commission_fen: int
    company: str
    recharge_way: str
    pay_way: str
    bankcode: str | None
    pay_type: str | None
    callback_mode: str | None
    auth_trade_type: str | None = None
    auth_tender_fen: int | None = None
    project_no: str | None = None


def _cloud(conn: Connection) -> PaymentCloud:
    from cunguan.custody import money_runtime  # the runtime owns the process's payment cloud

    return money_runtime.get_runtime(conn.engine).cloud


def pay_request(row: dict, user: User) -> PayRequest:
    """The order we hand the company (same content on every start of this order number)."""
    if row["pay_way"] == "SWIFT":
        return PayRequest(row["order_no"], int(row["amount_fen"]), "SWIFT", bankcode=row["bankcode"],
                          card_no=user.bankcard_no, mobile=user.mobile)
    return PayRequest(row["order_no"], int(row["amount_fen"]), "WEB", bankcode=row["bankcode"],
                      pay_type=row["pay_type"])


def _check_route(cloud: PaymentCloud, checked: _Checked, user: User) -> None:
    probe = pay_request({"order_no": "CHECK", "amount_fen": checked.amount_fen, "pay_way": checked.pay_way,
                         "bankcode": checked.bankcode, "pay_type": checked.pay_type}, user)
    try:
        cloud.route(checked.company, probe)
    except PaymentCloudError as exc:
        field_name = "expectPayCompany" if exc.wire_code == "100006" else "bankcode"
        raise PaymentRouteRefused(exc.wire_code, str(exc), field=field_name) from None


def _check_common(conn: Connection, platform_no: str, request_no: object, user_no_value: object, amount: object,
                  commission: object, company: object, callback_mode: object) -> tuple[str, User, int, int, str, str | None]:
    check_platform_no(platform_no)
    request_no = requests.request_no(request_no)
    user_no = platform_user_no(user_no_value)
    amount = amount_fen(amount, "amount")
    commission = opt_amount_fen(commission, "commission")
    if commission >= amount:
        raise InvalidField("commission must be less than amount", field="commission")
    company_code = req_enum(company, "expectPayCompany", [c.value for c in PayCompany])
    mode = opt_enum(callback_mode, "callbackMode", CALLBACK_MODES)
    user = active_user(conn, platform_no, user_no)
    return request_no, user, amount, commission, company_code, mode


def _user_card(user: User, way: str, bankcode: str | None) -> str:
    if not user.bankcard_no or not user.bankcode:
        raise WrongState(f"{way} needs the user's bound bank card, and the user has none", field="platformUserNo")
    if bankcode is not None and bankcode != user.bankcode:
        raise InvalidField("bankcode is not the bank of the user's bound card", field="bankcode")
    return user.bankcode


def _insert(conn: Connection, clock: Clock, platform_no: str, service: str, user: User, c: _Checked) -> dict:
    now = now_us(clock)
    values = dict(
        platform_no=platform_no, request_no=c.request_no, service_name=service, platform_user_no=user.platform_user_no,
        user_id=user.id, order_no=f"CGR{uuid.uuid4().hex[:28].upper()}", amount_fen=c.amount_fen,
        commission_fen=c.commission_fen, pay_company=c.company, recharge_way=c.recharge_way, pay_way=c.pay_way,
        bankcode=c.bankcode, pay_type=c.pay_type,
        card_masked=mask_card(user.bankcard_no) or None if c.pay_way == "SWIFT" else None,
        pay_mobile_masked=mask_mobile(user.mobile) or None if c.pay_way == "SWIFT" else None,
        callback_mode=c.callback_mode, auth_trade_type=c.auth_trade_type, auth_tender_fen=c.auth_tender_fen,
        auth_tender_used_fen=0, project_no=c.project_no, status="PENDDING", start_state="NEW",
        created_us=now, updated_us=now, next_check_us=now)
    values["id"] = conn.execute(custody_recharges.insert().values(**values)).inserted_primary_key[0]
    return values


def _result(row: dict) -> RechargeResult:
    return RechargeResult(row["request_no"], row["platform_user_no"], row["status"], int(row["amount_fen"]),
                          int(row["commission_fen"]), row["pay_company"], row["recharge_way"],
                          row["bankcode"] if row["pay_way"] == "SWIFT" else None,
                          row.get("channel_error_code"), row.get("channel_error_message"))


def recharge(conn: Connection, clock: Clock, platform_no: str, req: RechargeRequest) -> RechargeResult:
    """RECHARGE, run by the bank page once the trade password is confirmed: record it PENDDING; the
    money worker starts the payment after commit."""
    request_no, user, amount, commission, company, mode = _check_common(
        conn, platform_no, req.request_no, req.platform_user_no, req.amount, req.commission,
        req.expect_pay_company, req.callback_mode)
    way = req_enum(req.recharge_way, "rechargeWay", PAGE_WAYS)
    bankcode = opt_text(req.bankcode, "bankcode", max_len=8)
    pay_type = opt_enum(req.pay_type, "payType", ("B2C", "B2B"))
    if way == "SWIFT":
        if bankcode is None:
            raise InvalidField("bankcode is required for SWIFT", field="bankcode")
        _user_card(user, way, bankcode)
        if pay_type is not None:
            raise InvalidField("payType is for WEB only", field="payType")
    elif bankcode is not None and pay_type is None:
        raise InvalidField("payType (B2C/B2B) is required for WEB with a bankcode", field="payType")
    opt_enum(req.swift_route, "swiftRoute", ("ORIGNAL_SWIFT", "NEW_SWIFT"))
    trade = opt_enum(req.authtrade_type, "authtradeType", ("TENDER",))
    tender_fen, project_no = None, None
    if trade is not None:
        tender_fen = amount_fen(req.authtender_amount, "authtenderAmount")
        project_no = req_text(req.project_no, "projectNo")
    elif opt(req.authtender_amount) is not None:
        raise InvalidField("authtenderAmount needs authtradeType TENDER", field="authtradeType")
    checked = _Checked(request_no, user.platform_user_no, amount, commission, company, way, way, bankcode, pay_type,
                       mode, trade, tender_fen, project_no)
    _check_route(_cloud(conn), checked, user)
    requests.claim(conn, clock, platform_no, request_no, PAGE_SERVICE, user.platform_user_no)
    row = _insert(conn, clock, platform_no, PAGE_SERVICE, user, checked)
    requests.record(conn, platform_no, request_no, user.platform_user_no, {"rechargeStatus": "PENDDING"})
    return _result(row)


def accept_direct_recharge(conn: Connection, clock: Clock, platform_no: str, req: DirectRechargeRequest) -> dict:
    """DIRECT_RECHARGE, step 1 (one transaction): check, consume the RECHARGE authorization, record."""
    request_no, user, amount, commission, company, mode = _check_common(
        conn, platform_no, req.request_no, req.platform_user_no, req.amount, req.commission,
        req.expect_pay_company, req.callback_mode)
    req_enum(req.recharge_way, "rechargeWay", ("PROXY",))
    bankcode = _user_card(user, "PROXY", opt_text(req.bankcode, "bankcode", max_len=8))
    checked = _Checked(request_no, user.platform_user_no, amount, commission, company, "PROXY", "SWIFT", bankcode,
                       None, mode)
    _check_route(_cloud(conn), checked, user)
    requests.claim(conn, clock, platform_no, request_no, DIRECT_SERVICE, user.platform_user_no)
    authorizations.require_authorization(conn, platform_no, user.platform_user_no, "RECHARGE", amount, clock.now(),
                                         consume=True)
    row = _insert(conn, clock, platform_no, DIRECT_SERVICE, user, checked)
    requests.record(conn, platform_no, request_no, user.platform_user_no, {"rechargeStatus": "PENDDING"})
    return row


def direct_recharge(engine: Engine, clock: Clock, cloud: PaymentCloud, platform_no: str,
                    req: DirectRechargeRequest) -> RechargeResult:
    """DIRECT_RECHARGE: record (one transaction), then start the payment at once (outside it)."""
    row = run_in_transaction(engine, lambda conn: accept_direct_recharge(conn, clock, platform_no, req))
    start_payment(engine, clock, cloud, int(row["id"]))
    with engine.connect() as conn:
        fresh = _row_by_id(conn, int(row["id"]))
    assert fresh is not None
    return _result(fresh)


# ---------------------------------------------------------------- the company's side


def _row_by_id(conn: Connection, recharge_id: int, *, lock: bool = False) -> dict | None:
    stmt = select(custody_recharges).where(custody_recharges.c.id == recharge_id)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def find_recharge(conn: Connection, platform_no: str, request_no: str) -> dict | None:
    row = conn.execute(select(custody_recharges).where(custody_recharges.c.platform_no == platform_no,
                                                       custody_recharges.c.request_no == request_no)).mappings().first()
    return dict(row) if row is not None else None


def notify_fields(row: dict) -> dict[str, Any]:
    """respData of NOTIFY RECHARGE / DIRECT_RECHARGE (§2.3)."""
    swift = row["pay_way"] == "SWIFT"
    resp: dict[str, Any] = {
        "requestNo": row["request_no"], "rechargeStatus": row["status"], "platformUserNo": row["platform_user_no"],
        "amount": fen_to_decimal(int(row["amount_fen"])), "commission": fen_to_decimal(int(row["commission_fen"])),
        "payCompany": row["pay_company"], "rechargeWay": row["recharge_way"],
        "bankcode": row["bankcode"] if swift else None, "payMobile": row["pay_mobile_masked"] if swift else None,
        "transactionTime": wire_time(row["paid_us"] or row["updated_us"]),
        "payCompanyRequestNo": row["company_order_no"],
    }
    if row["callback_mode"] == "DIRECT_CALLBACK":
        resp["channelErrorCode"] = row["channel_error_code"]
        resp["channelErrorMessage"] = row["channel_error_message"]
    return resp


def _notify(conn: Connection, clock: Clock, row: dict) -> None:
    if row["status"] == "SUCCESS" or row["callback_mode"] == "DIRECT_CALLBACK":
        enqueue_notify(conn, clock, row["platform_no"], row["service_name"], notify_fields(row), row["request_no"])


def start_payment(engine: Engine, clock: Clock, cloud: PaymentCloud, recharge_id: int) -> str | None:
    """Hand a NEW (or UNKNOWN) recharge to its company and record the answer. Returns the answer, or None
    when there was nothing to start."""
    with engine.connect() as conn:
        row = _row_by_id(conn, recharge_id)
        if row is None or row["status"] != "PENDDING" or row["start_state"] not in ("NEW", "UNKNOWN"):
            return None
        user = get_user(conn, row["platform_no"], row["platform_user_no"])
        conn.rollback()
    try:
        result = cloud.start(row["pay_company"], pay_request(row, user))
        answer, company_no, code, text = result.answer, result.company_order_no, result.error_code, result.error_message
    except PaymentCloudError as exc:  # e.g. the route was withdrawn since acceptance: a definite refusal
        answer, company_no, code, text = StartAnswer.REJECTED, None, "CE99", str(exc)[:100]

    def work(conn: Connection) -> str | None:
        current = _row_by_id(conn, recharge_id, lock=True)
        if current is None or current["status"] != "PENDDING" or current["start_state"] not in ("NEW", "UNKNOWN"):
            return None
        now = now_us(clock)
        if answer is StartAnswer.ACCEPTED:
            values = dict(start_state="SENT", company_order_no=company_no, next_check_us=now + POLL_AFTER_S * 1_000_000)
        elif answer is StartAnswer.REJECTED:
            values = dict(status="FAIL", start_state="DONE", company_order_no=company_no, channel_error_code=code,
                          channel_error_message=(text or "")[:100] or None, next_check_us=now)
        else:
            values = dict(start_state="UNKNOWN", next_check_us=now + POLL_AFTER_S * 1_000_000)
        conn.execute(update(custody_recharges).where(custody_recharges.c.id == recharge_id).values(
            updated_us=now, **values))
        fresh = {**current, **values, "updated_us": now}
        if answer is StartAnswer.REJECTED or (answer is StartAnswer.ACCEPTED and current["start_state"] == "NEW"):
            _notify(conn, clock, fresh)
        return answer.value

    return run_in_transaction(engine, work)


def apply_pay_result(engine: Engine, clock: Clock, *, company: str, order_no: str, status: PayStatus | str,
                     company_order_no: str | None = None, paid_at: dt.datetime | None = None,
                     fee_fen: int | None = None, error_code: str | None = None, error_message: str = "") -> str:
    """A final result from the company (notification or query). Idempotent: credits once.
    Returns APPLIED, DUPLICATE (already final) or UNKNOWN_ORDER."""
    status = PayStatus(status)
    assert status in (PayStatus.SUCCESS, PayStatus.FAIL)

    def work(conn: Connection) -> str:
        found = conn.execute(select(custody_recharges.c.id).where(
            custody_recharges.c.pay_company == company, custody_recharges.c.order_no == order_no)).first()
        if found is None:
            return "UNKNOWN_ORDER"
        row = _row_by_id(conn, int(found[0]), lock=True)
        assert row is not None
        if row["status"] != "PENDDING":
            return "DUPLICATE"
        now = now_us(clock)
        if status is PayStatus.SUCCESS:
            assert paid_at is not None
            paid_us = int((paid_at - us_to_dt(0)) / dt.timedelta(microseconds=1))
            values = dict(status="SUCCESS", start_state="DONE", company_order_no=company_order_no or row["company_order_no"],
                          pay_fee_fen=fee_fen, paid_us=paid_us,
                          pay_date=paid_at.astimezone(BEIJING).strftime("%Y%m%d"), next_check_us=now)
        else:
            values = dict(status="FAIL", start_state="DONE", company_order_no=company_order_no or row["company_order_no"],
                          channel_error_code=error_code, channel_error_message=(error_message or "")[:100] or None,
                          next_check_us=now)
        done = conn.execute(update(custody_recharges).where(custody_recharges.c.id == row["id"],
                                                            custody_recharges.c.status == "PENDDING")
                            .values(updated_us=now, **values))
        if done.rowcount != 1:
            return "DUPLICATE"
        fresh = {**row, **values, "updated_us": now}
        if status is PayStatus.SUCCESS:
            _credit(conn, fresh)
        _notify(conn, clock, fresh)
        return "APPLIED"

    return run_in_transaction(engine, work)


def _credit(conn: Connection, row: dict) -> None:
    platform_no = row["platform_no"]
    platform = platforms.get_platform(conn, platform_no)
    user = get_user(conn, platform_no, row["platform_user_no"])
    ref = f"recharge:{row['id']}"
    net = int(row["amount_fen"]) - int(row["commission_fen"])
    ops = [Transfer(platform.custody_account_id, user.ledger_account_id, net, "RECHARGE", ref,
                    key=f"{platform_no}:rc:{row['request_no']}")]
    if int(row["commission_fen"]):
        income = platforms.system_account(conn, platform_no, INCOME_ACCOUNT)
        assert income is not None
        ops.append(Transfer(platform.custody_account_id, income.account_id, int(row["commission_fen"]),
                            "RECHARGE_COMMISSION", ref, key=f"{platform_no}:rc:{row['request_no']}:commission"))
    ledger_store.apply(conn, ops, atomic=True)


def keep_pending(engine: Engine, clock: Clock, recharge_id: int, attempt_s: int) -> None:
    """Still PENDDING at the company: ask again later (backoff up to MAX_POLL_S)."""
    later = now_us(clock) + min(MAX_POLL_S, max(POLL_AFTER_S, attempt_s)) * 1_000_000
    run_in_transaction(engine, lambda conn: conn.execute(update(custody_recharges).where(
        custody_recharges.c.id == recharge_id, custody_recharges.c.status == "PENDDING").values(next_check_us=later)))


def poll_once(engine: Engine, clock: Clock, cloud: PaymentCloud, *, limit: int = 200) -> int:
    """Start NEW recharges and query the due PENDDING ones. Returns how many were looked at."""
    now = now_us(clock)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(custody_recharges).where(
            custody_recharges.c.status == "PENDDING", custody_recharges.c.next_check_us <= now)
            .order_by(custody_recharges.c.next_check_us).limit(limit)).mappings()]
        conn.rollback()
    for row in rows:
        if row["start_state"] == "NEW":
            start_payment(engine, clock, cloud, int(row["id"]))
            continue
        result = cloud.query(row["pay_company"], row["order_no"])
        if result.status in (PayStatus.SUCCESS, PayStatus.FAIL):
            apply_pay_result(engine, clock, company=row["pay_company"], order_no=row["order_no"], status=result.status,
                             company_order_no=result.company_order_no, paid_at=result.paid_at, fee_fen=result.fee_fen,
                             error_code=result.error_code, error_message=result.error_message)
        elif result.status is PayStatus.NOT_FOUND:
            run_in_transaction(engine, lambda c, rid=row["id"]: c.execute(update(custody_recharges).where(
                custody_recharges.c.id == rid, custody_recharges.c.status == "PENDDING").values(start_state="UNKNOWN")))
            start_payment(engine, clock, cloud, int(row["id"]))  # never received: the same order again
        else:
            age_s = (now - int(row["created_us"])) // 1_000_000
            keep_pending(engine, clock, int(row["id"]), int(age_s))
    return len(rows)


# ---------------------------------------------------------------- what others ask


def unsettled_fen(conn: Connection, platform_no: str, user_no: str) -> int:
    """The user's successful recharges (credited part) not yet settled, net of what was already
    advanced (垫资) against them."""
    from cunguan.custody.advances import outstanding_for_user

    rows = conn.execute(select(custody_recharges.c.amount_fen, custody_recharges.c.commission_fen).where(
        custody_recharges.c.platform_no == platform_no, custody_recharges.c.platform_user_no == user_no,
        custody_recharges.c.status == "SUCCESS", custody_recharges.c.settled_date.is_(None))).all()
    total = sum(int(a) - int(c) for a, c in rows)
    return max(0, total - outstanding_for_user(conn, platform_no, user_no))


def recharge_bid_authority(conn: Connection, platform_no: str, user_no: str, original_recharge_no: str,
                           amount_fen: int, project_no: str) -> None:
    """USER_AUTO_PRE_TRANSACTION with `originalRechargeNo`: the recharge must be this user's, SUCCESS,
    made with authtradeType TENDER for `project_no`, and `amount_fen` within what remains of its
    authtenderAmount (consumed here, in the caller's transaction). Else NotAuthorized (100011)."""
    assert isinstance(amount_fen, int) and amount_fen > 0
    row = find_recharge(conn, platform_no, original_recharge_no)
    if row is not None and conn.dialect.name == "postgresql":
        row = _row_by_id(conn, int(row["id"]), lock=True)
    if row is None or row["platform_user_no"] != user_no:
        raise NotAuthorized("originalRechargeNo is not a recharge of this user", field="originalRechargeNo")
    if row["status"] != "SUCCESS":
        raise NotAuthorized("originalRechargeNo has not succeeded", field="originalRechargeNo")
    if row["auth_trade_type"] != "TENDER" or row["auth_tender_fen"] is None:
        raise NotAuthorized("originalRechargeNo carries no recharge-and-bid (TENDER) authorization",
                            field="originalRechargeNo")
    if row["project_no"] != project_no:
        raise NotAuthorized("projectNo is not the project the recharge authorized", field="projectNo")
    done = conn.execute(update(custody_recharges).where(
        custody_recharges.c.id == row["id"],
        custody_recharges.c.auth_tender_used_fen + amount_fen <= custody_recharges.c.auth_tender_fen,
    ).values(auth_tender_used_fen=custody_recharges.c.auth_tender_used_fen + amount_fen))
    if done.rowcount != 1:
        raise NotAuthorized("amount exceeds what remains of the recharge's authtenderAmount", field="amount")
