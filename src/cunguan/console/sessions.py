"""Operator login sessions, in the shape of the retail login (cunguan.retail.auth): a random 256-bit
token in an HttpOnly cookie, only its SHA-256 stored; plus a per-session CSRF token that every
console form carries in a hidden field.

Limits: sessions expire `SESSION_TTL_S` after login (no sliding renewal: an operator logs in again
at least once per working half-day); after `MAX_FAILED_LOGINS` wrong passwords in a row the operator
is locked for `LOCK_S` (a correct password resets the count). One message for every refusal.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.console import operators
from cunguan.console.errors import CsrfRefused, LoginFailed
from cunguan.console.operators import Operator, now_us
from cunguan.db.tables.console import console_operators, console_sessions

SESSION_TTL_S = 4 * 3600
MAX_FAILED_LOGINS = 5
LOCK_S = 15 * 60
MAX_TOKEN_LEN = 200
_REFUSED = "用户名或密码错误，或账户已锁定"
_dummy: dict[int, str] = {}


@dataclass(frozen=True)
class Session:
    """A logged-in operator as the pages see it: who, and the CSRF token of this session."""

    operator: Operator
    csrf_token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both refusals cost about the same time."""
    key = id(operators.HASHER)
    if key not in _dummy:
        _dummy[key] = operators.HASHER.hash(secrets.token_hex(16))
    return _dummy[key]


def login(conn: Connection, clock: Clock, username: str, password: str) -> tuple[str, Session] | None:
    """(session token, session); None for a wrong password (the failure is counted in the caller's
    transaction, which must commit: use `login_committing`); LoginFailed when nothing is written."""
    now = now_us(clock)
    row = conn.execute(select(console_operators).where(console_operators.c.username == username)
                       .with_for_update()).mappings().first() if isinstance(username, str) and username else None
    if row is None:
        _verify(_dummy_hash(), password)
        raise LoginFailed(_REFUSED)
    locked = row["locked_until_us"] is not None and row["locked_until_us"] > now
    if locked or row["status"] != operators.ACTIVE:
        raise LoginFailed(_REFUSED)
    if not _verify(row["password_hash"], password):
        failed = int(row["failed_logins"]) + 1
        values: dict[str, object] = {"failed_logins": failed, "updated_us": now}
        if failed >= MAX_FAILED_LOGINS:
            values.update(failed_logins=0, locked_until_us=now + LOCK_S * 1_000_000)
        conn.execute(update(console_operators).where(console_operators.c.id == row["id"]).values(**values))
        return None
    conn.execute(update(console_operators).where(console_operators.c.id == row["id"])
                 .values(failed_logins=0, locked_until_us=None, updated_us=now))
    conn.execute(console_sessions.delete().where(console_sessions.c.operator_id == row["id"],
                                                 console_sessions.c.expires_us <= now))  # keep the table small
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    conn.execute(console_sessions.insert().values(token_hash=token_hash(token), operator_id=row["id"],
                                                  csrf_token=csrf, created_us=now,
                                                  expires_us=now + SESSION_TTL_S * 1_000_000))
    return token, Session(Operator(int(row["id"]), row["username"], row["role"], row["status"]), csrf)


def login_committing(engine, clock: Clock, username: str, password: str) -> tuple[str, Session]:
    """Log in in its own transaction: the failure count commits, then a wrong password raises."""
    from cunguan.db.tx import run_in_transaction

    outcome = run_in_transaction(engine, lambda conn: login(conn, clock, username, password))
    if outcome is None:
        raise LoginFailed(_REFUSED)
    return outcome


def _verify(password_hash: str, password: object) -> bool:
    if not isinstance(password, str) or len(password) > operators.MAX_PASSWORD_LEN:
        return False
    try:
        return operators.HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def session_for(conn: Connection, clock: Clock, token: str | None) -> Session | None:
    """The live session of this token, or None (unknown, expired, or operator disabled)."""
    if not token or len(token) > MAX_TOKEN_LEN:
        return None
    row = conn.execute(
        select(console_sessions.c.csrf_token, console_sessions.c.expires_us, console_operators.c.id,
               console_operators.c.username, console_operators.c.role, console_operators.c.status)
        .join(console_operators, console_operators.c.id == console_sessions.c.operator_id)
        .where(console_sessions.c.token_hash == token_hash(token))).mappings().first()
    if row is None or row["expires_us"] <= now_us(clock) or row["status"] != operators.ACTIVE:
        return None
    return Session(Operator(int(row["id"]), row["username"], row["role"], row["status"]), row["csrf_token"])


def check_csrf(session: Session, submitted: object) -> None:
    """Constant-time comparison of the form's token with the session's."""
    if not isinstance(submitted, str) or not submitted or not hmac.compare_digest(
            submitted.encode(), session.csrf_token.encode()):
        raise CsrfRefused("表单已失效或来源不明（CSRF 校验失败），请刷新页面后重试")


def logout(conn: Connection, token: str) -> None:
    conn.execute(console_sessions.delete().where(console_sessions.c.token_hash == token_hash(token)))
