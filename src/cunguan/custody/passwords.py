"""Trade passwords: argon2 hashes, five wrong tries lock, UNFREEZE_TRADE_PASSWORD unlocks.

A password lives only in the request object (its field has `repr=False`), the argon2 hash and the
verifier; it is never logged, stored in the request register or returned.

A wrong password must leave a trace (the failure count) even though the request fails, so the
checking services do not raise for it: they record the failure and return a result with
`password_ok=False`. The adapter commits, then calls `result.raise_for_password()`, which raises
`WrongPassword` (or `PasswordLocked` on the try that locked it) for the error envelope. The requestNo
is not consumed by a wrong try, so the user can retry on the same page.

Rules (the spec is silent on strength): 6-32 printable characters without spaces; five consecutive
wrong tries lock the password; a right one resets the count; a locked password refuses every check
(and RESET_PASSWORD) until UNFREEZE_TRADE_PASSWORD, which fails when it is not locked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.custody import requests
from cunguan.custody.fields import opt, opt_enum, req_text
from cunguan.custody.user_errors import (
    BusinessRefused,
    IdentityMismatch,
    InvalidField,
    PasswordLocked,
    PasswordNotLocked,
    PasswordNotSet,
)
from cunguan.custody.user_store import User, check_platform_no, get_user, platform_user_no
from cunguan.db.tables.custody_users import custody_passwords

MAX_WRONG_TRIES = 5
MIN_LEN = 6
MAX_LEN = 32

HASHER = PasswordHasher()
"""argon2id with the library's defaults (RFC 9106 low-memory profile)."""


class WrongPassword(BusinessRefused):
    reason = "WRONG_PASSWORD"


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    attempts_left: int
    locked: bool


def validate_new_password(value: object, field_name: str = "password") -> str:
    if opt(value) is None:
        raise InvalidField(f"{field_name} is required", field=field_name)
    if not isinstance(value, str):
        raise InvalidField(f"{field_name} must be text", field=field_name)
    if not MIN_LEN <= len(value) <= MAX_LEN:
        raise InvalidField(f"{field_name} must have {MIN_LEN}-{MAX_LEN} characters", field=field_name)
    if any(not ch.isprintable() or ch.isspace() for ch in value):
        raise InvalidField(f"{field_name} must not contain spaces or control characters", field=field_name)
    return value


def after_wrong_try(failed_count: int) -> tuple[int, bool]:
    """(new failure count, locked?) after one more wrong try: the MAX_WRONG_TRIES-th one locks."""
    assert 0 <= failed_count < MAX_WRONG_TRIES, "a locked password is never tried"
    failed = failed_count + 1
    return failed, failed >= MAX_WRONG_TRIES


def attempts_left(failed_count: int) -> int:
    return max(0, MAX_WRONG_TRIES - failed_count)


def _row(conn: Connection, user_id: int) -> dict | None:
    stmt = select(custody_passwords).where(custody_passwords.c.user_id == user_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def set_password(conn: Connection, user_id: int, password: str, now_us: int) -> None:
    """Store a new hash and clear the failure count and lock."""
    digest = HASHER.hash(password)
    values = dict(password_hash=digest, failed_count=0, locked=False, locked_us=None, updated_us=now_us)
    if _row(conn, user_id) is None:
        conn.execute(custody_passwords.insert().values(user_id=user_id, **values))
    else:
        conn.execute(update(custody_passwords).where(custody_passwords.c.user_id == user_id).values(**values))


def is_locked(conn: Connection, user_id: int) -> bool:
    row = _row(conn, user_id)
    return bool(row and row["locked"])


def verify(conn: Connection, user_id: int, password: str, now_us: int) -> PasswordCheck:
    """Check a password and record the outcome. Raises PasswordNotSet / PasswordLocked (nothing
    written); a wrong password increments the count and locks at MAX_WRONG_TRIES."""
    row = _row(conn, user_id)
    if row is None:
        raise PasswordNotSet("the user has no trade password yet", field="password")
    if row["locked"]:
        raise PasswordLocked("the trade password is locked after too many wrong tries; unfreeze it first",
                             field="password")
    try:
        HASHER.verify(row["password_hash"], password if isinstance(password, str) else "")
        ok = True
    except (VerificationError, InvalidHashError):
        ok = False
    table = custody_passwords.c
    if ok:
        if row["failed_count"]:
            conn.execute(update(custody_passwords).where(table.user_id == user_id)
                         .values(failed_count=0, updated_us=now_us))
        return PasswordCheck(True, MAX_WRONG_TRIES, False)
    failed, locked = after_wrong_try(int(row["failed_count"]))
    conn.execute(update(custody_passwords).where(table.user_id == user_id).values(
        failed_count=failed, locked=locked, locked_us=now_us if locked else None, updated_us=now_us))
    return PasswordCheck(False, attempts_left(failed), locked)


@dataclass(frozen=True)
class PasswordOutcome:
    """Base of the results of services the user confirms with the trade password."""

    password_ok: bool
    attempts_left: int
    locked: bool

    def raise_for_password(self) -> None:
        """Call after commit: raise the error envelope's typed error for a wrong password."""
        if self.password_ok:
            return
        if self.locked:
            raise PasswordLocked("wrong trade password; the password is now locked", field="password")
        raise WrongPassword(f"wrong trade password ({self.attempts_left} tries left)", field="password")


def require_page_password(value: object) -> str:
    """The trade password the user typed on the bank's page (never reqData)."""
    if opt(value) is None or not isinstance(value, str):
        raise InvalidField("password is required (typed by the user on the bank's page)", field="password")
    return value


# ---------------------------------------------------------------- CHECK_PASSWORD


@dataclass(frozen=True)
class CheckPasswordRequest:
    request_no: str
    platform_user_no: str
    biz_type_description: str
    password: str = field(repr=False)
    redirect_url: str | None = None


@dataclass(frozen=True)
class CheckPasswordResult(PasswordOutcome):
    request_no: str
    platform_user_no: str
    biz_type_description: str


def check_password(conn: Connection, clock: Clock, platform_no: str, req: CheckPasswordRequest
                   ) -> CheckPasswordResult:
    """CHECK_PASSWORD: verify the user's trade password for a platform-defined action."""
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    user_no = platform_user_no(req.platform_user_no)
    desc = req_text(req.biz_type_description, "bizTypeDescription", max_len=25)
    requests.claim(conn, clock, platform_no, request_no, "CHECK_PASSWORD", user_no)
    user = get_user(conn, platform_no, user_no, for_update=True)
    now_us = requests.clock_us(clock)
    check = verify(conn, user.id, req.password, now_us)
    result = CheckPasswordResult(check.ok, check.attempts_left, check.locked, request_no, user_no, desc)
    if not check.ok:
        requests.release(conn, platform_no, request_no)
    else:
        requests.record(conn, platform_no, request_no, user_no,
                        {"platformUserNo": user_no, "bizTypeDescription": desc})
    return result


# ---------------------------------------------------------------- RESET_PASSWORD


@dataclass(frozen=True)
class ResetPasswordRequest:
    """`isSkip` Forget (default): the user proves identity with the ID number on file; Remember: the
    user types the old password. Either way the new password comes from the bank's page."""

    request_no: str
    platform_user_no: str
    new_password: str = field(repr=False)
    is_skip: str | None = None
    old_password: str | None = field(default=None, repr=False)
    id_card_no: str | None = field(default=None, repr=False)
    redirect_url: str | None = None


@dataclass(frozen=True)
class ResetPasswordResult(PasswordOutcome):
    request_no: str
    platform_user_no: str


def _identity_on_file(conn: Connection, user: User) -> str | None:
    if user.user_type == "PERSONAL":
        return user.id_card_no
    from cunguan.custody.enterprise import legal_id_card_no

    return legal_id_card_no(conn, user)


def reset_password(conn: Connection, clock: Clock, platform_no: str, req: ResetPasswordRequest
                   ) -> ResetPasswordResult:
    """RESET_PASSWORD: set a new trade password (Forget: ID check; Remember: old password)."""
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    user_no = platform_user_no(req.platform_user_no)
    is_skip = opt_enum(req.is_skip, "isSkip", ("Forget", "Remember"), default="Forget")
    new_password = validate_new_password(req.new_password, "newPassword")
    requests.claim(conn, clock, platform_no, request_no, "RESET_PASSWORD", user_no)
    user = get_user(conn, platform_no, user_no, for_update=True)
    now_us = requests.clock_us(clock)
    if is_locked(conn, user.id):
        raise PasswordLocked("the trade password is locked; unfreeze it before resetting", field="password")
    if is_skip == "Remember":
        if opt(req.old_password) is None:
            raise InvalidField("oldPassword is required when isSkip is Remember", field="oldPassword")
        check = verify(conn, user.id, req.old_password or "", now_us)
        if not check.ok:
            requests.release(conn, platform_no, request_no)
            return ResetPasswordResult(False, check.attempts_left, check.locked, request_no, user_no)
    else:
        typed = req_text(req.id_card_no, "idCardNo").upper()
        on_file = _identity_on_file(conn, user)
        if on_file is None or typed != on_file.upper():
            raise IdentityMismatch("idCardNo does not match the ID number on file", field="idCardNo")
    set_password(conn, user.id, new_password, now_us)
    requests.record(conn, platform_no, request_no, user_no,
                    {"platformUserNo": user_no, "isSkip": is_skip})
    return ResetPasswordResult(True, MAX_WRONG_TRIES, False, request_no, user_no)


# ---------------------------------------------------------------- UNFREEZE_TRADE_PASSWORD


@dataclass(frozen=True)
class UnfreezeTradePasswordRequest:
    request_no: str
    platform_user_no: str


@dataclass(frozen=True)
class UnfreezeTradePasswordResult:
    request_no: str
    platform_user_no: str


def unfreeze_trade_password(conn: Connection, clock: Clock, platform_no: str,
                            req: UnfreezeTradePasswordRequest) -> UnfreezeTradePasswordResult:
    """UNFREEZE_TRADE_PASSWORD: release the wrong-password lock; fails when it is not locked."""
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    user_no = platform_user_no(req.platform_user_no)
    requests.claim(conn, clock, platform_no, request_no, "UNFREEZE_TRADE_PASSWORD", user_no)
    user = get_user(conn, platform_no, user_no, for_update=True)
    if not is_locked(conn, user.id):
        raise PasswordNotLocked("该用户密码未被冻结: the trade password is not locked", field="platformUserNo")
    now_us = requests.clock_us(clock)
    conn.execute(update(custody_passwords).where(custody_passwords.c.user_id == user.id).values(
        failed_count=0, locked=False, locked_us=None, updated_us=now_us))
    requests.record(conn, platform_no, request_no, user_no,
                    {"platformUserNo": user_no})
    return UnfreezeTradePasswordResult(request_no, user_no)
