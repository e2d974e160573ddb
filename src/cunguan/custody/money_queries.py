"""Read-only views of money records: QUERY_TRANSACTION records for RECHARGE / WITHDRAW /
INTERCEPT_WITHDRAW (the QUERY_TRANSACTION service itself is assembled elsewhere), and the rows of the
check files RECHARGE, WITHDRAW, COMMISSION and BACKROLL_RECHARGE (§3.24 column order).

Records carry amounts as exact yuan `Decimal`s and times as wire `yyyyMMddHHmmss` (Beijing). A
backroll's requestNo is also found under RECHARGE (rechargeWay BACKROLL, §3.13). Check-file days are
Beijing dates: a recharge belongs to the day the company confirmed it (pay date), a withdrawal to the
day it completed successfully, a commission to the day it was charged, a backroll to its day.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from cunguan.clock import BEIJING
from cunguan.custody.backroll import find_backroll
from cunguan.custody.recharges import find_recharge, us_to_dt, wire_time
from cunguan.custody.withdrawals import find_withdrawal, intercept_record
from cunguan.db.tables.custody_money import custody_backrolls, custody_recharges, custody_withdrawals
from cunguan.money import fen_to_decimal, format_yuan

CURRENCY = "CNY"
"""The currency column's text is not shown in any source (§3.24); we write CNY."""


def money_records(conn: Connection, platform_no: str, transaction_type: str, request_no: str) -> list[dict] | None:
    """QUERY_TRANSACTION records of one requestNo, or None when there is none of that type."""
    if transaction_type == "RECHARGE":
        row = find_recharge(conn, platform_no, request_no)
        if row is not None:
            return [{
                "requestNo": row["request_no"], "platformUserNo": row["platform_user_no"],
                "amount": fen_to_decimal(int(row["amount_fen"])), "commission": fen_to_decimal(int(row["commission_fen"])),
                "status": row["status"], "payCompany": row["pay_company"], "rechargeWay": row["recharge_way"],
                "createTime": wire_time(row["created_us"]), "transactionTime": wire_time(row["paid_us"] or row["updated_us"]),
            }]
        back = find_backroll(conn, platform_no, request_no)
        if back is not None:
            return [{
                "requestNo": back["request_no"], "platformUserNo": back["platform_user_no"],
                "amount": fen_to_decimal(int(back["rollback_fen"])),
                "commission": fen_to_decimal(int(back["rollback_commission_fen"])), "status": "SUCCESS",
                "rechargeWay": "BACKROLL", "withdrawRequestNo": back["withdraw_request_no"],
                "rollbackType": back["rollback_type"], "createTime": wire_time(back["created_us"]),
                "transactionTime": wire_time(back["created_us"]),
            }]
        return None
    if transaction_type == "WITHDRAW":
        row = find_withdrawal(conn, platform_no, request_no)
        if row is None:
            return None
        return [{
            "requestNo": row["request_no"], "platformUserNo": row["platform_user_no"],
            "amount": fen_to_decimal(int(row["amount_fen"])), "commission": fen_to_decimal(int(row["commission_fen"])),
            "status": row["status"], "withdrawWay": row["withdraw_type"], "withdrawForm": row["withdraw_form"],
            "remitType": row["remit_type"], "floatAmount": fen_to_decimal(int(row["float_fen"])),
            "bankcardNo": row["bankcard_masked"], "bankcode": row["bankcode"],
            "createTime": wire_time(row["created_us"]),
            "transactionTime": wire_time(row["accepted_us"] or row["created_us"]),
            "remitTime": wire_time(row["remit_us"]), "completedTime": wire_time(row["completed_us"]),
        }]
    if transaction_type == "INTERCEPT_WITHDRAW":
        row = intercept_record(conn, platform_no, request_no)
        if row is None:
            return None
        return [{
            "requestNo": row["request_no"], "withdrawRequestNo": row["withdraw_request_no"],
            "platformUserNo": row["platform_user_no"], "amount": fen_to_decimal(int(row["amount_fen"])),
            "status": row["status"], "createTime": wire_time(row["created_us"]),
            "transactionTime": wire_time(row["created_us"]),
        }]
    return None


# ---------------------------------------------------------------- check files


def _day_bounds(day: dt.date) -> tuple[int, int]:
    start = dt.datetime.combine(day, dt.time(0), BEIJING)
    end = start + dt.timedelta(days=1)
    epoch = us_to_dt(0)
    return (int((start - epoch) / dt.timedelta(microseconds=1)), int((end - epoch) / dt.timedelta(microseconds=1)))


def check_file_rows(conn: Connection, platform_no: str, day: dt.date, file_type: str) -> list[tuple[str, ...]]:
    """Rows of one check file of `platform_no` for Beijing `day`, columns in §3.24 order (text)."""
    start, end = _day_bounds(day)
    y = format_yuan
    if file_type == "RECHARGE":
        rows = conn.execute(select(custody_recharges).where(
            custody_recharges.c.platform_no == platform_no, custody_recharges.c.status == "SUCCESS",
            custody_recharges.c.pay_date == day.strftime("%Y%m%d")).order_by(custody_recharges.c.paid_us, custody_recharges.c.id)).mappings()
        return [(wire_time(r["paid_us"]) or "", platform_no, r["pay_company"], r["request_no"],
                 r["order_no"], r["service_name"], y(int(r["amount_fen"])), CURRENCY, r["platform_user_no"],
                 r["platform_user_no"], r["card_masked"] or "", r["bankcode"] or "", r["recharge_way"],
                 y(int(r["amount_fen"]) - int(r["commission_fen"])), "", r["company_order_no"] or "") for r in rows]
    if file_type == "WITHDRAW":
        rows = conn.execute(select(custody_withdrawals).where(
            custody_withdrawals.c.platform_no == platform_no, custody_withdrawals.c.status == "SUCCESS",
            custody_withdrawals.c.completed_us >= start, custody_withdrawals.c.completed_us < end)
            .order_by(custody_withdrawals.c.completed_us)).mappings()
        return [(wire_time(r["completed_us"]) or "", platform_no, r["request_no"], r["order_no"], r["service_name"],
                 y(int(r["amount_fen"])), CURRENCY, r["platform_user_no"], r["platform_user_no"],
                 r["bankcard_masked"] or "", r["bankcode"] or "", y(int(r["amount_fen"]) - int(r["commission_fen"])), "",
                 r["status"], r["withdraw_type"], y(int(r["float_fen"])), r["remit_type"], r["withdraw_form"])
                for r in rows]
    if file_type == "COMMISSION":
        out: list[tuple[str, ...]] = []
        for r in conn.execute(select(custody_recharges).where(
                custody_recharges.c.platform_no == platform_no, custody_recharges.c.status == "SUCCESS",
                custody_recharges.c.commission_fen > 0,
                custody_recharges.c.pay_date == day.strftime("%Y%m%d"))).mappings():
            out.append((wire_time(r["paid_us"]) or "", platform_no, r["order_no"], "RECHARGE", r["platform_user_no"],
                        "SYS_GENERATE_004", y(int(r["commission_fen"])), CURRENCY, "", "", r["request_no"]))
        for r in conn.execute(select(custody_withdrawals).where(and_(
                custody_withdrawals.c.platform_no == platform_no, custody_withdrawals.c.status == "SUCCESS",
                custody_withdrawals.c.commission_fen > 0, custody_withdrawals.c.completed_us >= start,
                custody_withdrawals.c.completed_us < end))).mappings():
            out.append((wire_time(r["completed_us"]) or "", platform_no, r["order_no"], "WITHDRAW",
                        r["platform_user_no"], "SYS_GENERATE_004", y(int(r["commission_fen"])), CURRENCY, "", "",
                        r["request_no"]))
        return sorted(out)
    if file_type == "BACKROLL_RECHARGE":
        rows = conn.execute(select(custody_backrolls).where(
            custody_backrolls.c.platform_no == platform_no, custody_backrolls.c.created_us >= start,
            custody_backrolls.c.created_us < end).order_by(custody_backrolls.c.created_us)).mappings()
        return [(wire_time(r["created_us"]) or "", platform_no, "", r["request_no"], r["request_no"], "BACKROLL_RECHARGE",
                 y(int(r["rollback_fen"])), CURRENCY, r["platform_user_no"], r["platform_user_no"], "BACKROLL",
                 y(int(r["rollback_fen"]) - int(r["rollback_commission_fen"])), y(int(r["rollback_commission_fen"])),
                 r["rollback_type"], r["withdraw_request_no"]) for r in rows]
    raise ValueError(f"not a money check file type: {file_type!r}")


def record_summary(records: list[dict[str, Any]] | None) -> str:
    """One line for logs/CLI (no personal data)."""
    if not records:
        return "-"
    r = records[0]
    return f"{r.get('requestNo')} {r.get('status')} {r.get('amount')}"
