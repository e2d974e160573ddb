"""QUERY_TRANSACTION records of the trade core (protocol §2.7, §3.16, §3.19, §3.20), for the engineer
who assembles QUERY_TRANSACTION across rooms:

    trade_records(conn, platform_no, transaction_type, request_no, platform_user_no) -> list[dict] | None

None means "not one of ours, or not found" (the assembler answers 100007). Records carry `amount` as a
yuan Decimal (a JSON number on the wire) and Beijing `yyyyMMddHHmmss` times.

| transactionType | looked up by | record fields |
|---|---|---|
| PRETRANSACTION | the freeze order's requestNo | requestNo, platformUserNo, bizType, projectNo, amount, preMarketingAmount, share, creditsaleRequestNo, consumedAmount, unfreezeAmount, remainAmount, status (FREEZED / UNFREEZED), createTime, transactionTime |
| TRANSACTION | the trade's requestNo | requestNo, tradeType, projectNo, saleRequestNo, amount (sum of details), status (SUCCESS), createTime, transactionTime, details[] {bizType, freezeRequestNo, sourcePlatformUserNo, targetPlatformUserNo, amount, income, share} |
| FREEZE | the FREEZE requestNo | requestNo, platformUserNo, amount, unfreezeAmount, status, createTime, transactionTime |
| GENERAL_FREEZE | generalFreezeRequestNo + platformUserNo (required; another user's → None) | as FREEZE, plus generalFreezeRequestNo |
| UNFREEZE | the UNFREEZE requestNo | requestNo, originalFreezeRequestNo, platformUserNo, amount, status SUCCESS, times |
| CANCEL_PRETRANSACTION | the CANCEL_PRE_TRANSACTION requestNo | requestNo, preTransactionNo, platformUserNo, amount, status SUCCESS, times |
| DEBENTURE_SALE | the sale's requestNo | requestNo, platformUserNo, projectNo, saleShare, soldShare, cancelledShare, status (ONSALE / COMPLETED), times |
A platformUserNo given for the other types filters too (a record of another user → None).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from cunguan.custody.trade_common import wire_time, yuan
from cunguan.db.tables.custody_trades import (
    custody_debenture_sales,
    custody_freeze_releases,
    custody_general_freezes,
    custody_pre_transactions,
    custody_trade_details,
    custody_trades,
)

TRANSACTION_TYPES = ("PRETRANSACTION", "TRANSACTION", "FREEZE", "UNFREEZE", "CANCEL_PRETRANSACTION", "DEBENTURE_SALE",
                     "GENERAL_FREEZE")


def _one(conn: Connection, table, *where) -> dict | None:
    row = conn.execute(select(table).where(*where)).mappings().first()
    return dict(row) if row is not None else None


def _times(row: dict, done_key: str = "updated_us") -> dict[str, str]:
    return {"createTime": wire_time(row["created_us"]), "transactionTime": wire_time(row.get(done_key) or row["created_us"])}


def trade_records(conn: Connection, platform_no: str, transaction_type: str, request_no: str,
                  platform_user_no: str | None) -> list[dict[str, Any]] | None:
    if transaction_type not in TRANSACTION_TYPES or not request_no:
        return None
    if transaction_type == "GENERAL_FREEZE" and not platform_user_no:
        return None
    record: dict[str, Any] | None = None
    owner: str | None = None
    if transaction_type == "PRETRANSACTION":
        c = custody_pre_transactions.c
        o = _one(conn, custody_pre_transactions, c.platform_no == platform_no, c.request_no == request_no)
        if o is not None:
            owner = o["platform_user_no"]
            left = o["amount_fen"] - o["consumed_fen"] - o["released_fen"]
            record = {"requestNo": o["request_no"], "platformUserNo": owner, "bizType": o["biz_type"],
                      "projectNo": o["project_no"], "amount": yuan(o["amount_fen"]),
                      "preMarketingAmount": yuan(o["pre_marketing_fen"]) if o["pre_marketing_fen"] else None,
                      "share": yuan(o["share_fen"]) if o["share_fen"] else None,
                      "creditsaleRequestNo": o["creditsale_request_no"], "consumedAmount": yuan(o["consumed_fen"]),
                      "unfreezeAmount": yuan(o["released_fen"]), "remainAmount": yuan(left), "status": o["status"],
                      **_times(o)}
    elif transaction_type == "TRANSACTION":
        c = custody_trades.c
        t = _one(conn, custody_trades, c.platform_no == platform_no, c.request_no == request_no)
        if t is not None:
            d = custody_trade_details.c
            details = [dict(r) for r in conn.execute(select(custody_trade_details).where(d.trade_id == t["id"])
                                                    .order_by(d.seq)).mappings()]
            owner = details[0]["source_user_no"] if details else None
            if platform_user_no and all(platform_user_no not in (x["source_user_no"], x["target_user_no"])
                                        for x in details):
                return None
            owner = platform_user_no or owner
            record = {"requestNo": t["request_no"], "tradeType": t["trade_type"], "projectNo": t["project_no"],
                      "saleRequestNo": t["sale_request_no"], "amount": yuan(t["amount_fen"]), "status": t["status"],
                      "createTime": wire_time(t["created_us"]), "transactionTime": wire_time(t["created_us"]),
                      "details": [{k: v for k, v in {
                          "bizType": x["biz_type"], "freezeRequestNo": x["freeze_request_no"],
                          "sourcePlatformUserNo": x["source_user_no"], "targetPlatformUserNo": x["target_user_no"],
                          "amount": yuan(x["amount_fen"]), "income": yuan(x["income_fen"]) if x["income_fen"] else None,
                          "share": yuan(x["share_fen"]) if x["share_fen"] else None}.items() if v is not None}
                          for x in details]}
    elif transaction_type in ("FREEZE", "GENERAL_FREEZE"):
        c = custody_general_freezes.c
        f = _one(conn, custody_general_freezes, c.platform_no == platform_no, c.freeze_no == request_no,
                 c.general == (transaction_type == "GENERAL_FREEZE"))
        if f is not None:
            owner = f["platform_user_no"]
            record = {"requestNo": f["freeze_no"], "platformUserNo": owner, "amount": yuan(f["amount_fen"]),
                      "unfreezeAmount": yuan(f["unfrozen_fen"]), "status": f["status"], **_times(f)}
            if f["general"]:
                record["generalFreezeRequestNo"] = f["freeze_no"]
    elif transaction_type in ("UNFREEZE", "CANCEL_PRETRANSACTION"):
        c = custody_freeze_releases.c
        r = _one(conn, custody_freeze_releases, c.platform_no == platform_no, c.request_no == request_no,
                 c.kind == transaction_type)
        if r is not None:
            owner = r["platform_user_no"]
            key = "originalFreezeRequestNo" if transaction_type == "UNFREEZE" else "preTransactionNo"
            record = {"requestNo": r["request_no"], key: r["original_no"], "platformUserNo": owner,
                      "amount": yuan(r["amount_fen"]), "status": "SUCCESS", **_times(r, "created_us")}
    elif transaction_type == "DEBENTURE_SALE":
        c = custody_debenture_sales.c
        s = _one(conn, custody_debenture_sales, c.platform_no == platform_no, c.request_no == request_no)
        if s is not None:
            owner = s["seller_user_no"]
            record = {"requestNo": s["request_no"], "platformUserNo": owner, "projectNo": s["project_no"],
                      "saleShare": yuan(s["sale_share_fen"]), "amount": yuan(s["sale_share_fen"]),
                      "soldShare": yuan(s["sold_fen"]), "cancelledShare": yuan(s["cancelled_fen"]),
                      "status": s["status"], **_times(s)}
    if record is None:
        return None
    if platform_user_no and owner != platform_user_no:
        return None
    return [{k: v for k, v in record.items() if v is not None}]
