"""The bank's own pages for the gateway user services (protocol §1.7), at {base}/gateway/page/{token}.

The verified `{base}/gateway` request stored a page session and sent the browser here with a 303
and this page's CSRF secret in an HttpOnly, SameSite=Lax cookie scoped to the page's path (see
api/lanmao/user_handlers.py). Every POST must carry the same secret in the form and the cookie, and
its hash must be the session's; so another site cannot post the form, and the page only works in the
browser the platform sent here.

Routes only read the form, call custody/user_services, and render. Passwords are read from the form
and handed on; they are never rendered back, logged, or stored anywhere but as an argon2 hash. On
completion the page auto-posts the signed CALLBACK to `redirectUrl` (the NOTIFY was queued in the
same transaction as the change). Layout by `userDevice`: MOBILE gets the H5 layout, anything else PC.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from cunguan.api.lanmao.router import runtime
from cunguan.api.lanmao.user_handlers import PAGE_COOKIE as CSRF_COOKIE
from cunguan.api.lanmao.user_handlers import PAGE_PATH
from cunguan.custody import user_catalog, user_services
from cunguan.custody.errors import CustodyError
from cunguan.custody.masking import mask_card, mask_id_card, mask_mobile
from cunguan.custody.user_services import PageSession

log = logging.getLogger("cunguan.pages")
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
MAX_FORM_FIELDS = 30
MAX_VALUE_CHARS = 200

TITLES = {
    "PERSONAL_REGISTER_EXPAND": "个人开户",
    "ENTERPRISE_REGISTER": "企业开户",
    "PERSONAL_BIND_BANKCARD_EXPAND": "绑定 / 更换银行卡",
    "ENTERPRISE_BIND_BANKCARD": "企业更换银行账户",
    "UNBIND_BANKCARD": "解绑银行卡",
    "RESET_PASSWORD": "重置交易密码",
    "CHECK_PASSWORD": "验证交易密码",
    "MODIFY_MOBILE_EXPAND": "修改银行预留手机号",
    "ENTERPRISE_INFORMATION_UPDATE": "企业信息修改",
    "USER_AUTHORIZATION": "用户授权",
    "USER_PRE_TRANSACTION": "投标 / 还款 / 债权认购确认（冻结资金）", "VERIFY_DEDUCT": "验密扣费",
    "ACTIVATE_STOCKED_USER": "会员激活",
    "RECHARGE": "充值",
    "WITHDRAW": "提现",
}
LABELS = {
    "real_name": "真实姓名", "id_card_no": "身份证号", "bankcard_no": "银行卡号", "mobile": "银行预留手机号",
    "bankcode": "开户银行编码", "contact_phone": "联系人手机", "enterprise_name": "企业名称",
    "auth_list": "授权类型", "fail_time": "授权截止日", "amount": "授权金额上限（元）",
    "biz_type_description": "业务说明", "user_role": "用户角色", "contact": "联系人", "legal": "法人",
}
SECRET_FIELDS = ("password", "password_confirm", "new_password", "old_password")
TYPED_FIELDS = ("real_name", "id_card_no", "bankcard_no", "mobile", "bankcode")
_MASKS = {"id_card_no": mask_id_card, "bankcard_no": mask_card, "mobile": mask_mobile,
          "contact_phone": mask_mobile}
_SHOWN = {
    "ENTERPRISE_REGISTER": ("enterprise_name", "legal", "contact", "contact_phone", "bankcard_no", "bankcode"),
    "ENTERPRISE_INFORMATION_UPDATE": ("enterprise_name", "legal", "contact", "contact_phone"),
    "USER_AUTHORIZATION": ("auth_list", "fail_time", "amount"),
    "CHECK_PASSWORD": ("biz_type_description",),
}


def page_prefix(request: Request) -> str:
    return f"{request.app.state.settings.lanmao_prefix}{PAGE_PATH}"


def _layout(session: PageSession | None) -> str:
    return "mobile" if session is not None and session.user_device == "MOBILE" else "pc"


def _shown(value: Any) -> str:
    return str(value)[:MAX_VALUE_CHARS]


def _fields(session: PageSession, typed: dict[str, str]) -> list[dict[str, Any]]:
    """The inputs: prefilled ones read-only (masked), the rest typed by the user."""
    out = []
    for name in session.rule.typed:
        pre = session.prefilled(name)
        if pre is not None:
            shown = _MASKS.get(name, _shown)(str(pre))
            out.append({"name": name, "label": LABELS.get(name, name), "value": shown, "editable": False})
        else:
            out.append({"name": name, "label": LABELS.get(name, name), "value": typed.get(name, ""),
                        "editable": True})
    return out


def _details(session: PageSession, summary: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = [("平台用户编号", session.platform_user_no), ("业务流水号", session.request_no)]
    if summary.get("name"):
        rows.append(("姓名 / 名称", summary["name"]))
    if summary.get("bankcard"):
        rows.append(("已绑定银行卡", summary["bankcard"]))
    for name in _SHOWN.get(session.service_name, ()):
        pre = session.prefilled(name)
        if pre is not None:
            rows.append((LABELS.get(name, name), _MASKS.get(name, _shown)(str(pre))))
    return rows


def _render(request: Request, name: str, status: int = 200, *, form_action: str = "'self'",
            **context: Any) -> HTMLResponse:
    context.setdefault("layout", "pc")
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _refused(request: Request, exc: CustodyError, session: PageSession | None = None) -> HTMLResponse:
    status = getattr(exc, "http_status", 400)
    return _render(request, "gateway/refused.html", status, layout=_layout(session), error_code=exc.code,
                   message=exc.message, session=session)


def _page(request: Request, session: PageSession, token: str, *, typed: dict[str, str] | None = None,
          error: CustodyError | None = None, notice: str | None = None) -> HTMLResponse:
    typed = typed or {}
    summary = user_services.user_summary(request.app.state.engine, session)
    rule = session.rule
    error_field = None
    if error is not None and error.field:
        error_field = error.field
    return _render(
        request, "gateway/page.html", 200 if error is None else 422, layout=_layout(session), session=session,
        title=TITLES[session.service_name], details=_details(session, summary), fields=_fields(session, typed),
        needs_sms=user_services.sms_required(request.app.state.engine, session), password_mode=rule.password,
        remember=session.prefilled("is_skip") == "Remember", id_card_typed="",
        csrf=request.cookies.get(CSRF_COOKIE, ""), action=f"{page_prefix(request)}/{token}",
        error=error.message if error is not None else None, error_field=error_field,
        camel=user_catalog.camel, notice=notice, sms_mobile=mask_mobile(session.sms_mobile) or None)


def _callback(request: Request, finished: user_services.Finished, token: str) -> HTMLResponse:
    """The auto-posting CALLBACK form (§1.7 step 3a), signed over respData with the bank key."""
    session = finished.session
    sign = runtime(request.app).bank_sign(finished.resp_data.encode("utf-8"))
    fields = {"platformNo": session.platform_no, "serviceName": session.service_name,
              "responseType": "CALLBACK", "keySerial": session.key_serial, "respData": finished.resp_data,
              "userDevice": session.user_device or "PC", "sign": sign}
    target = urlsplit(session.redirect_url)
    response = _render(request, "gateway/callback.html", form_action=f"{target.scheme}://{target.netloc}",
                       layout=_layout(session), target=session.redirect_url,
                       fields=fields, title=TITLES[session.service_name])
    response.delete_cookie(CSRF_COOKIE, path=f"{page_prefix(request)}/{token}")
    return response


async def show_page(request: Request, token: str) -> Response:
    rt = runtime(request.app)
    try:
        session = await run_in_threadpool(user_services.load, rt.engine, rt.clock, token)
    except CustodyError as exc:
        return _refused(request, exc)
    return await run_in_threadpool(_page, request, session, token)


def _form_values(form) -> tuple[dict[str, str], dict[str, str], str, str, str]:
    typed = {k: str(form.get(k) or "")[:MAX_VALUE_CHARS] for k in TYPED_FIELDS if form.get(k) is not None}
    secrets_ = {k: str(form.get(k) or "")[:MAX_VALUE_CHARS] for k in SECRET_FIELDS if form.get(k) is not None}
    return (typed, secrets_, str(form.get("action") or ""), str(form.get("csrf") or ""),
            str(form.get("sms_code") or "")[:12])


async def act(request: Request, token: str) -> Response:
    rt = runtime(request.app)
    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    except Exception:  # noqa: BLE001 - a malformed form is refused like a missing CSRF secret
        form = {}
    typed, secrets_, action, csrf, sms_code = _form_values(form)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    try:
        await run_in_threadpool(user_services.check_csrf, rt.engine, token, csrf if csrf == cookie else "")
        session = await run_in_threadpool(user_services.load, rt.engine, rt.clock, token)
    except CustodyError as exc:
        log.info("gateway page refused: %s", exc.code)
        return _refused(request, exc)
    if action == "cancel":
        try:
            finished = await run_in_threadpool(user_services.close, rt.engine, rt.clock, token)
        except CustodyError as exc:
            return _refused(request, exc, session)
        return _callback(request, finished, token)
    if action == "sms":
        try:
            shown = await run_in_threadpool(user_services.send_code, rt.engine, rt.clock, token, typed)
        except CustodyError as exc:
            return await run_in_threadpool(lambda e=exc: _page(request, session, token, typed=typed, error=e))
        session = await run_in_threadpool(user_services.load, rt.engine, rt.clock, token)
        return await run_in_threadpool(lambda: _page(request, session, token, typed=typed,
                                                     notice=f"验证码已发送至 {shown}，5 分钟内有效。"))
    if action != "submit":
        return await run_in_threadpool(lambda: _page(request, session, token, typed=typed))
    try:
        finished = await run_in_threadpool(user_services.complete, rt.engine, rt.clock, token, typed, secrets_,
                                           sms_code)
    except (user_services.PageNotFound, user_services.PageExpired) as exc:
        return _refused(request, exc, session)
    except CustodyError as exc:
        log.info("gateway page %s: refused %s (%s)", session.service_name, exc.code, exc.field)
        try:
            session = await run_in_threadpool(user_services.load, rt.engine, rt.clock, token)
        except CustodyError as gone:
            return _refused(request, gone, session)
        return await run_in_threadpool(lambda e=exc: _page(request, session, token, typed=typed, error=e))
    return _callback(request, finished, token)


def install(app: FastAPI) -> None:
    """Mount the pages under the Lanmao prefix (call after `lanmao.install`, which sets the settings)."""
    router = APIRouter(prefix=f"{app.state.settings.lanmao_prefix}{PAGE_PATH}", include_in_schema=False)
    router.add_api_route("/{token}", show_page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route("/{token}", act, methods=["POST"], response_class=HTMLResponse)
    app.include_router(router)
