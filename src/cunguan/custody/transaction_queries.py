"""QUERY_TRANSACTION (protocol §2.7, §3.20): one query over the records every room keeps.

Each room answers for the transaction types it produces, from its own tables:
- money (custody/money_queries.py): RECHARGE (RECHARGE, DIRECT_RECHARGE), WITHDRAW (WITHDRAW,
  AUTO_WITHDRAW), INTERCEPT_WITHDRAW; migrated balances (migration/balances.py) are RECHARGE records
  with `rechargeWay BANK`;
- trades (custody/trade_queries.py): PRETRANSACTION, TRANSACTION, FREEZE, UNFREEZE,
  CANCEL_PRETRANSACTION, DEBENTURE_SALE, GENERAL_FREEZE (the last needs `platformUserNo`).
`UPDATE_BANKCARD_AUDIT` ([K] only) is not offered: it answers 100002 like any unknown type.

Nothing found answers errorCode 100007 with `code "1"`, `status "INIT"` (the error envelope), as the
protocol records [H]. Amounts leave as JSON numbers with two decimals (`Decimal`), like every amount.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from cunguan.custody.fields import opt, req_enum, req_text
from cunguan.custody.user_errors import InvalidField, QueryTargetNotFound

MONEY_TYPES = ("RECHARGE", "WITHDRAW", "INTERCEPT_WITHDRAW")
TRADE_TYPES = ("PRETRANSACTION", "TRANSACTION", "FREEZE", "UNFREEZE", "CANCEL_PRETRANSACTION",
               "DEBENTURE_SALE", "GENERAL_FREEZE")
TRANSACTION_TYPES = MONEY_TYPES + TRADE_TYPES

Records = list[dict[str, Any]]


def _money(conn: Connection, platform_no: str, kind: str, request_no: str, _user: str | None) -> Records:
    from cunguan.custody import money_queries
    from cunguan.migration import balances

    records = money_queries.money_records(conn, platform_no, kind, request_no) or []
    if kind == "RECHARGE" and not records:
        records = balances.migration_recharge_records(conn, platform_no, request_no) or []
    return records


def _trades(conn: Connection, platform_no: str, kind: str, request_no: str, user: str | None) -> Records:
    from cunguan.custody import trade_queries

    return trade_queries.trade_records(conn, platform_no, kind, request_no, user) or []


SOURCES: dict[str, Callable[[Connection, str, str, str, str | None], Records]] = {
    **dict.fromkeys(MONEY_TYPES, _money), **dict.fromkeys(TRADE_TYPES, _trades)}


def query_transaction(conn: Connection, platform_no: str, req: dict[str, Any]) -> dict[str, Any]:
    """The `records` of one request number (read-only)."""
    kind = req_enum(req.get("transactionType"), "transactionType", TRANSACTION_TYPES)
    request_no = req_text(req.get("requestNo"), "requestNo")
    user = opt(req.get("platformUserNo"))
    if user is not None:
        user = req_text(user, "platformUserNo")
    if kind == "GENERAL_FREEZE" and user is None:
        raise InvalidField("platformUserNo is required for transactionType GENERAL_FREEZE", field="platformUserNo")
    records = SOURCES[kind](conn, platform_no, kind, request_no, user)
    if not records:
        raise QueryTargetNotFound(f"no {kind} record with requestNo {request_no!r}", field="requestNo")
    return {"records": records}
