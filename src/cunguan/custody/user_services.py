"""The bank-hosted pages of the gateway user services, without HTTP: page sessions, SMS codes, and
the completion that runs the service, marks the page done and queues the NOTIFY in one transaction.

Life of a page (protocol §1.7):
1. `open_page` (inside the verified `{base}/gateway` request): checks what can be checked before the
   user types anything (requestNo unused, user exists, redirectUrl, `expired`), stores a session and
   returns a one-time token (only its SHA-256 is stored) and a CSRF secret.
2. `send_code`: a 6-digit code to the phone the rules say (typed, prefilled or on file), recorded by
   the simulated SMS gateway in the same transaction; rate-limited per page.
3. `complete`: checks the code (wrong tries are counted and committed), verifies the four elements
   with the card's bank *outside* any transaction when the service needs it (`Preverified`), then in
   one transaction: locks the session (still OPEN and not expired), confirms the trade password where
   the service itself does not, runs the service, marks the session DONE, queues the NOTIFY. A wrong
   password commits only its failure count; the page stays open for a retry.
4. `close`: the user goes back to the platform without completing; the CALLBACK carries a refusal.
A finished page keeps no reqData (it held prefilled ID and card numbers): only its identifiers stay.

Limits (explicit; the spec is silent): a page lives until `expired`, at most `MAX_PAGE_S`, default
`DEFAULT_PAGE_S`; a code is valid `SMS_TTL_S`, resent after `SMS_RESEND_S`, at most `SMS_MAX_SENDS`
per page and `SMS_MAX_WRONG` wrong tries (then a new code is needed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from cunguan.clock import (
    BEIJING,
    Clock,
    now_us,  # noqa: F401  (re-exported)
)
from cunguan.custody import bins, card_verifier, identity, passwords, platforms, requests, user_catalog
from cunguan.custody.card_verifier import CardVerifier, FourElements, Preverified
from cunguan.custody.errors import CustodyError, NotFound, Refused
from cunguan.custody.fields import opt
from cunguan.custody.user_errors import DuplicateRequest, InvalidField, UserNotFound, WrongState
from cunguan.custody.user_store import find_user, get_user
from cunguan.db.reads import reading
from cunguan.db.tables.page_sessions import gateway_page_sessions as pages
from cunguan.db.tx import run_in_transaction
from cunguan.notify import outbox, payload, sms_gateway

DEFAULT_PAGE_S = 30 * 60
MAX_PAGE_S = 24 * 3600
SMS_TTL_S = 5 * 60
SMS_RESEND_S = 30
SMS_MAX_SENDS = 5
SMS_MAX_WRONG = 5
MAX_REDIRECT_URL = 500
_S = 1_000_000

OPEN, DONE, CLOSED = "OPEN", "DONE", "CLOSED"


# ---------------------------------------------------------------- errors shown on the page


class PageNotFound(NotFound):
    """Unknown token, or a page already completed or left (a token is used once)."""

    http_status = 404


class PageExpired(Refused):
    """The page's deadline (`expired`) has passed: the operation is refused."""

    http_status = 410


class PageForbidden(Refused):
    """The form did not carry this page's CSRF secret."""

    http_status = 403


class SmsProblem(InvalidField):
    """Missing, wrong, expired or over-used SMS code, or too many codes asked for."""


class PasswordMismatch(InvalidField):
    """The new password and its confirmation differ."""


# ---------------------------------------------------------------- what each page asks for


@dataclass(frozen=True)
class PageRule:
    typed: tuple[str, ...]
    """Request fields the user types when the platform did not prefill them."""
    password: str
    """"new" (set one, with confirmation), "current" (confirm with it), "reset" (RESET_PASSWORD)."""
    sms_field: str | None
    """The request field holding the phone that gets the SMS code; None = the phone on file."""
    confirm_password_first: bool = False
    """The service itself does not take the trade password, so the page checks it first."""
    sms: bool = True
    notify_on_complete: bool = True
    """False: the service queues its own NOTIFY (money services notify on their own status changes)."""


PAGE_RULES: dict[str, PageRule] = {
    "PERSONAL_REGISTER_EXPAND": PageRule(("real_name", "id_card_no", "bankcard_no", "mobile"), "new", "mobile"),
    "ENTERPRISE_REGISTER": PageRule((), "new", "contact_phone"),
    "PERSONAL_BIND_BANKCARD_EXPAND": PageRule(("bankcard_no", "mobile"), "current", "mobile", True),
    "ENTERPRISE_BIND_BANKCARD": PageRule(("bankcard_no", "bankcode"), "current", None, True),
    "UNBIND_BANKCARD": PageRule((), "current", None),
    "RESET_PASSWORD": PageRule((), "reset", None),
    "CHECK_PASSWORD": PageRule((), "current", None, sms=False),
    "MODIFY_MOBILE_EXPAND": PageRule(("mobile",), "current", "mobile", True),
    "ENTERPRISE_INFORMATION_UPDATE": PageRule((), "current", None, True),
    "USER_AUTHORIZATION": PageRule((), "current", None),
    "USER_PRE_TRANSACTION": PageRule((), "current", None, True, sms=False), "VERIFY_DEDUCT": PageRule((), "current", None, True, sms=False),  # noqa: E501
    "ACTIVATE_STOCKED_USER": PageRule(("bankcard_no",), "new", None),
    "RECHARGE": PageRule((), "current", None, True, sms=False, notify_on_complete=False),
    "WITHDRAW": PageRule((), "current", None, True, sms=False, notify_on_complete=False),
}
"""CHECK_PASSWORD asks no SMS code: the password check is the whole point of that page."""

REGISTRATIONS = frozenset({"PERSONAL_REGISTER_EXPAND", "ENTERPRISE_REGISTER"})


@dataclass(frozen=True)
class PageSession:
    id: int
    platform_no: str
    service_name: str
    key_serial: str
    user_device: str | None
    request_no: str
    platform_user_no: str
    redirect_url: str
    req_data: dict[str, Any]
    status: str
    expires_us: int
    sms_mobile: str | None
    sms_sent_us: int | None
    sms_count: int
    sms_failures: int

    @property
    def rule(self) -> PageRule:
        return PAGE_RULES[self.service_name]

    def prefilled(self, field_name: str) -> Any:
        return opt(self.req_data.get(user_catalog.camel(field_name)))


@dataclass(frozen=True)
class Opened:
    token: str
    csrf: str
    expires_us: int


@dataclass(frozen=True)
class Finished:
    """What the page posts back to `redirectUrl` (CALLBACK): the exact respData text to sign."""

    session: PageSession
    resp_data: str
    notification_id: int | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _code_digest(session_id: int, mobile: str, code: str) -> str:
    return _digest(f"{session_id}:{mobile}:{code}")


# ---------------------------------------------------------------- 1. open


def _redirect_url(value: object) -> str:
    if opt(value) is None:
        raise InvalidField("redirectUrl is required", field="redirectUrl")
    if not isinstance(value, str) or len(value) > MAX_REDIRECT_URL or any(c.isspace() for c in value):
        raise InvalidField(f"redirectUrl must be an http(s) URL of at most {MAX_REDIRECT_URL} characters "
                           "without spaces", field="redirectUrl")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidField("redirectUrl must be an absolute http or https URL", field="redirectUrl")
    return value


def _deadline_us(value: object, now: int) -> int:
    """`expired` (yyyyMMddHHmmss, Beijing) → UTC µs; absent → now + DEFAULT_PAGE_S; capped at MAX_PAGE_S."""
    if opt(value) is None:
        return now + DEFAULT_PAGE_S * _S
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    try:
        if len(text) != 14 or not text.isdigit():
            raise ValueError(text)
        when = dt.datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=BEIJING)
    except ValueError:
        raise InvalidField("expired must be yyyyMMddHHmmss (Beijing time)", field="expired") from None
    deadline = int(when.timestamp()) * _S
    if deadline <= now:
        shown = when.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")
        raise InvalidField(f"expired {shown} has already passed: the page cannot be opened", field="expired")
    return min(deadline, now + MAX_PAGE_S * _S)


def open_page(engine: Engine, clock: Clock, *, platform_no: str, service_name: str, key_serial: str,
              user_device: str | None, req: Mapping[str, Any]) -> Opened:
    """Check what can be checked before the user arrives and store the page session."""
    assert service_name in PAGE_RULES, service_name
    request_no = requests.request_no(req.get("requestNo"))
    user_no = requests.request_no(req.get("platformUserNo"), "platformUserNo")
    redirect = _redirect_url(req.get("redirectUrl"))
    now = now_us(clock)
    deadline = _deadline_us(req.get("expired"), now)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    device = user_device if user_device in ("PC", "MOBILE") else None

    def work(conn: Connection) -> None:
        existing = requests.find(conn, platform_no, request_no)
        if existing is not None:
            raise DuplicateRequest(f"requestNo {request_no!r} was already used ({existing['service_name']})")
        user = find_user(conn, platform_no, user_no)
        if service_name in REGISTRATIONS and user is not None:
            from cunguan.custody.user_errors import UserAlreadyExists

            raise UserAlreadyExists("platformUserNo is already registered on this platform", field="platformUserNo")
        if service_name not in REGISTRATIONS and user is None:
            raise UserNotFound("platformUserNo: user does not exist on this platform", field="platformUserNo")
        conn.execute(pages.insert().values(
            token_hash=_digest(token), csrf_hash=_digest(csrf), platform_no=platform_no,
            service_name=service_name, key_serial=key_serial, user_device=device, request_no=request_no,
            platform_user_no=user_no, redirect_url=redirect,
            req_data=json.dumps(dict(req), ensure_ascii=False, default=str),
            status=OPEN, created_us=now, expires_us=deadline, sms_count=0, sms_failures=0))

    run_in_transaction(engine, work)
    return Opened(token, csrf, deadline)


# ---------------------------------------------------------------- reading a page


def _to_session(row: Mapping[str, Any]) -> PageSession:
    return PageSession(
        id=int(row["id"]), platform_no=row["platform_no"], service_name=row["service_name"],
        key_serial=row["key_serial"], user_device=row["user_device"], request_no=row["request_no"],
        platform_user_no=row["platform_user_no"], redirect_url=row["redirect_url"],
        req_data=json.loads(row["req_data"]), status=row["status"], expires_us=int(row["expires_us"]),
        sms_mobile=row["sms_mobile"], sms_sent_us=row["sms_sent_us"], sms_count=int(row["sms_count"]),
        sms_failures=int(row["sms_failures"]))


def _row(conn: Connection, token: str, *, for_update: bool = False) -> dict | None:
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    stmt = select(pages).where(pages.c.token_hash == _digest(token))
    if for_update and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def _usable(row: dict | None, now: int) -> PageSession:
    if row is None or row["status"] != OPEN:
        raise PageNotFound("this page link is not valid or has already been used")
    if now >= int(row["expires_us"]):
        raise PageExpired("the page's deadline (expired) has passed; start again from the platform",
                          field="expired")
    return _to_session(row)


def load(engine: Engine, clock: Clock, token: str) -> PageSession:
    """The open, unexpired session of `token`, or PageNotFound / PageExpired."""
    with reading(engine) as conn:
        row = _row(conn, token)
    return _usable(row, now_us(clock))


def check_csrf(engine: Engine, token: str, given: object) -> None:
    """The form's CSRF secret must be this page's (constant-time comparison of the hashes)."""
    with reading(engine) as conn:
        row = _row(conn, token)
    if row is None:
        raise PageNotFound("this page link is not valid or has already been used")
    if not isinstance(given, str) or not given or not hmac.compare_digest(_digest(given), row["csrf_hash"]):
        raise PageForbidden("the form is missing this page's security token (CSRF); reload the page")


def user_summary(engine: Engine, session: PageSession) -> dict[str, Any]:
    """What the page shows about the user (masked), read-only."""
    from cunguan.custody.masking import mask_card, mask_mobile

    with reading(engine) as conn:
        user = find_user(conn, session.platform_no, session.platform_user_no)
    if user is None:
        return {}
    return {"name": user.name, "bankcard": mask_card(user.bankcard_no) or None,
            "mobile": mask_mobile(_phone_on_file_user(engine, user)) or None}


# ---------------------------------------------------------------- 2. SMS code


def _phone_on_file_user(engine_or_conn: Any, user) -> str | None:
    if user.mobile:
        return user.mobile
    from cunguan.custody.enterprise import enterprise_documents

    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            docs = enterprise_documents(conn, user)
            conn.rollback()
    else:
        docs = enterprise_documents(engine_or_conn, user)
    return (docs or {}).get("contact_phone")


def sms_target(conn: Connection, session: PageSession, typed: Mapping[str, Any]) -> str:
    """The phone that receives this page's code, validated."""
    field_name = session.rule.sms_field
    if field_name is not None:
        value = typed.get(field_name) if field_name in session.rule.typed else None
        value = value if opt(value) is not None else session.prefilled(field_name)
        return identity.validate_mobile(value, field=user_catalog.camel(field_name))
    user = get_user(conn, session.platform_no, session.platform_user_no)
    phone = _phone_on_file_user(conn, user)
    if not phone:
        raise WrongState("there is no phone number on file for this user to send a code to", field="mobile")
    return phone


ENTERPRISE_PAGES = frozenset({"ENTERPRISE_REGISTER", "ENTERPRISE_BIND_BANKCARD", "ENTERPRISE_INFORMATION_UPDATE"})


def _is_mobile(value: object) -> bool:
    try:
        identity.validate_mobile(value)  # type: ignore[arg-type]
    except CustodyError:
        return False
    return True


def sms_required(engine: Engine, session: PageSession) -> bool:
    """Whether the page asks for an SMS code. An enterprise's contact phone may be a landline
    (`010-88886666`): then no code can be sent and the trade password alone confirms."""
    if not session.rule.sms:
        return False
    if session.service_name not in ENTERPRISE_PAGES:
        return True
    if session.service_name == "ENTERPRISE_REGISTER":
        return _is_mobile(session.prefilled("contact_phone"))
    with reading(engine) as conn:
        user = find_user(conn, session.platform_no, session.platform_user_no)
        phone = _phone_on_file_user(conn, user) if user is not None else None
    return _is_mobile(phone)


def send_code(engine: Engine, clock: Clock, token: str, typed: Mapping[str, Any], *,
              make_code: Callable[[], str] | None = None) -> str:
    """Issue a fresh code for the page; returns the (masked) phone it went to."""
    from cunguan.custody.masking import mask_mobile

    make_code = make_code or (lambda: f"{secrets.randbelow(1_000_000):06d}")

    def work(conn: Connection) -> str:
        now = now_us(clock)
        session = _usable(_row(conn, token, for_update=True), now)
        if not session.rule.sms:
            raise SmsProblem("this page needs no SMS code", field="smsCode")
        if session.service_name in ENTERPRISE_PAGES and not sms_required(engine, session):
            raise SmsProblem("the contact phone on file is not a mobile number; no code is needed",
                             field="smsCode")
        mobile = sms_target(conn, session, typed)
        if session.sms_count >= SMS_MAX_SENDS:
            raise SmsProblem(f"at most {SMS_MAX_SENDS} codes per page; start again from the platform",
                             field="smsCode")
        if session.sms_sent_us is not None and now - session.sms_sent_us < SMS_RESEND_S * _S:
            wait = SMS_RESEND_S - (now - session.sms_sent_us) // _S
            raise SmsProblem(f"a code was just sent; ask again in {wait} s", field="smsCode")
        code = make_code()
        conn.execute(update(pages).where(pages.c.id == session.id).values(
            sms_mobile=mobile, sms_code_hash=_code_digest(session.id, mobile, code), sms_sent_us=now,
            sms_count=session.sms_count + 1, sms_failures=0))
        purpose = user_catalog.CATALOG[session.service_name].name
        sms_gateway.record(conn, session_id=session.id, mobile=mobile,
                           body=sms_gateway.code_message(code, purpose), now_us=now)
        return mask_mobile(mobile)

    return run_in_transaction(engine, work)


def _code_ok(row: dict, session: PageSession, mobile: str, code: object, now: int) -> str | None:
    """None if the code is right, else why not (for the user)."""
    if row["sms_code_hash"] is None:
        return "ask for an SMS code first"
    if not isinstance(code, str) or not code.strip():
        return "type the SMS code"
    if session.sms_failures >= SMS_MAX_WRONG:
        return "too many wrong codes; ask for a new one"
    if now - int(row["sms_sent_us"]) > SMS_TTL_S * _S:
        return "the SMS code has expired; ask for a new one"
    if row["sms_mobile"] != mobile:
        return "the code was sent to another number; ask for a code for this number"
    if not hmac.compare_digest(_code_digest(session.id, mobile, code.strip()), row["sms_code_hash"]):
        return "the SMS code is wrong"
    return None


def _check_code(engine: Engine, clock: Clock, token: str, typed: Mapping[str, Any], code: object) -> None:
    """Raise SmsProblem unless the code is right; a wrong code is counted (committed)."""
    def work(conn: Connection) -> str | None:
        now = now_us(clock)
        row = _row(conn, token, for_update=True)
        session = _usable(row, now)
        problem = _code_ok(row, session, sms_target(conn, session, typed), code, now)
        if problem == "the SMS code is wrong":
            conn.execute(update(pages).where(pages.c.id == session.id)
                         .values(sms_failures=session.sms_failures + 1))
        return problem

    problem = run_in_transaction(engine, work)
    if problem is not None:
        raise SmsProblem(problem, field="smsCode")


# ---------------------------------------------------------------- 3. complete


def _page_values(session: PageSession, typed: Mapping[str, Any], secrets_: Mapping[str, Any]) -> dict[str, Any]:
    """What the user typed, as request fields: typed fields only where the platform left them empty,
    passwords by the page's password mode."""
    rule = session.rule
    page: dict[str, Any] = {}
    for name in rule.typed:
        if session.prefilled(name) is None and opt(typed.get(name)) is not None:
            page[name] = typed[name].strip() if isinstance(typed[name], str) else typed[name]
    if rule.password == "new":
        new, confirm = secrets_.get("password"), secrets_.get("password_confirm")
        if opt(new) is not None and new != confirm:
            raise PasswordMismatch("the two passwords differ", field="passwordConfirm")
        page["password"] = new
    elif rule.password == "reset":
        new, confirm = secrets_.get("new_password"), secrets_.get("password_confirm")
        if opt(new) is not None and new != confirm:
            raise PasswordMismatch("the two new passwords differ", field="passwordConfirm")
        page["new_password"] = new
        if session.prefilled("is_skip") == "Remember":
            page["old_password"] = secrets_.get("old_password")
        else:
            page["id_card_no"] = typed.get("id_card_no")
    else:
        page["password"] = secrets_.get("password")
    return page


def _elements(engine: Engine, session: PageSession, request: Any) -> FourElements | None:
    """The four elements the service will ask the card's bank about, or None when it asks nothing
    (non-PRC ID) or the input is invalid (the service then refuses with the precise field)."""
    name = session.service_name
    try:
        if name == "PERSONAL_REGISTER_EXPAND":
            if identity.validate_id_card_type(request.id_card_type) != identity.PRC_ID:
                return None
            card = bins.validate_personal_card(request.bankcard_no)
            return FourElements(identity.validate_name(request.real_name),
                                identity.validate_prc_id(request.id_card_no or ""), card.card_no,
                                identity.validate_mobile(request.mobile), card.bankcode)
        with reading(engine) as conn:
            user = find_user(conn, session.platform_no, session.platform_user_no)
        if user is None or user.id_card_type != identity.PRC_ID:
            return None
        if name == "PERSONAL_BIND_BANKCARD_EXPAND":
            card = bins.validate_personal_card(request.bankcard_no)
            return FourElements(user.name or "", user.id_card_no or "", card.card_no,
                                identity.validate_mobile(request.mobile), card.bankcode)
        if name == "MODIFY_MOBILE_EXPAND":
            if not user.bankcard_no or not user.bankcode:
                return None
            return FourElements(user.name or "", user.id_card_no or "", user.bankcard_no,
                                identity.validate_mobile(request.mobile), user.bankcode)
    except CustodyError:
        return None
    return None


def _preverified(engine: Engine, session: PageSession, request: Any) -> CardVerifier | None:
    """Ask the card's bank now, outside any transaction (slow I/O must not hold the write lock)."""
    if not user_catalog.CATALOG[session.service_name].uses_verifier:
        return None
    elements = _elements(engine, session, request)
    if elements is None:
        return None
    card_verifier.resolve(None).verify(elements)
    return Preverified(elements)


def _success_resp_data(session: PageSession, fields: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"code": "0", "status": "SUCCESS", "requestNo": session.request_no}
    body.update({k: v for k, v in fields.items() if k != "requestNo"})
    return body


def complete(engine: Engine, clock: Clock, token: str, typed: Mapping[str, Any], secrets_: Mapping[str, Any],
             sms_code: object) -> Finished:
    """Run the page's service for the user; see the module docstring for the order of things."""
    session = load(engine, clock, token)
    needs_code = sms_required(engine, session)
    if needs_code:
        _check_code(engine, clock, token, typed, sms_code)
    service = user_catalog.CATALOG[session.service_name]
    request = user_catalog.build_request(service.request_type, session.req_data,
                                         _page_values(session, typed, secrets_))
    verifier = _preverified(engine, session, request)
    kwargs = {"verifier": verifier} if service.uses_verifier and verifier is not None else {}

    def work(conn: Connection):
        now = now_us(clock)
        row = _row(conn, token, for_update=True)
        locked = _usable(row, now)
        if needs_code:
            problem = _code_ok(row, locked, sms_target(conn, locked, typed), sms_code, now)
            if problem is not None:
                raise SmsProblem(problem, field="smsCode")
        if locked.rule.confirm_password_first:
            user = get_user(conn, locked.platform_no, locked.platform_user_no, for_update=True)
            check = passwords.verify(conn, user.id, passwords.require_page_password(secrets_.get("password")), now)
            if not check.ok:
                return passwords.PasswordOutcome(False, check.attempts_left, check.locked)
        result = service.function(conn, clock, locked.platform_no, request, **kwargs)
        if getattr(result, "password_ok", True) is False:
            return result
        resp = _success_resp_data(locked, user_catalog.result_fields(result))
        done = conn.execute(update(pages).where(pages.c.id == locked.id, pages.c.status == OPEN).values(
            status=DONE, finished_us=now, sms_code_hash=None, req_data="{}"))
        if done.rowcount != 1:
            raise PageNotFound("this page has already been completed")
        platform = platforms.find_platform(conn, locked.platform_no)
        assert platform is not None, "a page's platform exists"
        if not locked.rule.notify_on_complete:
            return Finished(locked, payload.dumps_resp_data(resp), None)
        notification = outbox.enqueue(conn, platform_no=locked.platform_no, service_name=locked.service_name,
                                      notify_url=platform.notify_url, resp_data=resp,
                                      key_serial=locked.key_serial, biz_ref=locked.request_no, clock=clock)
        return Finished(locked, payload.dumps_resp_data(resp), notification)

    outcome = run_in_transaction(engine, work)
    if isinstance(outcome, Finished):
        return outcome
    # a wrong trade password: its failure count is committed; tell the user and let them retry
    passwords.PasswordOutcome.raise_for_password(outcome)
    raise AssertionError("a page outcome is either finished or a wrong password")


# ---------------------------------------------------------------- 4. back to the platform


def close(engine: Engine, clock: Clock, token: str) -> Finished:
    """The user leaves without completing: the page is spent and the CALLBACK says not processed
    (code "1", status INIT, 100008). Nothing changed, so no NOTIFY is queued."""
    def work(conn: Connection) -> Finished:
        now = now_us(clock)
        row = _row(conn, token, for_update=True)
        if row is None or row["status"] != OPEN:
            raise PageNotFound("this page link is not valid or has already been used")
        session = _to_session(row)
        conn.execute(update(pages).where(pages.c.id == session.id, pages.c.status == OPEN).values(
            status=CLOSED, finished_us=now, sms_code_hash=None, req_data="{}"))
        expired = now >= session.expires_us
        detail = "the page expired before the user completed it" if expired else \
            "the user returned to the platform without completing the operation"
        resp = {"code": "1", "status": "INIT", "requestNo": session.request_no, "errorCode": Refused.code,
                "errorMessage": Refused(detail).message}
        return Finished(session, payload.dumps_resp_data(resp), None)

    return run_in_transaction(engine, work)

