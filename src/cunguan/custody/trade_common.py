"""Small pieces shared by the trade-core services: wire amounts, ledger freeze keys, payers and payees
(users and the platform's `SYS_GENERATE_*` accounts) resolved in bulk, and ledger refusals mapped to
the protocol's codes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from cunguan.clock import BEIJING, UTC
from cunguan.custody import platforms
from cunguan.custody.fields import amount_fen, opt  # amount_fen: re-exported to the trade modules
from cunguan.custody.roles import SYSTEM_USER_PREFIX
from cunguan.custody.trade_errors import FreezeInsufficient, FreezeNotFound, InsufficientBalance
from cunguan.custody.user_errors import UserNotFound, UserUnavailable
from cunguan.db import ledger_store, pg_arrays
from cunguan.db.prepared import driver_sql, in_list, run_sql
from cunguan.ledger.errors import InsufficientAvailable, InsufficientFrozen, LedgerError, UnknownFreeze
from cunguan.ledger.ops import Op
from cunguan.money import fen_to_decimal


def opt_amount_fen(value: object, field: str) -> int | None:
    return None if opt(value) is None else amount_fen(value, field, allow_zero=True)


def pre_key(platform_no: str, request_no: str) -> str:
    """Ledger freeze key of a pre-transaction (freeze order)."""
    return f"{platform_no}:pre:{request_no}"


def general_key(platform_no: str, freeze_no: str) -> str:
    """Ledger freeze key of a general FREEZE."""
    return f"{platform_no}:gf:{freeze_no}"


def wire_time(us: int) -> str:
    """UTC µs → the wire's Beijing `yyyyMMddHHmmss`."""
    return dt.datetime.fromtimestamp(us / 1_000_000, UTC).astimezone(BEIJING).strftime("%Y%m%d%H%M%S")


def yuan(fen: int) -> object:
    return fen_to_decimal(int(fen))


def is_system(user_no: str) -> bool:
    return user_no.startswith(SYSTEM_USER_PREFIX)


@dataclass(slots=True)
class Party:
    """A payer or payee: a custody user or a system account of the platform (not frozen: one is built
    per party of every chunk; treat it as a value)."""

    user_no: str
    account_id: int
    system: bool
    active: bool
    role: str


def load_parties(conn: Connection, platform_no: str, user_nos: Iterable[str]) -> dict[str, Party]:
    """Resolve many numbers in one statement (the users, and the ledger accounts of the system
    numbers). Unknown numbers are absent."""
    wanted = set(user_nos)
    codes = {platforms.system_account_code(platform_no, n): n for n in wanted if n in platforms.SYSTEM_ACCOUNTS}
    users = sorted(n for n in wanted if not is_system(n))
    parts, params = [], []
    pg = conn.dialect.name == "postgresql"
    if users:
        if pg:  # a join on the array: `= ANY(array)` compared every user row with every number
            nos, param = pg_arrays.texts(users)
            parts.append("SELECT u.platform_user_no, u.ledger_account_id, u.active_status, u.user_role "  # noqa: S608
                         f"FROM unnest({nos}) AS k(no) JOIN custody_users u "
                         "ON u.platform_no = %s AND u.platform_user_no = k.no")
            params += [param, platform_no]
        else:
            in_users, user_params = in_list(conn, users)
            parts.append("SELECT platform_user_no, ledger_account_id, active_status, user_role FROM custody_users "  # noqa: S608
                         f"WHERE platform_no = ? AND platform_user_no {in_users}")
            params += [platform_no, *user_params]
    if codes:
        in_codes, code_params = in_list(conn, sorted(codes))
        parts.append(f"SELECT code, id, NULL, NULL FROM accounts WHERE code {in_codes}")  # noqa: S608
        params += code_params
    out: dict[str, Party] = {}
    if not parts:
        return out
    sql = " UNION ALL ".join(parts)
    for no, acc, status, role in run_sql(conn, sql if pg else driver_sql(conn, sql), params):
        if status is None:  # a system account (users always have a status)
            n = codes[no]
            out[n] = Party(n, int(acc), True, True, platforms.SYSTEM_ACCOUNTS[n])
        else:
            out[no] = Party(no, int(acc), False, status == "ACTIVATED", role)
    return out


def party(parties: dict[str, Party], user_no: str, field: str, *, must_be_active: bool = True) -> Party:
    found = parties.get(user_no)
    if found is None:
        raise UserNotFound(f"{field}: {user_no[:50]!r} does not exist on this platform", field=field)
    if must_be_active and not found.active:
        raise UserUnavailable(f"{field}: the user's account is not active", field=field)
    return found


def get_party(conn: Connection, platform_no: str, user_no: str, field: str, *,
              must_be_active: bool = True) -> Party:
    return party(load_parties(conn, platform_no, [user_no]), user_no, field, must_be_active=must_be_active)


def apply_ledger(conn: Connection, ops: Sequence[Op], fields: Sequence[str] | None = None) -> None:
    """One atomic ledger batch; its refusals become protocol errors (the caller's transaction rolls
    back). `fields[i]` names the request field an operation came from, for the message."""
    if not ops:
        return
    try:
        ledger_store.apply(conn, ops, atomic=True)
    except LedgerError as err:
        raise ledger_refusal(err, fields) from None


def ledger_refusal(err: LedgerError, fields: Sequence[str] | None = None) -> Exception:
    """The protocol error for a ledger refusal (`err.index` names the operation, `fields[index]` its
    request field); an untranslated ledger error comes back as is."""
    index = getattr(err, "index", None)
    field = fields[index] if fields is not None and index is not None and index < len(fields) else None
    if isinstance(err, InsufficientAvailable):
        return InsufficientBalance(f"{field or 'amount'}: available balance is not enough", field=field)
    if isinstance(err, InsufficientFrozen):
        return FreezeInsufficient(f"{field or 'amount'}: the freeze order has less left", field=field)
    if isinstance(err, UnknownFreeze):
        return FreezeNotFound(f"{field or 'freeze'}: no such freeze on the ledger", field=field)
    return err


def freeze_states(conn: Connection, keys: Sequence[str]) -> dict[str, tuple[int, int, int]]:
    """(amount, consumed, released) of ledger freezes by key, one statement."""
    if not keys:
        return {}
    from cunguan.db.tables.ledger import freezes

    rows = conn.execute(select(freezes.c.key, freezes.c.amount_fen, freezes.c.consumed_fen, freezes.c.released_fen)
                        .where(freezes.c.key.in_(list(keys))))
    return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}
