"""User authorizations for no-password operations (protocol §2.6, §3.7, §5.1).

An authorization is one row per (user, type): a Beijing expiry date (`failTime`, the last day it is
valid; none = no expiry) and an optional total amount cap (`amount`) with the amount used so far.
Granting a type again replaces the previous grant; cancelling ends it. Money services call
`require_authorization` before a no-password operation (and pass `consume=True` when they move the
money, so the cap is a total, enforced by a database check as well).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.engine import Connection

from cunguan.clock import BEIJING, Clock
from cunguan.custody import passwords, requests
from cunguan.custody.fields import opt
from cunguan.custody.roles import AUTH_TYPES, AUTH_TYPES_BY_ROLE
from cunguan.custody.user_errors import InvalidField, NotAuthorized, UserNotFound, UserUnavailable, WrongState
from cunguan.custody.user_store import User, check_platform_no, get_user, platform_user_no
from cunguan.db.prepared import Prepared
from cunguan.db.tables.custody_users import custody_authorizations, custody_users
from cunguan.money import AmountError, format_yuan, parse_yuan

MAX_FAIL_YEARS = 10
"""An authorization may not be granted for longer than this (explicit limit; clients send 2-3 years)."""


@dataclass(frozen=True)
class AuthTerms:
    types: tuple[str, ...]
    fail_date: dt.date | None
    amount_cap_fen: int | None


def parse_auth_list(value: object, *, field: str = "authList", required: bool = True) -> tuple[str, ...]:
    """Comma-separated §3.7 types, in the given order, without repeats."""
    if opt(value) is None:
        if required:
            raise InvalidField(f"{field} is required", field=field)
        return ()
    if not isinstance(value, str):
        raise InvalidField(f"{field} must be a comma-separated string", field=field)
    items = [part.strip() for part in value.split(",")]
    if any(not item for item in items):
        raise InvalidField(f"{field} has an empty item", field=field)
    for item in items:
        if item not in AUTH_TYPES:
            raise InvalidField(f"{field}: {item[:24]!r} is not one of {', '.join(AUTH_TYPES)}", field=field)
    return tuple(dict.fromkeys(items))


def parse_fail_time(value: object, today: dt.date, *, field: str = "failTime") -> dt.date | None:
    """`yyyyMMdd` (a longer `yyyyMMddHHmmss` is cut to its date); not before today, ≤ 10 years ahead."""
    if opt(value) is None:
        return None
    text = str(value).strip()
    if not text.isdigit() or len(text) not in (8, 14):
        raise InvalidField(f"{field} must be a date yyyyMMdd", field=field)
    try:
        day = dt.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        raise InvalidField(f"{field} is not a real date", field=field) from None
    if day < today:
        raise InvalidField(f"{field} {text[:8]} is in the past", field=field)
    if day > _add_years(today, MAX_FAIL_YEARS):
        raise InvalidField(f"{field} is more than {MAX_FAIL_YEARS} years ahead", field=field)
    return day


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return dt.date(day.year + years, 2, 28)


def parse_amount_cap(value: object, *, field: str = "amount") -> int | None:
    if opt(value) is None:
        return None
    try:
        return parse_yuan(value, field=field)
    except AmountError as exc:
        raise InvalidField(str(exc), field=field) from None


def parse_terms(auth_list: object, fail_time: object, amount: object, today: dt.date, *,
                required: bool) -> AuthTerms:
    return AuthTerms(parse_auth_list(auth_list, required=required), parse_fail_time(fail_time, today),
                     parse_amount_cap(amount))


def check_role_allows(user: User | str, types: Sequence[str], *, field: str = "authList") -> None:
    """Refuse (100011) an authorization type the user's role may not grant (roles.py)."""
    role = user if isinstance(user, str) else user.user_role
    allowed = AUTH_TYPES_BY_ROLE.get(role, ())
    for auth_type in types:
        if auth_type not in allowed:
            raise NotAuthorized(f"{field}: a {role} user may not authorize {auth_type}", field=field)


def grant(conn: Connection, user: User, terms: AuthTerms, request_no: str, now_us: int) -> None:
    """Write one ACTIVE row per type, replacing any current grant of that type."""
    table = custody_authorizations.c
    for auth_type in terms.types:
        conn.execute(update(custody_authorizations).where(
            table.user_id == user.id, table.auth_type == auth_type, table.status == "ACTIVE",
        ).values(status="REPLACED", ended_us=now_us))
        conn.execute(custody_authorizations.insert().values(
            platform_no=user.platform_no, user_id=user.id, auth_type=auth_type,
            fail_date=terms.fail_date.strftime("%Y%m%d") if terms.fail_date else None,
            amount_cap_fen=terms.amount_cap_fen, used_fen=0, status="ACTIVE", request_no=request_no,
            created_us=now_us))


def _active_rows(conn: Connection, user_id: int, auth_type: str | None = None, *, lock: bool = False) -> list[dict]:
    table = custody_authorizations.c
    stmt = select(custody_authorizations).where(table.user_id == user_id, table.status == "ACTIVE")
    if auth_type is not None:
        stmt = stmt.where(table.auth_type == auth_type)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return [dict(r) for r in conn.execute(stmt.order_by(table.id)).mappings()]


def _valid_on(row: dict, today: dt.date) -> bool:
    return row["fail_date"] is None or row["fail_date"] >= today.strftime("%Y%m%d")


def active_auth_list(conn: Connection, user_id: int, today: dt.date) -> tuple[str, ...]:
    """The unexpired authorized types of a user, in §3.7 order."""
    have = {r["auth_type"] for r in _active_rows(conn, user_id) if _valid_on(r, today)}
    return tuple(t for t in AUTH_TYPES if t in have)


_u, _a = custody_users.c, custody_authorizations.c
_CURRENT = Prepared(
    select(_u.active_status, _a.id, _a.fail_date, _a.amount_cap_fen, _a.used_fen)
    .select_from(custody_users.outerjoin(custody_authorizations, and_(
        _a.user_id == _u.id, _a.auth_type == bindparam("auth_type"), _a.status == "ACTIVE")))
    .where(_u.platform_no == bindparam("platform_no"), _u.platform_user_no == bindparam("user_no"))
    .order_by(_a.id.desc()).limit(1))
"""The user's status and their newest ACTIVE grant of one type, in one statement."""
CONSUME = Prepared(
    update(custody_authorizations)
    .where(_a.id == bindparam("a_id"), _a.status == "ACTIVE",
           or_(_a.amount_cap_fen.is_(None), _a.used_fen + bindparam("amount") <= _a.amount_cap_fen))
    .values(used_fen=_a.used_fen + bindparam("amount")))
"""Counts an amount against the grant only while the cap still covers it: the check and the count are
one statement, so two concurrent consumers (PostgreSQL) can never both fit under the cap."""
_newest = custody_authorizations.alias("newest")
_CONSUME_CURRENT = Prepared(
    update(custody_authorizations)
    .where(_a.id == select(_newest.c.id).select_from(custody_users.join(_newest, and_(
               _newest.c.user_id == _u.id, _newest.c.auth_type == bindparam("auth_type"),
               _newest.c.status == "ACTIVE")))
           .where(_u.platform_no == bindparam("platform_no"), _u.platform_user_no == bindparam("user_no"),
                  _u.active_status == "ACTIVATED")
           .order_by(_newest.c.id.desc()).limit(1).scalar_subquery(),
           _a.status == "ACTIVE",  # checked again on the row as it is when locked (PostgreSQL)
           or_(_a.fail_date.is_(None), _a.fail_date >= bindparam("today")),
           or_(_a.amount_cap_fen.is_(None), _a.used_fen + bindparam("amount") <= _a.amount_cap_fen))
    .values(used_fen=_a.used_fen + bindparam("amount")))
"""`_CURRENT`'s checks and `CONSUME` in one statement: the common case of a consuming check (an
active user, an unexpired grant, room under the cap) costs one statement instead of two; when it
changes no row, the two-step path finds out why."""


def require_authorization(conn: Connection, platform_no: str, user_no: str, auth_type: str, amount_fen: int,
                          now: dt.datetime, *, consume: bool = False) -> None:
    """Raise NotAuthorized (100011) unless the user holds an unexpired `auth_type` authorization
    whose remaining cap covers `amount_fen`; with `consume=True` the amount is counted against it."""
    assert auth_type in AUTH_TYPES, auth_type
    assert isinstance(amount_fen, int) and amount_fen >= 0
    assert now.tzinfo is not None
    today = now.astimezone(BEIJING).date().strftime("%Y%m%d")
    if consume and amount_fen and _CONSUME_CURRENT.rowcount(conn, {
            "auth_type": auth_type, "platform_no": platform_no, "user_no": user_no, "today": today,
            "amount": amount_fen}) == 1:
        return
    found = _CURRENT.first(conn, {"auth_type": auth_type, "platform_no": platform_no, "user_no": user_no})
    if found is None:
        raise UserNotFound("platformUserNo: user does not exist on this platform", field="platformUserNo")
    status, auth_id, fail_date, cap, used = found
    if status != "ACTIVATED":
        raise UserUnavailable("platformUserNo: the user's account is not active", field="platformUserNo")
    judge_grant(Grant(auth_id, fail_date, cap, used) if auth_id is not None else None, auth_type, amount_fen, today)
    if consume and amount_fen and CONSUME.rowcount(conn, {"a_id": auth_id, "amount": amount_fen}) != 1:
        # another transaction counted against the cap since the read (PostgreSQL)
        used = _CURRENT.first(conn, {"auth_type": auth_type, "platform_no": platform_no, "user_no": user_no})[4]
        raise _over_cap(auth_type, cap, used)


@dataclass(frozen=True, slots=True)
class Grant:
    """A user's newest ACTIVE authorization of one type, as read."""

    id: int
    fail_date: str | None
    amount_cap_fen: int | None
    used_fen: int


def judge_grant(grant: Grant | None, auth_type: str, amount_fen: int, today: str, *, used_before: int = 0) -> None:
    """Raise NotAuthorized unless `grant` (of an active user) covers `amount_fen` on `today` (Beijing,
    YYYYMMDD); `used_before`: what orders before this one in the same batch count against it."""
    if grant is None:
        raise NotAuthorized(f"platformUserNo has not authorized {auth_type}", field="platformUserNo")
    if grant.fail_date is not None and grant.fail_date < today:
        raise NotAuthorized(f"the {auth_type} authorization expired after {grant.fail_date}", field="platformUserNo")
    used = grant.used_fen + used_before
    if grant.amount_cap_fen is not None and used + amount_fen > grant.amount_cap_fen:
        raise _over_cap(auth_type, grant.amount_cap_fen, used)


def _over_cap(auth_type: str, cap: int | None, used: int) -> NotAuthorized:
    left = max((cap if cap is not None else used) - used, 0)
    return NotAuthorized(f"amount exceeds what remains of the {auth_type} authorization ({format_yuan(left)} yuan)",
                         field="amount")


def current_grants(conn: Connection, platform_no: str, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], Grant]:
    """(platformUserNo, type) → the user's newest ACTIVE grant of that type, for many at once (the
    batched freeze orders), row-locked on PostgreSQL as `CONSUME` would lock them one by one."""
    if not wanted:
        return {}
    query = (select(_u.platform_user_no, _a.auth_type, _a.id, _a.fail_date, _a.amount_cap_fen, _a.used_fen)
             .select_from(custody_authorizations.join(custody_users, _u.id == _a.user_id))
             .where(_u.platform_no == platform_no, _u.platform_user_no.in_(sorted({u for u, _t in wanted})),
                    _a.auth_type.in_(sorted({t for _u2, t in wanted})), _a.status == "ACTIVE")
             .order_by(_a.id).with_for_update(of=custody_authorizations))
    out: dict[tuple[str, str], Grant] = {}
    for user_no, auth_type, *grant in conn.execute(query):
        if (user_no, auth_type) in wanted:
            out[(user_no, auth_type)] = Grant(*grant)  # ordered by id: the newest wins
    return out


# ---------------------------------------------------------------- USER_AUTHORIZATION


@dataclass(frozen=True)
class UserAuthorizationRequest:
    """reqData plus the trade password the user confirms the grant with on the bank's page."""

    request_no: str
    platform_user_no: str
    auth_list: str
    fail_time: str | None = None
    amount: object = None
    redirect_url: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class UserAuthorizationResult(passwords.PasswordOutcome):
    request_no: str
    platform_user_no: str
    auth_list: str
    fail_time: str | None
    amount_fen: int | None


def user_authorization(conn: Connection, clock: Clock, platform_no: str, req: UserAuthorizationRequest
                       ) -> UserAuthorizationResult:
    """USER_AUTHORIZATION: grant the listed no-password authorizations, confirmed by the user's trade
    password (a wrong one is counted and reported in the result, see passwords.py)."""
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    user_no = platform_user_no(req.platform_user_no)
    terms = parse_terms(req.auth_list, req.fail_time, req.amount, clock.beijing_date(), required=True)
    password = passwords.require_page_password(req.password)
    requests.claim(conn, clock, platform_no, request_no, "USER_AUTHORIZATION", user_no)
    user = get_user(conn, platform_no, user_no, for_update=True)
    if not user.active:
        raise UserUnavailable("platformUserNo: the user's account is not active", field="platformUserNo")
    check_role_allows(user, terms.types)
    now_us = requests.clock_us(clock)
    auth_list = ",".join(terms.types)
    fail_time = terms.fail_date.strftime("%Y%m%d") if terms.fail_date else None
    check = passwords.verify(conn, user.id, password, now_us)
    if not check.ok:
        requests.release(conn, platform_no, request_no)
        return UserAuthorizationResult(False, check.attempts_left, check.locked, request_no, user_no, auth_list,
                                       fail_time, terms.amount_cap_fen)
    grant(conn, user, terms, request_no, now_us)
    requests.record(conn, platform_no, request_no, user_no,
                    {"authList": auth_list, "failTime": fail_time, "amountFen": terms.amount_cap_fen})
    return UserAuthorizationResult(True, check.attempts_left, False, request_no, user_no, auth_list, fail_time,
                                   terms.amount_cap_fen)


# ---------------------------------------------------------------- CANCEL_USER_AUTHORIZATION


@dataclass(frozen=True)
class CancelUserAuthorizationRequest:
    request_no: str
    platform_user_no: str
    auth_list: str


@dataclass(frozen=True)
class CancelUserAuthorizationResult:
    request_no: str
    platform_user_no: str
    auth_list: str


def cancel_user_authorization(conn: Connection, clock: Clock, platform_no: str,
                              req: CancelUserAuthorizationRequest) -> CancelUserAuthorizationResult:
    """CANCEL_USER_AUTHORIZATION: end the listed authorizations; every listed type must be held."""
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    user_no = platform_user_no(req.platform_user_no)
    types = parse_auth_list(req.auth_list)
    requests.claim(conn, clock, platform_no, request_no, "CANCEL_USER_AUTHORIZATION", user_no)
    user = get_user(conn, platform_no, user_no, for_update=True)
    held = {r["auth_type"] for r in _active_rows(conn, user.id, lock=True)}
    for auth_type in types:
        if auth_type not in held:
            raise WrongState(f"authList: {auth_type} is not authorized by this user", field="authList")
    now_us = requests.clock_us(clock)
    table = custody_authorizations.c
    conn.execute(update(custody_authorizations).where(
        table.user_id == user.id, table.status == "ACTIVE", table.auth_type.in_(types),
    ).values(status="CANCELLED", ended_us=now_us))
    auth_list = ",".join(types)
    requests.record(conn, platform_no, request_no, user_no,
                    {"authList": auth_list})
    return CancelUserAuthorizationResult(request_no, user_no, auth_list)
