"""Debenture sales (债权出让): DEBENTURE_SALE and CANCEL_DEBENTURE_SALE (protocol §2.4, §5.4).

- DEBENTURE_SALE locks `saleShare` of the seller's unlocked holding of a REPAYING project (100015
  otherwise); the request's requestNo becomes the sale id; status ONSALE. No holding, or not enough
  unlocked share → 100008.
- Buyers reserve share with CREDIT_ASSIGNMENT pre-transactions (never more than unsold − reserved);
  a CREDIT_ASSIGNMENT trade sells reserved share; the sale becomes COMPLETED when fully sold.
- CANCEL_DEBENTURE_SALE ends an ONSALE sale: every unsold share (reserved ones too) is unlocked and
  the sale is COMPLETED (§3.19 knows only ONSALE / COMPLETED; `cancelled_fen` records the cancel).
  Buyers' freezes that still reserve it stay frozen until the platform cancels them; a trade on them
  is refused ("债权出让订单已结束"). Missing sale → "债权出让订单不存在"; already COMPLETED →
  "债权出让订单已结束" (both observed as P, §4.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.custody import projects, requests, shares
from cunguan.custody.fields import req_text
from cunguan.custody.trade_common import amount_fen, get_party
from cunguan.custody.trade_errors import (
    BusinessRefused,
    ProjectStateMismatch,
    SaleEnded,
    SaleNotFound,
    ShareInsufficient,
)
from cunguan.db.tables.custody_trades import custody_debenture_sales
from cunguan.money import format_yuan


def find_sale(conn: Connection, platform_no: str, sale_no: str, *, lock: bool = False) -> dict | None:
    c = custody_debenture_sales.c
    stmt = select(custody_debenture_sales).where(c.platform_no == platform_no, c.request_no == sale_no)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def get_sale(conn: Connection, platform_no: str, sale_no: str, field: str, *, lock: bool = False) -> dict:
    sale = find_sale(conn, platform_no, sale_no, lock=lock)
    if sale is None:
        raise SaleNotFound(f"{field} {sale_no[:50]!r}", field=field)
    return sale


def unsold_free_fen(sale: Mapping[str, Any]) -> int:
    """Share still offered to new buyers: not sold, not reserved by a buyer's freeze, not cancelled."""
    return sale["sale_share_fen"] - sale["sold_fen"] - sale["reserved_fen"] - sale["cancelled_fen"]


def bump_sale(conn: Connection, sale_id: int, now_us: int, *, status: str | None = None, **deltas: int) -> None:
    c = custody_debenture_sales.c
    values: dict[str, Any] = {name: getattr(c, name) + d for name, d in deltas.items() if d}
    if status is not None:
        values["status"] = status
    if values:
        conn.execute(update(custody_debenture_sales).where(c.id == sale_id).values(updated_us=now_us, **values))


def debenture_sale(conn: Connection, clock: Clock, platform_no: str, req: Mapping[str, Any]) -> dict[str, Any]:
    request_no = requests.request_no(req.get("requestNo"))
    seller_no = req_text(req.get("platformUserNo"), "platformUserNo")
    project_no = req_text(req.get("projectNo"), "projectNo")
    sale_share = amount_fen(req.get("saleShare"), "saleShare")
    requests.claim(conn, clock, platform_no, request_no, "DEBENTURE_SALE", seller_no)
    get_party(conn, platform_no, seller_no, "platformUserNo")
    project = projects.get_project(conn, platform_no, project_no, lock=True)
    if project["status"] != "REPAYING":
        raise ProjectStateMismatch(f"projectNo: a claim can be offered only while REPAYING (is {project['status']})",
                                   field="projectNo")
    held = shares.holding(conn, platform_no, project_no, seller_no, lock=True)
    if held is None or held["principal_fen"] == 0:
        raise BusinessRefused("platformUserNo holds no share of this project", field="platformUserNo")
    free = held["principal_fen"] - held["locked_fen"]
    if sale_share > free:
        raise ShareInsufficient(f"saleShare is above the seller's unlocked share ({format_yuan(free)})", field="saleShare")
    now = requests.clock_us(clock)
    shares.apply_deltas(conn, platform_no, project_no, {seller_no: held}, {seller_no: (0, sale_share)}, now)
    conn.execute(custody_debenture_sales.insert().values(
        platform_no=platform_no, request_no=request_no, seller_user_no=seller_no, project_no=project_no,
        sale_share_fen=sale_share, sold_fen=0, reserved_fen=0, cancelled_fen=0, status="ONSALE",
        created_us=now, updated_us=now))
    out = {"requestNo": request_no, "platformUserNo": seller_no, "projectNo": project_no}
    requests.record(conn, platform_no, request_no, seller_no, {**out, "saleStatus": "ONSALE"})
    return out


def cancel_debenture_sale(conn: Connection, clock: Clock, platform_no: str, req: Mapping[str, Any]) -> dict[str, Any]:
    request_no = requests.request_no(req.get("requestNo"))
    sale_no = req_text(req.get("creditsaleRequestNo"), "creditsaleRequestNo")
    requests.claim(conn, clock, platform_no, request_no, "CANCEL_DEBENTURE_SALE", None)
    probe = get_sale(conn, platform_no, sale_no, "creditsaleRequestNo")
    projects.get_project(conn, platform_no, probe["project_no"], lock=True)  # lock order: project, sale, share
    sale = get_sale(conn, platform_no, sale_no, "creditsaleRequestNo", lock=True)
    if sale["status"] != "ONSALE":
        raise SaleEnded(f"creditsaleRequestNo {sale_no!r} is {sale['status']}", field="creditsaleRequestNo")
    unsold = sale["sale_share_fen"] - sale["sold_fen"] - sale["cancelled_fen"]
    now = requests.clock_us(clock)
    held = shares.load(conn, platform_no, sale["project_no"], [sale["seller_user_no"]], lock=True)
    shares.apply_deltas(conn, platform_no, sale["project_no"], held, {sale["seller_user_no"]: (0, -unsold)}, now)
    conn.execute(update(custody_debenture_sales).where(custody_debenture_sales.c.id == sale["id"]).values(
        reserved_fen=0, cancelled_fen=sale["cancelled_fen"] + unsold, status="COMPLETED", updated_us=now))
    out = {"requestNo": request_no, "creditsaleRequestNo": sale_no}
    requests.record(conn, platform_no, request_no, sale["seller_user_no"], {**out, "cancelledShare": unsold})
    return out
