"""JSON API of cross-bank fund collection for web and mobile banking: /api/sweep/... (OpenAPI at /docs).

Login: POST /api/sweep/login answers a session token and also sets it as an HttpOnly cookie
(`cg_sweep_session`); the web pages use the cookie, the mobile app sends `Authorization: Bearer <token>`.
Handlers only parse, call the business function and shape the answer; typed errors become
`{"error": {"code", "message"}}` with a fitting HTTP status (429 + Retry-After for the cooldown).
Amounts go out as yuan strings with two decimals and come in as whole yuan (string or integer).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from cunguan.db.tx import run_in_transaction
from cunguan.money import AmountError, format_yuan, parse_yuan
from cunguan.retail import auth
from cunguan.retail import store as retail
from cunguan.retail.errors import RetailError
from cunguan.sweep import agreements, manual, queries
from cunguan.sweep import cycle as cyc
from cunguan.sweep import rules as rules_mod
from cunguan.sweep.context import SweepContext
from cunguan.sweep.errors import Cooldown, InvalidInput, SweepError

COOKIE = "cg_sweep_session"
router = APIRouter(prefix="/api/sweep", tags=["sweep"])


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def sweep_context(request: Request) -> SweepContext:
    """The app's collection context (built on first use unless a test or the server set one)."""
    ctx = getattr(request.app.state, "sweep_ctx", None)
    if ctx is None:
        from cunguan.sweep.runtime import default_context

        ctx = request.app.state.sweep_ctx = default_context(request.app.state.engine)
    return ctx


def session_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE)


def current_customer(request: Request, ctx: SweepContext = Depends(sweep_context)) -> int:
    with ctx.engine.connect() as conn:
        cid = auth.session_customer(conn, ctx.clock, session_token(request))
    if cid is None:
        raise ApiError(401, "NOT_LOGGED_IN", "log in to online banking first")
    return cid


Ctx = Annotated[SweepContext, Depends(sweep_context)]
CustomerId = Annotated[int, Depends(current_customer)]


# ---------------------------------------------------------------- models


class LoginIn(BaseModel):
    login_name: str = Field(min_length=1, max_length=40)
    password: str = Field(min_length=1, max_length=64)


class OtherAccountIn(BaseModel):
    bank_no: str = Field(min_length=12, max_length=12, description="CNAPS bank number (人行行号), 12 digits")
    bank_name: str = Field(default="", max_length=60)
    account_no: str = Field(min_length=8, max_length=32)
    holder_name: str = Field(min_length=1, max_length=100)
    payee_account_id: int = Field(description="the collecting account at our bank (named payee of the agreement)")


class RuleIn(BaseModel):
    other_account_id: int
    collecting_account_id: int
    mode: Literal["FULL", "RETAIN", "FIXED"]
    amount: str | int | None = Field(default=None, description="R (RETAIN) or F (FIXED), whole yuan")
    cycle: str | int = Field(description="execution day 1-31 or MONTH_END")


class RulePatch(BaseModel):
    mode: Literal["FULL", "RETAIN", "FIXED"] | None = None
    amount: str | int | None = None
    cycle: str | int | None = None


class ManualIn(BaseModel):
    rule_ids: list[int] | None = Field(default=None, max_length=manual.MAX_RULES_PER_MANUAL_RUN,
                                       description="omit to run all of the customer's effective rules")


# ---------------------------------------------------------------- helpers


def parse_amount(value: str | int | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_yuan(value, field="amount", allow_zero=True)
    except AmountError as exc:
        raise InvalidInput(str(exc)) from None


def parse_cycle(value: str | int) -> int:
    try:
        return cyc.parse_cycle(value)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def other_json(a: agreements.OtherAccount) -> dict:
    return dict(id=a.id, bank_no=a.bank_no, bank_name=a.bank_name, account=a.masked, holder_name=a.holder_name,
                payee_account_id=a.payee_account_id, names_payee=a.names_payee, status=a.status,
                agreement_start=a.start_date.isoformat() if a.start_date else None,
                agreement_end=a.end_date.isoformat() if a.end_date else None)


def account_json(conn, a: retail.Account) -> dict:
    return dict(id=a.id, account=a.masked, kind=a.kind.value, kind_label=retail.KIND_LABEL[a.kind],
                online_banking=a.online_banking, balance=format_yuan(retail.balance_fen(conn, a)))


def fee_json(ctx: SweepContext) -> dict:
    return dict(customer_fee_per_transfer=format_yuan(ctx.config.customer_fee_fen),
                per_transfer_cap=format_yuan(ctx.config.limits.per_transfer_cap_fen),
                max_transfers=ctx.config.limits.max_transfers,
                reserve_per_transfer=format_yuan(ctx.config.limits.reserve_per_transfer_fen),
                cooldown_seconds=ctx.config.cooldown_s)


def rule_json(conn, ctx: SweepContext, rule: rules_mod.Rule) -> dict:
    return next(r for r in queries.rule_list(conn, ctx, rule.customer_id) if r["id"] == rule.id)


# ---------------------------------------------------------------- routes


@router.post("/login")
def login(body: LoginIn, response: Response, ctx: Ctx) -> dict:
    token, cid = run_in_transaction(ctx.engine, lambda c: auth.login(c, ctx.clock, body.login_name, body.password))
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", max_age=auth.SESSION_TTL_S, path="/")
    return {"token": token, "customer_id": cid, "expires_in": auth.SESSION_TTL_S}


@router.post("/logout")
def logout(request: Request, response: Response, ctx: Ctx) -> dict:
    token = session_token(request)
    if token:
        run_in_transaction(ctx.engine, lambda c: auth.logout(c, token))
    response.delete_cookie(COOKIE, path="/")
    return {"ok": True}


@router.get("/me")
def me(ctx: Ctx, customer_id: CustomerId) -> dict:
    with ctx.engine.connect() as conn:
        c = retail.get_customer(conn, customer_id)
        return dict(customer_no=c.customer_no, name=c.name, mobile="*" * 7 + c.mobile[-4:],
                    accounts=[account_json(conn, a) for a in retail.accounts_of(conn, customer_id)],
                    other_accounts=[other_json(a) for a in agreements.other_accounts_of(conn, customer_id)],
                    fees=fee_json(ctx))


@router.get("/other-accounts")
def list_other_accounts(ctx: Ctx, customer_id: CustomerId) -> list[dict]:
    with ctx.engine.connect() as conn:
        return [other_json(a) for a in agreements.other_accounts_of(conn, customer_id)]


@router.post("/other-accounts", status_code=201)
def add_other_account(body: OtherAccountIn, ctx: Ctx, customer_id: CustomerId) -> dict:
    """Add an other-bank account: signs the query and the payment agreement over IBPS."""
    return other_json(agreements.add_other_account(
        ctx, customer_id, bank_no=body.bank_no, bank_name=body.bank_name, account_no=body.account_no,
        holder_name=body.holder_name, payee_account_id=body.payee_account_id))


@router.post("/other-accounts/{other_id}/renew")
def renew(other_id: int, ctx: Ctx, customer_id: CustomerId) -> dict:
    return other_json(agreements.renew_agreement(ctx, customer_id, other_id))


@router.post("/other-accounts/{other_id}/resign")
def resign(other_id: int, ctx: Ctx, customer_id: CustomerId) -> dict:
    """Replace a payment agreement that names no payee with a new one."""
    return other_json(agreements.resign_payment_agreement(ctx, customer_id, other_id))


@router.delete("/other-accounts/{other_id}")
def cancel(other_id: int, ctx: Ctx, customer_id: CustomerId) -> dict:
    agreements.cancel_other_account(ctx, customer_id, other_id)
    return {"ok": True}


@router.get("/rules")
def list_rules(ctx: Ctx, customer_id: CustomerId) -> list[dict]:
    with ctx.engine.connect() as conn:
        return queries.rule_list(conn, ctx, customer_id)


@router.post("/rules", status_code=201)
def create_rule(body: RuleIn, ctx: Ctx, customer_id: CustomerId) -> dict:
    rule = rules_mod.create_rule(ctx, customer_id, other_account_id=body.other_account_id,
                                 collecting_account_id=body.collecting_account_id, mode=body.mode,
                                 amount_fen=parse_amount(body.amount), cycle=parse_cycle(body.cycle))
    with ctx.engine.connect() as conn:
        out = rule_json(conn, ctx, rule)
    out["warning"] = ("days 29-31 run on the last day of months that do not have them"
                      if cyc.warns_short_months(rule.cycle) else None)
    return out


@router.patch("/rules/{rule_id}")
def modify_rule(rule_id: int, body: RulePatch, ctx: Ctx, customer_id: CustomerId) -> dict:
    """Only the mode (with its amount) and the cycle can change; effective at the next execution."""
    rule = rules_mod.modify_rule(ctx, customer_id, rule_id, mode=body.mode, amount_fen=parse_amount(body.amount),
                                 cycle=None if body.cycle is None else parse_cycle(body.cycle))
    with ctx.engine.connect() as conn:
        return rule_json(conn, ctx, rule)


@router.delete("/rules/{rule_id}")
def delete_rule(rule_id: int, ctx: Ctx, customer_id: CustomerId) -> dict:
    """Removes the rule only; the agreements stay signed."""
    rule = rules_mod.delete_rule(ctx, customer_id, rule_id)
    return {"id": rule.id, "status": rule.status}


@router.post("/manual-runs")
def manual_run(body: ManualIn, ctx: Ctx, customer_id: CustomerId) -> dict:
    result = manual.run_manual(ctx, customer_id, body.rule_ids)
    return dict(moved=format_yuan(result.moved_fen), busy_rule_ids=result.busy_rule_ids,
                runs=[dict(run_id=o.run_id, rule_id=o.rule_id, status=o.status, moved=format_yuan(o.moved_fen),
                           reject_code=o.reject_code, reason=o.reason) for o in result.outcomes])


@router.get("/rules/{rule_id}/runs")
def rule_runs(rule_id: int, ctx: Ctx, customer_id: CustomerId,
              date_from: Annotated[dt.date, Query(alias="from")],
              date_to: Annotated[dt.date, Query(alias="to")]) -> list[dict]:
    """Each run and each transfer (serial, amount, status, reject code, time) in the date range."""
    with ctx.engine.connect() as conn:
        return queries.run_details(conn, customer_id, rule_id, date_from, date_to)


# ---------------------------------------------------------------- errors


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Mount the API and the web pages, and map the typed errors of collection and retail."""
    from cunguan.web import sweep_pages

    app.include_router(router)
    sweep_pages.install(app)

    @app.exception_handler(ApiError)
    async def _api_error(_req: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(SweepError)
    async def _sweep_error(_req: Request, exc: SweepError) -> JSONResponse:
        headers = {"Retry-After": str(exc.seconds_remaining)} if isinstance(exc, Cooldown) else None
        return _error(exc.http_status, exc.code, exc.message, headers)

    @app.exception_handler(RetailError)
    async def _retail_error(_req: Request, exc: RetailError) -> JSONResponse:
        status = {"LOGIN_FAILED": 401, "UNKNOWN_CUSTOMER": 404, "UNKNOWN_ACCOUNT": 404, "DUPLICATE": 409}
        return _error(status.get(exc.code, 400), exc.code, exc.message)
