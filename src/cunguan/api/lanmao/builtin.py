"""Services that need nothing but platforms: they prove the pipe end to end.

QUERY_USER_INFORMATION for the platform's system accounts (`SYS_GENERATE_000`…`007`, created with the
platform): role, status and balances from the ledger. Any other number answers 100009 — the user
room registers the full service, which takes precedence (see services.py) and can delegate the
system numbers back to `query_system_account`.
"""

from __future__ import annotations

from typing import Any

from cunguan.api.lanmao.context import ServiceContext
from cunguan.api.lanmao.registry import Registry
from cunguan.custody import platforms
from cunguan.custody.errors import InvalidRequest, UserNotFound
from cunguan.db.reads import reading
from cunguan.money import fen_to_decimal


def _platform_user_no(req: dict[str, Any]) -> str:
    value = req.get("platformUserNo")
    if value is None or value == "":
        raise InvalidRequest("platformUserNo is required", field="platformUserNo")
    if not isinstance(value, str):
        raise InvalidRequest("platformUserNo must be a string", field="platformUserNo")
    if len(value) > 50:
        raise InvalidRequest("platformUserNo is longer than 50 characters", field="platformUserNo")
    return value


def query_system_account(ctx: ServiceContext, req: dict[str, Any]) -> dict[str, Any]:
    user_no = _platform_user_no(req)
    with reading(ctx.engine) as conn:
        account = platforms.system_account(conn, ctx.platform_no, user_no)
    if account is None:
        raise UserNotFound("platformUserNo: user does not exist on this platform", field="platformUserNo")
    return {
        "platformUserNo": account.platform_user_no,
        "userType": "ORGANIZATION",
        "userRole": account.user_role,
        "auditStatus": "PASSED",
        "activeStatus": "ACTIVATED",
        "balance": fen_to_decimal(account.balance_fen),
        "availableAmount": fen_to_decimal(account.available_fen),
        "freezeAmount": fen_to_decimal(account.frozen_fen),
        "authList": "",
        "isImportUserActivate": True,
        "accessType": "PART_CHECKED",
        "name": ctx.platform.name,
    }


def register(registry: Registry) -> None:
    if "QUERY_USER_INFORMATION" not in registry:
        registry.register("QUERY_USER_INFORMATION", query_system_account)
