"""Wealth-management plans on the Lanmao wire (protocol §2.5, §2.7 QUERY_INTELLIGENT_PROJECT_ORDER).
Each write runs one business function of `custody.plans` in one transaction; the query reads without
a write lock. SYNC_TRANSACTION tradeType INTELLIGENT_APPEND / APPEND_FREEZE reaches `plans` through
`trades.EXTENSIONS`, registered when `custody.plans` is imported (here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cunguan.api.lanmao.context import ServiceContext
from cunguan.api.lanmao.registry import Registry
from cunguan.custody import plans
from cunguan.db.tx import run_in_transaction

Service = Callable[..., dict[str, Any]]

WRITES: dict[str, Service] = {
    "ESTABLISH_INTELLIGENT_PROJECT": plans.establish_intelligent_project,
    "PURCHASE_INTELLIGENT_PROJECT": plans.purchase_intelligent_project,
    "INTELLIGENT_PROJECT_UNFREEZE": plans.intelligent_project_unfreeze,
    "INTELLIGENT_PROJECT_DEBENTURE_SALE": plans.intelligent_project_debenture_sale,
}


def _write_handler(service: Service) -> Callable[[ServiceContext, dict[str, Any]], dict[str, Any]]:
    def handler(ctx: ServiceContext, req: dict[str, Any]) -> dict[str, Any]:
        return run_in_transaction(ctx.engine, lambda conn: service(conn, ctx.clock, ctx.platform_no, req))

    handler.__name__ = f"handle_{service.__name__}"
    return handler


def query_intelligent_project_order(ctx: ServiceContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.engine.connect() as conn:  # read-only: no write lock (SQLite deferred BEGIN)
        try:
            return plans.query_intelligent_project_order(conn.execution_options(sqlite_deferred=True),
                                                         ctx.platform_no, req)
        finally:
            conn.rollback()


def register(registry: Registry) -> None:
    for name, service in WRITES.items():
        registry.register(name, _write_handler(service))
    registry.register("QUERY_INTELLIGENT_PROJECT_ORDER", query_intelligent_project_order)
