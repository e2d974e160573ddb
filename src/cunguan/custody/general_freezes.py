"""General freezes outside projects: FREEZE and UNFREEZE (protocol §2.4, §5.2).

- FREEZE identifies the freeze by `requestNo` or by `generalFreezeRequestNo` (通用冻结), exactly one
  of them (100002 otherwise). Whichever is given is the freeze number: it is claimed in the
  platform-wide requestNo register, so it is unique among all of the platform's request numbers.
  The amount leaves the available balance into the ledger freeze `{platform}:gf:{freezeNo}`
  (100014 if not available). The user must exist (100009) and be active (100010).
- UNFREEZE releases `amount` of `originalFreezeRequestNo` (partial allowed). Unknown freeze, or one of
  another user when `platformUserNo` is given → 100007 "冻结订单不存在"; more than remains →
  100014 "冻结金额不足". The freeze is UNFREEZED when nothing remains.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.custody import requests
from cunguan.custody.fields import opt, opt_text, req_text
from cunguan.custody.trade_common import amount_fen, apply_ledger, general_key, get_party
from cunguan.custody.trade_errors import BusinessRefused, FreezeInsufficient, FreezeNotFound, InvalidField
from cunguan.db.tables.custody_trades import custody_freeze_releases, custody_general_freezes
from cunguan.ledger.ops import Hold, Release
from cunguan.money import format_yuan


def find_freeze(conn: Connection, platform_no: str, freeze_no: str, *, lock: bool = False) -> dict | None:
    c = custody_general_freezes.c
    stmt = select(custody_general_freezes).where(c.platform_no == platform_no, c.freeze_no == freeze_no)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def freeze(conn: Connection, clock: Clock, platform_no: str, req: Mapping[str, Any]) -> dict[str, Any]:
    by_request = opt(req.get("requestNo")) is not None
    by_general = opt(req.get("generalFreezeRequestNo")) is not None
    if by_request == by_general:
        raise InvalidField("give exactly one of requestNo and generalFreezeRequestNo",
                           field="generalFreezeRequestNo" if by_general else "requestNo")
    id_field = "requestNo" if by_request else "generalFreezeRequestNo"
    freeze_no = req_text(req.get(id_field), id_field)
    user_no = req_text(req.get("platformUserNo"), "platformUserNo")
    amount = amount_fen(req.get("amount"), "amount")
    requests.claim(conn, clock, platform_no, freeze_no, "FREEZE", user_no)
    payer = get_party(conn, platform_no, user_no, "platformUserNo")
    if payer.system:
        raise BusinessRefused("platformUserNo: system accounts are not frozen this way", field="platformUserNo")
    apply_ledger(conn, [Hold(payer.account_id, amount, general_key(platform_no, freeze_no), f"FREEZE:{freeze_no}")],
                 ["amount"])
    now = requests.clock_us(clock)
    conn.execute(custody_general_freezes.insert().values(
        platform_no=platform_no, freeze_no=freeze_no, general=by_general, platform_user_no=user_no, amount_fen=amount,
        unfrozen_fen=0, status="FREEZED", created_us=now, updated_us=now))
    out = {id_field: freeze_no, "platformUserNo": user_no, "amount": amount}
    requests.record(conn, platform_no, freeze_no, user_no, out)
    result: dict[str, Any] = {"platformUserNo": user_no, id_field: freeze_no}
    return result


def unfreeze(conn: Connection, clock: Clock, platform_no: str, req: Mapping[str, Any]) -> dict[str, Any]:
    request_no = requests.request_no(req.get("requestNo"))
    freeze_no = req_text(req.get("originalFreezeRequestNo"), "originalFreezeRequestNo")
    user_no = opt_text(req.get("platformUserNo"), "platformUserNo")
    amount = amount_fen(req.get("amount"), "amount")
    requests.claim(conn, clock, platform_no, request_no, "UNFREEZE", user_no)
    row = find_freeze(conn, platform_no, freeze_no, lock=True)
    if row is None or (user_no is not None and row["platform_user_no"] != user_no):
        raise FreezeNotFound(f"originalFreezeRequestNo {freeze_no!r}", field="originalFreezeRequestNo")
    left = row["amount_fen"] - row["unfrozen_fen"]
    if amount > left:
        raise FreezeInsufficient(f"originalFreezeRequestNo {freeze_no!r} has {format_yuan(left)} left, "
                                 f"{format_yuan(amount)} asked", field="amount")
    apply_ledger(conn, [Release(general_key(platform_no, freeze_no), amount, ref=f"UNFREEZE:{request_no}")],
                 ["amount"])
    now = requests.clock_us(clock)
    conn.execute(update(custody_general_freezes).where(custody_general_freezes.c.id == row["id"]).values(
        unfrozen_fen=row["unfrozen_fen"] + amount, status="UNFREEZED" if amount == left else "FREEZED",
        updated_us=now))
    conn.execute(custody_freeze_releases.insert().values(
        platform_no=platform_no, request_no=request_no, kind="UNFREEZE", original_no=freeze_no,
        platform_user_no=row["platform_user_no"], amount_fen=amount, created_us=now))
    out = {"requestNo": request_no, "originalFreezeRequestNo": freeze_no, "platformUserNo": row["platform_user_no"]}
    requests.record(conn, platform_no, request_no, row["platform_user_no"], {**out, "amount": amount})
    return out
