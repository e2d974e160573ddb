"""Migrated balances as the platform sees them: each credited balance is a RECHARGE record with
`rechargeWay BANK` (转账充值, protocol §3.13/§5.7), keyed by the requestNo the importer generated
(`MIG{run}-{line}`), in the shape of a QUERY_TRANSACTION record. The query room answers
QUERY_TRANSACTION (transactionType RECHARGE) by asking `migration_recharge_records` when its own
recharges do not know the requestNo.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from cunguan.clock import BEIJING, UTC
from cunguan.db.tables.migration import migration_balances
from cunguan.money import fen_to_decimal

BIZ_TYPE = "RECHARGE_BANK"
"""The ledger business type of a migrated balance (custody cash account → user)."""
RECHARGE_WAY = "BANK"
SERVICE_NAME = "RECHARGE"


def request_no_for(run_id: int, line_no: int) -> str:
    return f"MIG{run_id}-{line_no}"


def ledger_key(platform_no: str, request_no: str) -> str:
    return f"{platform_no}:MIGRATION:{request_no}"


def beijing_time(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1_000_000, UTC).astimezone(BEIJING).strftime("%Y%m%d%H%M%S")


def _record(row: Any) -> dict[str, Any]:
    when = beijing_time(int(row["created_us"]))
    return {"requestNo": row["request_no"], "platformUserNo": row["platform_user_no"],
            "amount": fen_to_decimal(int(row["amount_fen"])), "status": "SUCCESS", "rechargeWay": RECHARGE_WAY,
            "createTime": when, "transactionTime": when}


def migration_recharge_records(conn: Connection, platform_no: str, request_no: str) -> list[dict[str, Any]]:
    """The QUERY_TRANSACTION-shaped records (empty list when unknown) of one migrated balance."""
    table = migration_balances.c
    rows = conn.execute(select(migration_balances).where(table.platform_no == platform_no,
                                                         table.request_no == request_no)).mappings()
    return [_record(r) for r in rows]


def user_migration_balance(conn: Connection, platform_no: str, platform_user_no: str) -> dict[str, Any] | None:
    """The migrated balance record of a user, if any (one per user and platform)."""
    table = migration_balances.c
    row = conn.execute(select(migration_balances).where(table.platform_no == platform_no,
                                                        table.platform_user_no == platform_user_no)).mappings().first()
    return _record(row) if row is not None else None
