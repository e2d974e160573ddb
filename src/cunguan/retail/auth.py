"""Online-banking login: argon2 password hashes and opaque session tokens.

Decision: a session is a random token (256 bits) that the web pages carry in an HttpOnly cookie and the
mobile app sends as `Authorization: Bearer <token>`; only its SHA-256 is stored, so a database leak
does not leak live sessions. Sessions expire after `SESSION_TTL_S`.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.db.tables.retail import retail_customers, retail_sessions
from cunguan.retail.errors import LoginFailed

SESSION_TTL_S = 30 * 60
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


def hash_password(password: str) -> str:
    if not 6 <= len(password) <= 64:
        raise ValueError("password must be 6-64 characters")
    return _hasher.hash(password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _us(clock: Clock) -> int:
    return int(clock.now().timestamp() * 1_000_000)


def login(conn: Connection, clock: Clock, login_name: str, password: str) -> tuple[str, int]:
    """(token, customer_id) or LoginFailed (one message for unknown name and wrong password)."""
    row = conn.execute(select(retail_customers.c.id, retail_customers.c.password_hash).where(
        retail_customers.c.login_name == login_name)).first()
    if row is None:
        raise LoginFailed("login name or password is wrong")
    try:
        _hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise LoginFailed("login name or password is wrong") from None
    token = secrets.token_urlsafe(32)
    now = _us(clock)
    conn.execute(retail_sessions.insert().values(token_hash=_token_hash(token), customer_id=row.id,
                                                 expires_us=now + SESSION_TTL_S * 1_000_000, created_us=now))
    return token, int(row.id)


def session_customer(conn: Connection, clock: Clock, token: str | None) -> int | None:
    if not token or len(token) > 200:
        return None
    row = conn.execute(select(retail_sessions.c.customer_id, retail_sessions.c.expires_us).where(
        retail_sessions.c.token_hash == _token_hash(token))).first()
    if row is None or row.expires_us < _us(clock):
        return None
    return int(row.customer_id)


def logout(conn: Connection, token: str) -> None:
    conn.execute(retail_sessions.delete().where(retail_sessions.c.token_hash == _token_hash(token)))
