"""Custody users on storage: find by (platform_no, platform_user_no), create with a ledger account.

Every lookup is scoped by platform: there is no function that finds a user by number alone, so a
platform can never reach another platform's users. On PostgreSQL `get_user(..., for_update=True)`
locks the row, so two requests changing one user serialise (SQLite's IMMEDIATE transactions already
hold the single write lock).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from cunguan.custody.fields import req_text
from cunguan.custody.user_errors import IdCardNotUnique, InvalidField, UserAlreadyExists, UserNotFound
from cunguan.db import ledger_store
from cunguan.db.tables.custody_users import custody_users

LEDGER_OWNER_TYPE = "CUSTODY_USER"
_PLATFORM_NO = re.compile(r"[A-Za-z0-9_-]{1,13}")


@dataclass(frozen=True)
class User:
    id: int
    platform_no: str
    platform_user_no: str
    user_type: str
    user_role: str
    name: str | None
    id_card_type: str | None
    id_card_no: str | None
    mobile: str | None
    bankcard_no: str | None
    bankcode: str | None
    access_type: str
    audit_status: str
    active_status: str
    is_import_user_activate: bool
    ledger_account_id: int
    request_no: str | None

    @property
    def active(self) -> bool:
        return self.active_status == "ACTIVATED"


def ledger_code(platform_no: str, platform_user_no: str) -> str:
    return f"U:{platform_no}:{platform_user_no}"


def check_platform_no(platform_no: str) -> str:
    """Platform numbers are 10 digits in every sample; we take 1-13 letters/digits/_/- so that the
    ledger owner reference (platform:user, ≤ 64) always fits."""
    if not isinstance(platform_no, str) or not _PLATFORM_NO.fullmatch(platform_no):
        raise InvalidField("platformNo must be 1-13 letters or digits", field="platformNo")
    return platform_no


def platform_user_no(value: object, field: str = "platformUserNo") -> str:
    return req_text(value, field)


def to_user(row) -> User:
    return User(**{k: row[k] for k in User.__dataclass_fields__})


def find_user(conn: Connection, platform_no: str, user_no: str, *, for_update: bool = False) -> User | None:
    stmt = select(custody_users).where(custody_users.c.platform_no == platform_no,
                                       custody_users.c.platform_user_no == user_no)
    if for_update and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    return to_user(row) if row is not None else None


def get_user(conn: Connection, platform_no: str, user_no: str, *, for_update: bool = False,
             field: str = "platformUserNo") -> User:
    user = find_user(conn, platform_no, user_no, for_update=for_update)
    if user is None:
        raise UserNotFound(f"{field}: user does not exist on this platform", field=field)
    return user


def ensure_absent(conn: Connection, platform_no: str, user_no: str) -> None:
    if find_user(conn, platform_no, user_no) is not None:
        raise UserAlreadyExists("platformUserNo is already registered on this platform", field="platformUserNo")


def ensure_id_unique(conn: Connection, platform_no: str, id_card_no: str) -> None:
    row = conn.execute(select(custody_users.c.id).where(custody_users.c.platform_no == platform_no,
                                                        custody_users.c.personal_id_key == id_card_no)).first()
    if row is not None:
        raise IdCardNotUnique("idCardNo is already registered to another user of this platform (ID_CARD_NO_UNIQUE)",
                              field="idCardNo")


def create_user(conn: Connection, now_us: int, *, platform_no: str, platform_user_no: str, user_type: str,
                user_role: str, name: str | None, id_card_type: str | None, id_card_no: str | None,
                personal_id_unique: bool, mobile: str | None, bankcard_no: str | None, bankcode: str | None,
                access_type: str, audit_status: str, active_status: str, request_no: str | None) -> User:
    """Insert the user and open its ledger account (code `U:{platform}:{user}`) in the caller's
    transaction. Uniqueness races (same user number, same personal ID) surface as typed errors."""
    account_id = ledger_store.open_account(conn, ledger_code(platform_no, platform_user_no),
                                           owner_type=LEDGER_OWNER_TYPE,
                                           owner_ref=f"{platform_no}:{platform_user_no}")
    values = dict(platform_no=platform_no, platform_user_no=platform_user_no, user_type=user_type,
                  user_role=user_role, name=name, id_card_type=id_card_type, id_card_no=id_card_no,
                  personal_id_key=id_card_no if personal_id_unique else None, mobile=mobile,
                  bankcard_no=bankcard_no, bankcode=bankcode, access_type=access_type, audit_status=audit_status,
                  active_status=active_status, is_import_user_activate=True, ledger_account_id=account_id,
                  request_no=request_no, created_us=now_us, updated_us=now_us)
    try:
        conn.execute(custody_users.insert().values(**values))
    except IntegrityError as exc:
        if "personal_id" in str(exc.orig) or "platform_id" in str(exc.orig):
            raise IdCardNotUnique("idCardNo is already registered to another user of this platform",
                                  field="idCardNo") from None
        raise UserAlreadyExists("platformUserNo is already registered on this platform",
                                field="platformUserNo") from None
    user = find_user(conn, platform_no, platform_user_no)
    assert user is not None
    return user


@dataclass(frozen=True)
class NewUser:
    """One user for `create_users` (the fields of `create_user`)."""

    platform_user_no: str
    user_type: str
    user_role: str
    name: str | None
    id_card_type: str | None
    id_card_no: str | None
    personal_id_unique: bool
    mobile: str | None
    bankcard_no: str | None
    bankcode: str | None
    access_type: str
    audit_status: str
    active_status: str
    request_no: str | None = None


MAX_BULK_USERS = 10_000


def create_users(conn: Connection, now_us: int, platform_no: str, new_users: list[NewUser], *,
                 is_import_user_activate: bool = True) -> dict[str, int]:
    """Bulk `create_user` for the migration importer: the users and their ledger accounts in a fixed
    number of statements (an executemany of accounts, one read of their ids, an executemany of users,
    one read of the user ids) instead of four per user. The caller has already made sure that neither
    the user numbers nor the personal IDs exist (the importer checks a chunk against the platform and
    itself); a race still fails on the unique constraints, and the caller's transaction rolls back.
    Accounts are opened by `ledger_store.open_accounts` (zero balance, no overdraw).
    Returns platformUserNo → user id."""
    assert len(new_users) <= MAX_BULK_USERS, "bulk size above its limit"
    if not new_users:
        return {}
    codes = {u.platform_user_no: ledger_code(platform_no, u.platform_user_no) for u in new_users}
    assert len(codes) == len(new_users), "a user number twice in one bulk"
    ids = ledger_store.open_accounts(conn, [(code, LEDGER_OWNER_TYPE, f"{platform_no}:{no}")
                                            for no, code in codes.items()])
    conn.execute(custody_users.insert(), [dict(
        platform_no=platform_no, platform_user_no=u.platform_user_no, user_type=u.user_type, user_role=u.user_role,
        name=u.name, id_card_type=u.id_card_type, id_card_no=u.id_card_no,
        personal_id_key=u.id_card_no if u.personal_id_unique else None, mobile=u.mobile, bankcard_no=u.bankcard_no,
        bankcode=u.bankcode, access_type=u.access_type, audit_status=u.audit_status, active_status=u.active_status,
        is_import_user_activate=is_import_user_activate, ledger_account_id=ids[codes[u.platform_user_no]],
        request_no=u.request_no, created_us=now_us, updated_us=now_us) for u in new_users])
    c = custody_users.c
    return dict(conn.execute(select(c.platform_user_no, c.id).where(
        c.platform_no == platform_no, c.platform_user_no.in_(list(codes)))).all())


def update_user(conn: Connection, user: User, now_us: int, **changes: object) -> User:
    assert changes and "id" not in changes and "platform_no" not in changes
    conn.execute(update(custody_users).where(custody_users.c.id == user.id).values(updated_us=now_us, **changes))
    fresh = find_user(conn, user.platform_no, user.platform_user_no)
    assert fresh is not None
    return fresh
