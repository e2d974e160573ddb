"""QUERY_TRANSACTION on the wire: the records of one request number across the rooms
(custody/transaction_queries.py assembles them)."""

from __future__ import annotations

from typing import Any

from cunguan.api.lanmao.context import ServiceContext
from cunguan.api.lanmao.registry import Registry
from cunguan.custody import transaction_queries


def query_transaction(ctx: ServiceContext, req: dict[str, Any]) -> dict[str, Any]:
    return transaction_queries.query_transaction(ctx.engine, ctx.platform_no, req)


def register(registry: Registry) -> None:
    registry.register("QUERY_TRANSACTION", query_transaction)
