"""The bank's operator console: server-rendered pages under /console (Jinja2, plain HTML forms).

Handlers only read the request, call `cunguan.console` (views to read, actions to act) and render.
Security at this edge:
- the session is an HttpOnly, SameSite=Strict cookie scoped to /console (Secure over https);
- every POST carries a CSRF token in a hidden field: the session's token, or for the login form a
  double-submit token that the login page also sets as a cookie;
- role checks are made again by the actions themselves; the pages only hide what a role cannot do;
- every answer carries no-store / no-framing / a same-origin CSP; errors become friendly pages with
  the right status (unexpected ones with a correlation id that is also logged), never a stack trace.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from cunguan.clock import Clock
from cunguan.console import actions, operators, roles, sessions, views
from cunguan.console.errors import ConsoleError, CsrfRefused, InvalidInput, NotFound, NotLoggedIn
from cunguan.console.sessions import Session
from cunguan.db.tx import run_in_transaction

log = logging.getLogger(__name__)

PREFIX = "/console"
COOKIE = "cg_console_session"
LOGIN_CSRF_COOKIE = "cg_console_login"
MAX_FORM_FIELDS = 20
MAX_PART_BYTES = 64 * 1024
WEB_DIR = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(WEB_DIR / "templates"))
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
DONE = {
    "platform": "平台已创建，系统账户已开立。",
    "key": "公钥已添加。",
    "PASSED": "审核通过，已通知平台。",
    "BACK": "已退回，已通知平台。",
    "REFUSED": "已拒绝，已通知平台。",
    "resent": "通知已重新排队，将立即投递。",
    "operator": "操作员已创建。",
}


class ConsoleRoute(APIRoute):
    """Wraps every console handler: typed console errors → friendly page with their status; not
    logged in → the login page; anything unexpected → a generic page with a correlation id (the
    traceback goes to the server log only). Adds the security headers to every answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except NotLoggedIn:
                response = RedirectResponse(f"{PREFIX}/login", status_code=303)
            except ConsoleError as exc:
                response = _error_page(request, exc.http_status, exc.message)
            except RequestValidationError:
                response = _error_page(request, 400, "请求参数不正确")
            except HTTPException as exc:
                response = _error_page(request, exc.status_code, "请求无法处理")
            except Exception:  # noqa: BLE001 - the client sees a generic page, the log has the details
                ref = secrets.token_hex(6)
                log.exception("console error ref=%s path=%s", ref, request.url.path)
                response = _error_page(request, 500, f"系统繁忙，请稍后再试（参考号 {ref}）")
            response.headers.update(SECURITY_HEADERS)
            return response

        return handler


router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=ConsoleRoute)


# ---------------------------------------------------------------- plumbing


def _engine(request: Request):
    return request.app.state.engine


def _clock(request: Request) -> Clock:
    return getattr(request.app.state, "clock", None) or Clock()


def _current(request: Request) -> Session | None:
    with _engine(request).connect() as conn:
        session = sessions.session_for(conn, _clock(request), request.cookies.get(COOKIE))
        conn.rollback()
    return session


def _session(request: Request) -> Session:
    session = _current(request)
    if session is None:
        raise NotLoggedIn("请先登录")
    return session


async def _form(request: Request) -> FormData:
    try:
        return await request.form(max_files=1, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_PART_BYTES)
    except Exception:  # noqa: BLE001 - any parser complaint is a bad form
        raise InvalidInput("表单格式不正确或过大") from None


async def _post(request: Request) -> tuple[Session, FormData]:
    """A logged-in POST with the session's CSRF token; anything else is refused before any work."""
    session = _session(request)
    form = await _form(request)
    sessions.check_csrf(session, form.get("csrf_token"))
    return session, form


def _text(form: FormData, name: str, max_len: int = 200) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} 须为文本字段")
    if len(value) > max_len:
        raise InvalidInput(f"{name} 过长（至多 {max_len} 字符）")
    return value.strip()


async def _upload(form: FormData, name: str) -> bytes:
    value = form.get(name)
    if not isinstance(value, UploadFile):
        return b""
    data = await value.read(actions.MAX_KEY_BYTES + 1)
    return data


def _render(request: Request, template: str, session: Session | None, status: int = 200, **context: Any
            ) -> HTMLResponse:
    context.update(session=session, me=session.operator if session else None,
                   can=(lambda perm: session is not None and roles.allows(session.operator.role, perm)),
                   csrf=session.csrf_token if session else "", ROLE_LABEL=roles.ROLE_LABEL, roles=roles)
    context.setdefault("notice", DONE.get(request.query_params.get("done", "")))
    context.setdefault("error", None)
    return TEMPLATES.TemplateResponse(request, f"console/{template}", context, status_code=status)


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    try:
        session = _current(request)
    except Exception:  # noqa: BLE001 - the error page must render even when the database is down
        session = None
    try:
        return _render(request, "error.html", session, status, message=message, code=status)
    except Exception:  # noqa: BLE001 - last resort: a plain page, still no details
        log.exception("console error page failed")
        return HTMLResponse("<!doctype html><title>错误</title><p>系统繁忙，请稍后再试。</p>", status_code=status)


def _go(path: str, **params: str) -> RedirectResponse:
    return RedirectResponse(PREFIX + path + (("?" + urlencode(params)) if params else ""), status_code=303)


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


# ---------------------------------------------------------------- login / logout


def _login_page(request: Request, status: int = 200, error: str | None = None) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = _render(request, "login.html", None, status, login_csrf=token, error=error)
    _cookie(request, response, LOGIN_CSRF_COOKIE, token, 3600)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    if _current(request) is not None:
        return _go("/")
    return _login_page(request)


@router.post("/login")
async def login_submit(request: Request) -> Response:
    form = await _form(request)
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    submitted = form.get("csrf_token")
    if not cookie_token or not isinstance(submitted, str) or not secrets.compare_digest(submitted, cookie_token):
        raise CsrfRefused("登录页面已失效，请刷新后重新登录")
    username = _text(form, "username", 40)
    password = form.get("password")
    if not isinstance(password, str):
        password = ""
    try:
        token, _session_ = sessions.login_committing(_engine(request), _clock(request), username,
                                                     password[: operators.MAX_PASSWORD_LEN + 1])
    except ConsoleError as exc:
        return _login_page(request, exc.http_status, exc.message)
    response = _go("/")
    _cookie(request, response, COOKIE, token, sessions.SESSION_TTL_S)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    _session_, _form_ = await _post(request)
    token = request.cookies.get(COOKIE, "")
    run_in_transaction(_engine(request), lambda conn: sessions.logout(conn, token))
    response = _go("/login")
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


# ---------------------------------------------------------------- dashboard


@router.get("", include_in_schema=False)
def root_redirect() -> Response:
    return _go("/")


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request) -> Response:
    session = _session(request)
    with _engine(request).connect() as conn:
        board = views.dashboard(conn)
    return _render(request, "dashboard.html", session, board=board)


# ---------------------------------------------------------------- platforms


def _platforms_page(request: Request, session: Session, status: int = 200, **context: Any) -> HTMLResponse:
    with _engine(request).connect() as conn:
        rows = views.platform_list(conn)
    context.setdefault("form", {})
    return _render(request, "platforms.html", session, status, platforms=rows, **context)


@router.get("/platforms", response_class=HTMLResponse)
def platforms_page(request: Request) -> Response:
    return _platforms_page(request, _session(request))


@router.post("/platforms")
async def platform_create(request: Request) -> Response:
    session, form = await _post(request)
    values = {k: _text(form, k, 500) for k in ("platform_no", "name", "notify_url", "key_serial")}
    key = await _upload(form, "public_key")
    try:
        platform = actions.create_platform(_engine(request), _clock(request), session.operator,
                                           public_key_pem=key, **values)
    except (InvalidInput, actions.Conflict) as exc:
        return _platforms_page(request, session, exc.http_status, error=exc.message, form=values)
    return _go(f"/platforms/{platform.platform_no}", done="platform")


def _platform_page(request: Request, session: Session, platform_no: str, status: int = 200, **context: Any
                   ) -> HTMLResponse:
    with _engine(request).connect() as conn:
        detail = views.platform_detail(conn, platform_no)
    return _render(request, "platform.html", session, status, d=detail, **context)


@router.get("/platforms/{platform_no}", response_class=HTMLResponse)
def platform_page(request: Request, platform_no: str) -> Response:
    return _platform_page(request, _session(request), platform_no)


@router.post("/platforms/{platform_no}/keys")
async def platform_add_key(request: Request, platform_no: str) -> Response:
    session, form = await _post(request)
    key = await _upload(form, "public_key")
    try:
        actions.add_platform_key(_engine(request), _clock(request), session.operator, platform_no=platform_no,
                                 key_serial=_text(form, "key_serial", 32), public_key_pem=key)
    except (InvalidInput, actions.Conflict) as exc:
        return _platform_page(request, session, platform_no, exc.http_status, error=exc.message)
    return _go(f"/platforms/{platform_no}", done="key")


# ---------------------------------------------------------------- reviews


def _reviews_page(request: Request, session: Session, status: int = 200, **context: Any) -> HTMLResponse:
    with _engine(request).connect() as conn:
        items = views.review_queue(conn)
    return _render(request, "reviews.html", session, status, items=items, **context)


@router.get("/reviews", response_class=HTMLResponse)
def reviews_page(request: Request) -> Response:
    return _reviews_page(request, _session(request))


@router.post("/reviews/decide")
async def review_decide(request: Request) -> Response:
    session, form = await _post(request)
    decision = _text(form, "decision", 16)
    try:
        actions.review_user(_engine(request), _clock(request), session.operator,
                            platform_no=_text(form, "platform_no", 32),
                            platform_user_no=_text(form, "platform_user_no", 50), decision=decision,
                            remark=_text(form, "remark", actions.MAX_REMARK_LEN))
    except (InvalidInput, actions.Conflict, NotFound) as exc:
        return _reviews_page(request, session, exc.http_status, error=exc.message)
    return _go("/reviews", done=decision)


# ---------------------------------------------------------------- users


def _users_page(request: Request, session: Session, *, platform_no: str = "", platform_user_no: str = "",
                q: str = "") -> HTMLResponse:
    found: list[views.UserView] = []
    searched = False
    error = None
    with _engine(request).connect() as conn:
        all_platforms = views.platform_list(conn)
        try:
            if platform_no and platform_user_no:
                searched = True
                one = views.lookup_user(conn, platform_no, platform_user_no)
                found = [one] if one is not None else []
            elif platform_no and q:
                searched = True
                found = views.search_users(conn, platform_no, q)
        except InvalidInput as exc:
            error = exc.message
    # A whole number typed by the operator is not echoed back: the page shows it masked.
    shown_q = q if "*" in q else views.mask_query(q)
    return _render(request, "users.html", session, 400 if error else 200, platforms=all_platforms, users=found,
                   searched=searched, error=error,
                   form={"platform_no": platform_no, "platform_user_no": platform_user_no, "q": shown_q})


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, platform_no: str = "", platform_user_no: str = "") -> Response:
    """Lookup by platform + platformUserNo (a GET: the numbers in the URL are not personal data)."""
    return _users_page(request, _session(request), platform_no=platform_no[:32],
                       platform_user_no=platform_user_no[:60])


@router.post("/users/search", response_class=HTMLResponse)
async def users_search(request: Request) -> Response:
    """Search by ID, card or mobile number: a POST, so that a number never sits in a URL (browser
    history, proxy and access logs)."""
    session, form = await _post(request)
    return _users_page(request, session, platform_no=_text(form, "platform_no", 32), q=_text(form, "q", 40))


# ---------------------------------------------------------------- notifications


def _notification_id(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise NotFound("通知不存在")
    return int(value)


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, status: str = "OPEN", platform_no: str = "") -> Response:
    session = _session(request)
    with _engine(request).connect() as conn:
        rows = views.notification_list(conn, status[:16], platform_no[:32] or None)
        counts = views.dashboard(conn).notifications
    return _render(request, "notifications.html", session, rows=rows, counts=counts, status_filter=status,
                   platform_no=platform_no[:32], filters=views.STATUS_FILTERS)


@router.get("/notifications/{notification_id}", response_class=HTMLResponse)
def notification_page(request: Request, notification_id: str) -> Response:
    session = _session(request)
    with _engine(request).connect() as conn:
        row, url, attempts = views.notification_detail(conn, _notification_id(notification_id))
    return _render(request, "notification.html", session, n=row, notify_url=url, attempts=attempts)


@router.post("/notifications/{notification_id}/resend")
async def notification_resend(request: Request, notification_id: str) -> Response:
    session, _form_ = await _post(request)
    nid = _notification_id(notification_id)
    actions.resend_notification(_engine(request), _clock(request), session.operator, nid)
    return _go(f"/notifications/{nid}", done="resent")


# ---------------------------------------------------------------- operators (admin)


def _operators_page(request: Request, session: Session, status: int = 200, **context: Any) -> HTMLResponse:
    roles.require(session.operator.role, roles.MANAGE_OPERATORS)
    with _engine(request).connect() as conn:
        rows = operators.list_operators(conn)
    context.setdefault("form", {})
    return _render(request, "operators.html", session, status, operators=rows, **context)


@router.get("/operators", response_class=HTMLResponse)
def operators_page(request: Request) -> Response:
    return _operators_page(request, _session(request))


@router.post("/operators")
async def operator_create(request: Request) -> Response:
    session, form = await _post(request)
    values = {"username": _text(form, "username", 40), "role": _text(form, "role", 12)}
    password = form.get("password")
    try:
        actions.create_operator(_engine(request), _clock(request), session.operator,
                                password=password if isinstance(password, str) else "", **values)
    except (InvalidInput, actions.Conflict, ConsoleError) as exc:
        if exc.http_status == 403:
            raise
        return _operators_page(request, session, exc.http_status, error=exc.message, form=values)
    return _go("/operators", done="operator")


# ---------------------------------------------------------------- anything else under /console


@router.api_route("/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
def not_found(request: Request, rest: str) -> Response:
    raise NotFound("页面不存在")


def install(app: FastAPI) -> None:
    """Mount the console at /console (static files first, so the catch-all 404 does not shadow them)."""
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(WEB_DIR / "static" / "console")), name="console-static")
    app.include_router(router)
