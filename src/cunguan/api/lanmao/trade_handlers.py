"""The trade-core services on the Lanmao wire (protocol §2.4, §2.7): projects, freeze orders, general
freezes, debenture sales, SYNC_TRANSACTION. Each handler runs one business function in one
transaction (`handler_kit.in_transaction`); refusals are typed errors the adapter renders.

USER_PRE_TRANSACTION and VERIFY_DEDUCT are gateway pages: they are entries of
`custody.user_catalog.CATALOG` + `user_services.PAGE_RULES` and are registered by `user_handlers`
(the generic bank page flow), not here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cunguan.api.lanmao.handler_kit import combined, in_transaction, read_only
from cunguan.api.lanmao.registry import Registry
from cunguan.custody import (
    bid_batch,
    debentures,
    general_freezes,
    pre_transactions,
    projects,
    trade_batch,
    trades,
)

Service = Callable[..., dict[str, Any]]

WRITES: dict[str, Service] = {
    "ESTABLISH_PROJECT": projects.establish_project,
    "MODIFY_PROJECT": projects.modify_project,
    "FREEZE_PRE_TRANSACTION": pre_transactions.freeze_pre_transaction,
    "CANCEL_PRE_TRANSACTION": pre_transactions.cancel_pre_transaction,
    "FREEZE": general_freezes.freeze,
    "UNFREEZE": general_freezes.unfreeze,
    "DEBENTURE_SALE": debentures.debenture_sale,
    "CANCEL_DEBENTURE_SALE": debentures.cancel_debenture_sale,
}
BATCHED: dict[str, tuple[Service, Callable[..., list[Any]]]] = {
    "USER_AUTO_PRE_TRANSACTION": (pre_transactions.user_auto_pre_transaction, bid_batch.user_auto_pre_transactions),
    "SYNC_TRANSACTION": (trades.sync_transaction, trade_batch.sync_transactions),
}
"""Services whose concurrent requests are applied together by their batch executor (`handler_kit.combined`):
in a group commit on PostgreSQL, in the event-loop batch on SQLite."""


def register(registry: Registry) -> None:
    for name, service in WRITES.items():
        registry.register(name, in_transaction(service))
    for name, (service, batch_service) in BATCHED.items():
        registry.register(name, combined(service, batch_service))
    registry.register("QUERY_PROJECT_INFORMATION", read_only(
        lambda conn, ctx, req: projects.query_project_information(conn, ctx.platform_no, req)))
