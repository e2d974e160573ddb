"""Wealth-management plans on the Lanmao wire (protocol §2.5, §2.7 QUERY_INTELLIGENT_PROJECT_ORDER).
Each write runs one business function of `custody.plans` in one transaction; the query reads without
a write lock. SYNC_TRANSACTION tradeType INTELLIGENT_APPEND / APPEND_FREEZE reaches `plans` through
`trades.EXTENSIONS`, registered when `custody.plans` is imported (here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cunguan.api.lanmao.handler_kit import in_transaction, read_only
from cunguan.api.lanmao.registry import Registry
from cunguan.custody import plans

Service = Callable[..., dict[str, Any]]

WRITES: dict[str, Service] = {
    "ESTABLISH_INTELLIGENT_PROJECT": plans.establish_intelligent_project,
    "PURCHASE_INTELLIGENT_PROJECT": plans.purchase_intelligent_project,
    "INTELLIGENT_PROJECT_UNFREEZE": plans.intelligent_project_unfreeze,
    "INTELLIGENT_PROJECT_DEBENTURE_SALE": plans.intelligent_project_debenture_sale,
}


def register(registry: Registry) -> None:
    for name, service in WRITES.items():
        registry.register(name, in_transaction(service))
    registry.register("QUERY_INTELLIGENT_PROJECT_ORDER", read_only(
        lambda conn, ctx, req: plans.query_intelligent_project_order(conn, ctx.platform_no, req)))
