"""Bank operators: username, argon2 password hash, role.

Passwords are 10-128 characters (operators hold bank-wide power, so the floor is higher than a
retail customer's); only the argon2 hash is stored. Usernames are 3-40 of letters, digits, '.', '_'
and '-', compared as typed (case-sensitive), unique.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from cunguan.clock import (
    Clock,
    now_us,  # noqa: F401  (re-exported: callers use operators.now_us)
)
from cunguan.console.errors import InvalidInput, NotFound, OperatorExists
from cunguan.console.roles import check_role
from cunguan.db.tables.console import console_operators

USERNAME_RE = re.compile(r"[A-Za-z0-9._-]{3,40}")
MIN_PASSWORD_LEN = 10
MAX_PASSWORD_LEN = 128
ACTIVE = "ACTIVE"
DISABLED = "DISABLED"

HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
"""OWASP's argon2id minimum. Tests swap in cheaper parameters (module attribute, read at call time)."""


@dataclass(frozen=True)
class Operator:
    id: int
    username: str
    role: str
    status: str

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


def check_username(value: object) -> str:
    if not isinstance(value, str) or not USERNAME_RE.fullmatch(value):
        raise InvalidInput("username must be 3-40 letters, digits, '.', '_' or '-'")
    return value


def check_password(value: object) -> str:
    if not isinstance(value, str) or not MIN_PASSWORD_LEN <= len(value) <= MAX_PASSWORD_LEN:
        raise InvalidInput(f"password must be {MIN_PASSWORD_LEN}-{MAX_PASSWORD_LEN} characters")
    return value


def _to_operator(row) -> Operator:
    return Operator(int(row["id"]), row["username"], row["role"], row["status"])


def create_operator(conn: Connection, clock: Clock, *, username: str, password: str, role: str) -> Operator:
    username = check_username(username)
    role = check_role(role)
    password_hash = HASHER.hash(check_password(password))
    if find_by_username(conn, username) is not None:
        raise OperatorExists(f"operator {username} already exists")
    now = now_us(clock)
    try:
        (new_id,) = conn.execute(console_operators.insert().values(
            username=username, password_hash=password_hash, role=role, status=ACTIVE, failed_logins=0,
            created_us=now, updated_us=now).returning(console_operators.c.id)).one()
    except IntegrityError:
        raise OperatorExists(f"operator {username} already exists") from None
    return Operator(int(new_id), username, role, ACTIVE)


def find_by_username(conn: Connection, username: str) -> Operator | None:
    row = conn.execute(select(console_operators).where(console_operators.c.username == username)).mappings().first()
    return _to_operator(row) if row is not None else None


def get_operator(conn: Connection, operator_id: int) -> Operator:
    row = conn.execute(select(console_operators).where(console_operators.c.id == operator_id)).mappings().first()
    if row is None:
        raise NotFound(f"operator {operator_id} does not exist")
    return _to_operator(row)


def list_operators(conn: Connection) -> list[Operator]:
    rows = conn.execute(select(console_operators).order_by(console_operators.c.username)).mappings()
    return [_to_operator(r) for r in rows]
