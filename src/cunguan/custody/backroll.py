"""BACKROLL_RECHARGE (资金回退充值, §2.3, §5.5): money of a withdrawal that did not go out comes back to
the user, reported by an unsolicited NOTIFY with serviceName BACKROLL_RECHARGE.

Two causes: INTERCEPT (INTERCEPT_WITHDRAW while the withdrawal was ACCEPT: the freeze is released,
nothing had left) and REMITFAIL (the payout channel refused or returned the payment after we handed
it over: the posting that took the money out is reversed by a new posting custody cash → user, and
the still-frozen commission is released). Either way the user gets back `amount` in full
(`rollbackAmount`), of which `rollbackCommission` is the commission that is not charged.
A backroll's own requestNo (回退充值流水号) is `BR` + the withdrawal's id: one per withdrawal, which
a unique key on (platform, withdrawRequestNo) also enforces. It appears in check file
BACKROLL_RECHARGE and as a RECHARGE record with rechargeWay BACKROLL.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.custody.recharges import enqueue_notify, now_us, wire_time
from cunguan.db.tables.custody_money import custody_backrolls
from cunguan.money import fen_to_decimal

SERVICE = "BACKROLL_RECHARGE"
TYPES = ("INTERCEPT", "REMITFAIL")


def backroll_request_no(withdrawal_id: int) -> str:
    return f"BR{withdrawal_id:016d}"


def record_backroll(conn: Connection, clock: Clock, withdrawal: dict, rollback_type: str) -> dict:
    """Write the backroll row and queue its NOTIFY, in the caller's transaction (the caller books the
    money). Returns the row."""
    assert rollback_type in TYPES
    now = now_us(clock)
    values = dict(platform_no=withdrawal["platform_no"], request_no=backroll_request_no(int(withdrawal["id"])),
                  withdraw_request_no=withdrawal["request_no"], platform_user_no=withdrawal["platform_user_no"],
                  rollback_type=rollback_type, rollback_fen=int(withdrawal["amount_fen"]),
                  rollback_commission_fen=int(withdrawal["commission_fen"]), created_us=now)
    conn.execute(custody_backrolls.insert().values(**values))
    enqueue_notify(conn, clock, values["platform_no"], SERVICE, {
        "requestNo": values["request_no"], "withdrawRequestNo": values["withdraw_request_no"],
        "platformUserNo": values["platform_user_no"], "rollbackAmount": fen_to_decimal(values["rollback_fen"]),
        "rollbackCommission": fen_to_decimal(values["rollback_commission_fen"]),
        "completedTime": wire_time(now), "rollbackType": rollback_type,
    }, values["request_no"])
    return values


def find_backroll(conn: Connection, platform_no: str, request_no: str) -> dict | None:
    row = conn.execute(select(custody_backrolls).where(custody_backrolls.c.platform_no == platform_no,
                                                       custody_backrolls.c.request_no == request_no)).mappings().first()
    return dict(row) if row is not None else None
