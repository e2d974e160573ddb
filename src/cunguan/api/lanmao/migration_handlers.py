"""Lanmao handlers of the migration room (protocol §2.2). ACTIVATE_STOCKED_USER is a gateway page of
the generic page flow (custody/user_catalog CATALOG + user_services PAGE_RULES), registered with the
other page services by user_handlers; here only the direct CHANGE_USER_BANKCARD (custody/stocked_users)."""

from __future__ import annotations

from typing import Any

from cunguan.api.lanmao.context import ServiceContext
from cunguan.api.lanmao.registry import Registry
from cunguan.custody import stocked_users, user_catalog
from cunguan.db.tx import run_in_transaction


def change_user_bankcard(ctx: ServiceContext, req: dict[str, Any]) -> dict[str, Any]:
    request = user_catalog.build_request(stocked_users.ChangeUserBankcardRequest, req)
    result = run_in_transaction(ctx.engine, lambda conn: stocked_users.change_user_bankcard(
        conn, ctx.clock, ctx.platform_no, request))
    return user_catalog.result_fields(result)


def register(registry: Registry) -> None:
    registry.register(stocked_users.CHANGE_CARD, change_user_bankcard)
