"""Web-banking pages of cross-bank fund collection (server-rendered Jinja2, plain HTML forms).

Routes only read the form, call the business functions and render; errors of the business layer are
shown on the page they came from. The session is the HttpOnly, SameSite=Lax cookie set at login
(shared with the JSON API), which also keeps other sites from posting these forms with it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from cunguan.db.tx import run_in_transaction
from cunguan.money import format_yuan
from cunguan.retail import auth
from cunguan.retail import store as retail
from cunguan.retail.errors import RetailError
from cunguan.sweep import agreements, manual, queries
from cunguan.sweep import cycle as cyc
from cunguan.sweep import rules as rules_mod
from cunguan.sweep.context import SweepContext
from cunguan.sweep.errors import SweepError

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
router = APIRouter(prefix="/sweep", include_in_schema=False)
DONE = {
    "signed": "他行账户已添加，查询协议与支付协议已签约。",
    "created": "归集规则已设置，次日起生效。",
    "modified": "归集规则已修改，下次执行时生效。",
    "deleted": "归集规则已删除，签约协议保留。",
    "renewed": "支付协议已续约。",
    "resigned": "已重新签订指定收款人的支付协议。",
    "cancelled": "他行账户已解约。",
}
MODE_LABEL = {"FULL": "全部", "RETAIN": "超过留存金额的部分", "FIXED": "定额"}


def _ctx(request: Request) -> SweepContext:
    from cunguan.api.sweep import sweep_context

    return sweep_context(request)


def _customer(request: Request) -> int | None:
    from cunguan.api.sweep import session_token

    ctx = _ctx(request)
    with ctx.engine.connect() as conn:
        return auth.session_customer(conn, ctx.clock, session_token(request))


def _render(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    ctx = _ctx(request)
    context.setdefault("fee", format_yuan(ctx.config.customer_fee_fen))
    context.setdefault("today", ctx.today().isoformat())
    return TEMPLATES.TemplateResponse(request, f"sweep/{name}", context, status_code=status)


def _go(path: str, **params) -> RedirectResponse:
    return RedirectResponse(path + (("?" + urlencode(params)) if params else ""), status_code=303)


def _login_required(request: Request) -> int | RedirectResponse:
    cid = _customer(request)
    return cid if cid is not None else _go("/sweep/login")


def _page_data(request: Request, customer_id: int) -> dict:
    ctx = _ctx(request)
    with ctx.engine.connect() as conn:
        cust = retail.get_customer(conn, customer_id)
        accounts = [a for a in retail.accounts_of(conn, customer_id)]
        return dict(
            customer=cust,
            accounts=[dict(id=a.id, masked=a.masked, kind=retail.KIND_LABEL[a.kind], online=a.online_banking,
                           balance=format_yuan(retail.balance_fen(conn, a))) for a in accounts],
            others=agreements.other_accounts_of(conn, customer_id),
            rules=queries.rule_list(conn, ctx, customer_id),
        )


# ---------------------------------------------------------------- login


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return _render(request, "login.html", error=None)


@router.post("/login")
async def login_submit(request: Request) -> Response:
    from cunguan.api.sweep import COOKIE

    form = await request.form()
    ctx = _ctx(request)
    try:
        token, _cid = run_in_transaction(ctx.engine, lambda c: auth.login(
            c, ctx.clock, str(form.get("login_name", ""))[:40], str(form.get("password", ""))[:64]))
    except RetailError as exc:
        return _render(request, "login.html", 401, error=exc.message)
    resp = _go("/sweep/")
    resp.set_cookie(COOKIE, token, httponly=True, samesite="lax", max_age=auth.SESSION_TTL_S, path="/")
    return resp


@router.post("/logout")
def logout(request: Request) -> Response:
    from cunguan.api.sweep import COOKIE, session_token

    token = session_token(request)
    if token:
        run_in_transaction(_ctx(request).engine, lambda c: auth.logout(c, token))
    resp = _go("/sweep/login")
    resp.delete_cookie(COOKIE, path="/")
    return resp


# ---------------------------------------------------------------- home: rule list + manual run


@router.get("/", response_class=HTMLResponse)
def home(request: Request, done: str | None = None) -> Response:
    cid = _login_required(request)
    if isinstance(cid, RedirectResponse):
        return cid
    return _render(request, "home.html", notice=DONE.get(done or ""), error=None, **_page_data(request, cid))


@router.post("/manual")
async def manual_run(request: Request) -> Response:
    cid = _login_required(request)
    if isinstance(cid, RedirectResponse):
        return cid
    form = await request.form()
    try:
        ids = [int(v) for v in form.getlist("rule_id")][: manual.MAX_RULES_PER_MANUAL_RUN]
    except ValueError:
        ids = []
    try:
        result = manual.run_manual(_ctx(request), cid, ids or None)
    except SweepError as exc:
        return _render(request, "home.html", exc.http_status, notice=None, error=exc.message,
                       **_page_data(request, cid))
    runs = [dict(rule_id=o.rule_id, status=o.status, moved=format_yuan(o.moved_fen), reject_code=o.reject_code,
                 reason=o.reason) for o in result.outcomes]
    return _render(request, "manual_result.html", runs=runs, busy=result.busy_rule_ids,
                   total=format_yuan(result.moved_fen))


# ---------------------------------------------------------------- other-bank accounts and agreements


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, done: str | None = None) -> Response:
    cid = _login_required(request)
    if isinstance(cid, RedirectResponse):
        return cid
    return _render(request, "accounts.html", notice=DONE.get(done or ""), error=None, form={},
                   **_page_data(request, cid))


@router.post("/accounts")
async def accounts_add(request: Request) -> Response:
    cid = _login_required(request)
    if isinstance(cid, RedirectResponse):
        return cid
    form = {k: str(v)[:100].strip() for k, v in (await request.form()).items()}
    try:
        agreements.add_other_account(_ctx(request), cid, bank_no=form.get("bank_no", ""),
                                     bank_name=form.get("bank_name", ""), account_no=form.get("account_no", ""),
                                     holder_name=form.get("holder_name", ""),
                                     payee_account_id=int(form.get("payee_account_id") or 0))
    except (SweepError, RetailError, ValueError) as exc:
        return _render(request, "accounts.html", getattr(exc, "http_status", 400), notice=None,
                       error=getattr(exc, "message", "invalid input"), form=form, **_page_data(request, cid))
    return _go("/sweep/accounts", done="signed")


async def _account_action(request: Request, other_id: int, action: str) -> Response:
    cid = _login_required(request)
    if isinstance(cid, RedirectResponse):
        return cid
    ctx = _ctx(request)
    fn = {"renew": agreements.renew_agreement, "resign": agreements.resign_payment_agreement,
          "cancel": agreements.cancel_other_account}[action]
    try:
        fn(ctx, cid, other_id)
    except SweepError as exc:
        return _render(request, "accounts.html", exc.http_status, notice=None, error=exc.message, form={},
                       **_page_data(request, cid))
    return _go("/sweep/accounts", done={"renew": "renewed", "resign": "resigned", "cancel": "cancelled"}[action])


@router.post("/accounts/{other_id}/renew")
async def accounts_renew(request: Request, other_id: int) -> Response:
    return await _account_action(request, other_id, "renew")


@router.post("/accounts/{other_id}/resign")
async def accounts_resign(request: Request, other_id: int) -> Response:
    return await _account_action(request, other_id, "resign")


@router.post("/accounts/{other_id}/cancel")
async def accounts_cancel(request: Request, other_id: int) -> Response:
    return await _account_action(request, other_id, "cancel")


# ---------------------------------------------------------------- rules


def _rule_form_values(form) -> tuple[str, int | None, int]:
    from cunguan.api.sweep import parse_amount, parse_cycle

    mode = str(form.get("mode", ""))
    amount = None
    if mode == "RETAIN":
        amount = parse_amount(str(form.get("retain_amount", "")).strip() or None)
    elif mode == "FIXED":
        amount = parse_amount(str(form.get("fixed_amount", "")).strip() or None)
    return mode, amount, parse_cycle(str(form.get("cycle", "")))


@router.get("/rules/new", response_class=HTMLResponse)
def rule_new(request: Request) -> Response:
    cid = _login_required(request)
    if isinstance(cid, RedirectResponse):
        return cid
    return _render(request, "rule_form.html", rule=None, error=None, form={}, **_page_data(request, cid))


@router.post("/rules/new")
async def rule_create(request: Request) -> Response:
    cid = _login_required(request)
    if isinstance(cid, RedirectResponse):
        return cid
    form = await request.form()
    try:
        mode, amount, cycle = _rule_form_values(form)
        rules_mod.create_rule(_ctx(request), cid, other_account_id=int(form.get("other_account_id") or 0),
                              collecting_account_id=int(form.get("collecting_account_id") or 0), mode=mode,
                              amount_fen=amount, cycle=cycle)
    except (SweepError, RetailError, ValueError) as exc:
        return _render(request, "rule_form.html", getattr(exc, "http_status", 400), rule=None,
                       error=getattr(exc, "message", "invalid input"), form=dict(form), **_page_data(request, cid))
    return _go("/sweep/", done="created")


@router.get("/rules/{rule_id}/edit", response_class=HTMLResponse)
def rule_edit(request: Request, rule_id: int) -> Response:
    cid = _login_required(request)
    if isinstance(cid, RedirectResponse):
        return cid
    data = _page_data(request, cid)
    rule = next((r for r in data["rules"] if r["id"] == rule_id), None)
    if rule is None:
        return _render(request, "home.html", 404, notice=None, error="no such rule", **data)
    return _render(request, "rule_form.html", rule=rule, error=None, form={}, **data)


@router.post("/rules/{rule_id}/edit")
async def rule_modify(request: Request, rule_id: int) -> Response:
    cid = _login_required(request)
    if isinstance(cid, RedirectResponse):
        return cid
    form = await request.form()
    try:
        mode, amount, cycle = _rule_form_values(form)
        rules_mod.modify_rule(_ctx(request), cid, rule_id, mode=mode, amount_fen=amount, cycle=cycle)
    except (SweepError, ValueError) as exc:
        data = _page_data(request, cid)
        rule = next((r for r in data["rules"] if r["id"] == rule_id), None)
        return _render(request, "rule_form.html", getattr(exc, "http_status", 400), rule=rule,
                       error=getattr(exc, "message", "invalid input"), form=dict(form), **data)
    return _go("/sweep/", done="modified")


@router.post("/rules/{rule_id}/delete")
def rule_delete(request: Request, rule_id: int) -> Response:
    cid = _login_required(request)
    if isinstance(cid, RedirectResponse):
        return cid
    try:
        rules_mod.delete_rule(_ctx(request), cid, rule_id)
    except SweepError as exc:
        return _render(request, "home.html", exc.http_status, notice=None, error=exc.message,
                       **_page_data(request, cid))
    return _go("/sweep/", done="deleted")


# ---------------------------------------------------------------- detail query and download


def _range(request: Request, date_from: str | None, date_to: str | None) -> tuple[dt.date, dt.date]:
    today = _ctx(request).today()
    try:
        start = dt.date.fromisoformat(date_from) if date_from else today - dt.timedelta(days=90)
        end = dt.date.fromisoformat(date_to) if date_to else today + dt.timedelta(days=31)
    except ValueError:
        start, end = today - dt.timedelta(days=90), today + dt.timedelta(days=31)
    return start, end


@router.get("/rules/{rule_id}/runs", response_class=HTMLResponse)
def rule_runs(request: Request, rule_id: int, date_from: str | None = None, date_to: str | None = None) -> Response:
    cid = _login_required(request)
    if isinstance(cid, RedirectResponse):
        return cid
    start, end = _range(request, date_from, date_to)
    ctx = _ctx(request)
    try:
        with ctx.engine.connect() as conn:
            runs = queries.run_details(conn, cid, rule_id, start, end)
    except SweepError as exc:
        return _render(request, "home.html", exc.http_status, notice=None, error=exc.message,
                       **_page_data(request, cid))
    return _render(request, "runs.html", rule_id=rule_id, runs=runs, date_from=start.isoformat(),
                   date_to=end.isoformat())


@router.get("/rules/{rule_id}/runs.{fmt}")
def rule_runs_download(request: Request, rule_id: int, fmt: str, date_from: str | None = None,
                       date_to: str | None = None) -> Response:
    cid = _login_required(request)
    if isinstance(cid, RedirectResponse):
        return cid
    if fmt not in ("csv", "xlsx"):
        return Response("unknown format", status_code=404)
    start, end = _range(request, date_from, date_to)
    ctx = _ctx(request)
    try:
        with ctx.engine.connect() as conn:
            runs = queries.run_details(conn, cid, rule_id, start, end)
    except SweepError as exc:
        return Response(exc.message, status_code=exc.http_status)
    name = f"sweep-rule{rule_id}-{start:%Y%m%d}-{end:%Y%m%d}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return Response("\ufeff" + queries.to_csv(runs), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(queries.to_xlsx(runs), headers=headers,
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def install(app: FastAPI) -> None:
    app.include_router(router)
    TEMPLATES.env.globals.update(MODE_LABEL=MODE_LABEL, cycle_days=list(range(1, 32)), MONTH_END=cyc.MONTH_END)
