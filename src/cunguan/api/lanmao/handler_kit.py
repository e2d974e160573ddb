"""The two shapes of a Lanmao service handler, so that each room's handler module is a table.

- `in_transaction(service)`: the business function `service(conn, clock, platform_no, req)` runs in
  one transaction (`run_in_transaction`: bounded retries on lock conflicts; on SQLite in a group
  commit, each service in its own savepoint); its result dict is the response, a typed error its
  refusal.
- `read_only(query)`: `query(conn, ctx, req)` reads on a `db.reads.reading` connection (SQLite: a
  DEFERRED begin, so queries never queue behind writers; PostgreSQL: autocommit, writes refused).

Handlers of both shapes are `batchable`: short, with no effect outside their transaction, so the
SQLite batch of `router.ServiceFastPath` may run them on the event loop inside its shared
transaction. Any other handler runs alone on the service threads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from cunguan.api.lanmao.context import ServiceContext
from cunguan.db.reads import reading
from cunguan.db.tx import run_in_transaction

Handler = Callable[[ServiceContext, dict[str, Any]], Any]


def in_transaction(service: Callable[..., Any]) -> Handler:
    def handler(ctx: ServiceContext, req: dict[str, Any]) -> Any:
        return run_in_transaction(ctx.engine, lambda conn: service(conn, ctx.clock, ctx.platform_no, req),
                                  grouped=True)

    handler.__name__ = f"handle_{getattr(service, '__name__', 'service')}"
    handler.batchable = True  # type: ignore[attr-defined]
    return handler


def read_only(query: Callable[[Connection, ServiceContext, dict[str, Any]], Any]) -> Handler:
    def handler(ctx: ServiceContext, req: dict[str, Any]) -> Any:
        with reading(ctx.engine) as conn:
            return query(conn, ctx, req)

    handler.__name__ = f"handle_{getattr(query, '__name__', 'query')}"
    handler.batchable = True  # type: ignore[attr-defined]
    return handler
