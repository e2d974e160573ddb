"""QUERY_TRANSACTION on the wire: the records of one request number across the rooms
(custody/transaction_queries.py assembles them)."""

from __future__ import annotations

from cunguan.api.lanmao.handler_kit import read_only
from cunguan.api.lanmao.registry import Registry
from cunguan.custody import transaction_queries


def register(registry: Registry) -> None:
    registry.register("QUERY_TRANSACTION", read_only(
        lambda conn, ctx, req: transaction_queries.query_transaction(conn, ctx.platform_no, req)))
