"""Per-platform money settings and the T0 advance (垫资, scenario 10, protocol §5.5).

Settings (one row per platform in `custody_money_settings`; a platform without a row gets the
defaults below):
- `advance_mode`: who fronts the unsettled part of a T0 withdrawal —
  `PLATFORM` (default: the platform's advance account SYS_GENERATE_007, role PLATFORM_URGENT),
  `BANK` (the bank's own money, up to `bank_advance_limit_fen` outstanding per platform), or
  `NONE` (T0 withdrawals of unsettled money are refused with 100017).
- `audit_mode`: every withdrawal waits in CONFIRMING until the platform's CONFIRM_WITHDRAW.

How an advance is booked (the spec is silent; our choice keeps Σ virtual accounts = custody liability):
the unsettled part of the user's money is still owed to the custody account by the payment company.
A PLATFORM advance *freezes* that much of SYS_GENERATE_007 (key `{p}:adv:{withdraw requestNo}`): the
platform's real money in the custody account pays the card today, so it may not be spent until the
settlement brings the user's money in; then `repay_from_settlement` releases the freeze. No posting
moves between virtual accounts, since nobody's claim on the custody account changes — only whose real
money covers today's payout. A BANK advance touches no platform account (the bank's own funds are
outside custody): it is a row only, limited by the setting. An advance whose withdrawal fails,
is intercepted or cancelled is RETURNED (freeze released) at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from cunguan.custody import platforms
from cunguan.custody.money_errors import AdvanceAccountShort, NoAdvanceAccount
from cunguan.db import ledger_store
from cunguan.db.tables.custody_money import custody_advances, custody_money_settings
from cunguan.ledger.ops import Hold, Release

ADVANCE_MODES = ("NONE", "PLATFORM", "BANK")
DEFAULT_ADVANCE_MODE = "PLATFORM"
DEFAULT_BANK_ADVANCE_LIMIT_FEN = 0
ADVANCE_ACCOUNT = "SYS_GENERATE_007"


@dataclass(frozen=True)
class MoneySettings:
    platform_no: str
    advance_mode: str = DEFAULT_ADVANCE_MODE
    bank_advance_limit_fen: int = DEFAULT_BANK_ADVANCE_LIMIT_FEN
    audit_mode: bool = False


def get_settings(conn: Connection, platform_no: str) -> MoneySettings:
    row = conn.execute(select(custody_money_settings).where(
        custody_money_settings.c.platform_no == platform_no)).mappings().first()
    if row is None:
        return MoneySettings(platform_no)
    return MoneySettings(platform_no, row["advance_mode"], int(row["bank_advance_limit_fen"]), bool(row["audit_mode"]))


def set_settings(conn: Connection, now_us: int, platform_no: str, *, advance_mode: str | None = None,
                 bank_advance_limit_fen: int | None = None, audit_mode: bool | None = None) -> MoneySettings:
    """Change some of a platform's money settings (operators / CLI); the rest keep their values."""
    platforms.get_platform(conn, platform_no)
    current = get_settings(conn, platform_no)
    mode = current.advance_mode if advance_mode is None else advance_mode
    if mode not in ADVANCE_MODES:
        raise ValueError(f"advance_mode must be one of {', '.join(ADVANCE_MODES)}")
    limit = current.bank_advance_limit_fen if bank_advance_limit_fen is None else bank_advance_limit_fen
    if not isinstance(limit, int) or limit < 0:
        raise ValueError("bank_advance_limit_fen must be a whole number of fen ≥ 0")
    audit = current.audit_mode if audit_mode is None else bool(audit_mode)
    values = dict(advance_mode=mode, bank_advance_limit_fen=limit, audit_mode=audit, updated_us=now_us)
    done = conn.execute(update(custody_money_settings).where(
        custody_money_settings.c.platform_no == platform_no).values(**values))
    if done.rowcount == 0:
        conn.execute(custody_money_settings.insert().values(platform_no=platform_no, **values))
    return MoneySettings(platform_no, mode, limit, audit)


def advance_freeze_key(platform_no: str, withdraw_request_no: str) -> str:
    return f"{platform_no}:adv:{withdraw_request_no}"


def outstanding_for_user(conn: Connection, platform_no: str, user_no: str) -> int:
    """What is advanced and not yet repaid for this user's unsettled money."""
    rows = conn.execute(select(custody_advances.c.amount_fen, custody_advances.c.repaid_fen).where(
        custody_advances.c.platform_no == platform_no, custody_advances.c.platform_user_no == user_no,
        custody_advances.c.status == "OUTSTANDING")).all()
    return sum(int(a) - int(r) for a, r in rows)


def _bank_outstanding(conn: Connection, platform_no: str) -> int:
    rows = conn.execute(select(custody_advances.c.amount_fen, custody_advances.c.repaid_fen).where(
        custody_advances.c.platform_no == platform_no, custody_advances.c.source == "BANK",
        custody_advances.c.status == "OUTSTANDING")).all()
    return sum(int(a) - int(r) for a, r in rows)


def plan_advance(conn: Connection, platform_no: str, float_fen: int) -> str:
    """Check that `float_fen` can be advanced now and say who advances it (PLATFORM / BANK).
    Raises 100017 (no advance enabled) or 100016 (advance short)."""
    assert float_fen > 0
    settings = get_settings(conn, platform_no)
    if settings.advance_mode == "NONE":
        raise NoAdvanceAccount("the platform has no advance (垫资) enabled for T0 withdrawals of unsettled money")
    if settings.advance_mode == "BANK":
        if _bank_outstanding(conn, platform_no) + float_fen > settings.bank_advance_limit_fen:
            raise AdvanceAccountShort("the bank's advance line for this platform is used up")
        return "BANK"
    account = platforms.system_account(conn, platform_no, ADVANCE_ACCOUNT)
    if account is None:
        raise NoAdvanceAccount("the platform has no advance account SYS_GENERATE_007")
    balance, frozen = ledger_store.get_balance(conn, account.account_id)
    if balance - frozen < float_fen:
        raise AdvanceAccountShort(f"SYS_GENERATE_007 has {balance - frozen} fen available, {float_fen} needed")
    return "PLATFORM"


def advance_ops(conn: Connection, platform_no: str, source: str, withdraw_request_no: str, float_fen: int,
                ref: str) -> list[Hold]:
    if source != "PLATFORM":
        return []
    account = platforms.system_account(conn, platform_no, ADVANCE_ACCOUNT)
    assert account is not None
    return [Hold(account.account_id, float_fen, advance_freeze_key(platform_no, withdraw_request_no), ref)]


def record_advance(conn: Connection, now_us: int, *, platform_no: str, user_no: str, withdrawal_id: int,
                   source: str, float_fen: int, withdraw_request_no: str) -> None:
    conn.execute(custody_advances.insert().values(
        platform_no=platform_no, platform_user_no=user_no, withdrawal_id=withdrawal_id, source=source,
        amount_fen=float_fen, repaid_fen=0, status="OUTSTANDING",
        freeze_key=advance_freeze_key(platform_no, withdraw_request_no) if source == "PLATFORM" else None,
        created_us=now_us, updated_us=now_us))


def return_advance(conn: Connection, now_us: int, withdrawal_id: int) -> list[Release]:
    """The withdrawal did not go out: give the advance back at once. Returns the ledger ops to apply."""
    row = conn.execute(select(custody_advances).where(custody_advances.c.withdrawal_id == withdrawal_id,
                                                      custody_advances.c.status == "OUTSTANDING")).mappings().first()
    if row is None:
        return []
    conn.execute(update(custody_advances).where(custody_advances.c.id == row["id"]).values(
        status="RETURNED", updated_us=now_us))
    if row["freeze_key"] is None:
        return []
    return [Release(row["freeze_key"], None, ref=f"advance-return:{row['id']}")]


def repay_from_settlement(conn: Connection, now_us: int, platform_no: str, user_no: str,
                          settled_fen: int) -> tuple[int, list[Release]]:
    """`settled_fen` of this user's unsettled money has just settled: repay outstanding advances,
    oldest first, by as much. Returns (repaid fen, ledger ops releasing the 007 freezes)."""
    left = settled_fen
    ops: list[Release] = []
    rows = conn.execute(select(custody_advances).where(
        custody_advances.c.platform_no == platform_no, custody_advances.c.platform_user_no == user_no,
        custody_advances.c.status == "OUTSTANDING").order_by(custody_advances.c.id)).mappings().all()
    for row in rows:
        if left <= 0:
            break
        due = int(row["amount_fen"]) - int(row["repaid_fen"])
        pay = min(due, left)
        left -= pay
        repaid = int(row["repaid_fen"]) + pay
        conn.execute(update(custody_advances).where(custody_advances.c.id == row["id"]).values(
            repaid_fen=repaid, status="REPAID" if repaid == int(row["amount_fen"]) else "OUTSTANDING",
            updated_us=now_us))
        if row["freeze_key"] is not None:
            ops.append(Release(row["freeze_key"], pay, ref=f"advance-repay:{row['id']}"))
    return settled_fen - left, ops
