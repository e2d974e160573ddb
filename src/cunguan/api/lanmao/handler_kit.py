"""The two shapes of a Lanmao service handler, so that each room's handler module is a table.

- `in_transaction(service)`: the business function `service(conn, clock, platform_no, req)` runs in
  one transaction (`run_in_transaction`: bounded retries on lock conflicts; on SQLite in a group
  commit, each service in its own savepoint); its result dict is the response, a typed error its
  refusal.
- `read_only(query)`: `query(conn, ctx, req)` reads on a `db.reads.reading` connection (SQLite: a
  DEFERRED begin, so queries never queue behind writers; PostgreSQL: autocommit, writes refused).

- `combined(service, batch_service)`: as `in_transaction(service)`, except on PostgreSQL, where the
  concurrent requests of the service meet in a group commit (`db.group_commit`: one per engine and
  platform) and `batch_service(conn, clock, platform_no, reqs)` applies those that met in one
  transaction — one answer (or refusal, as an exception) per request, each the one `service` would
  give it alone. A lone request runs `service` as before. The requests of the service and platform
  that arrive in one event-loop batch (`handler.together`, called by `pipeline.call_together`) meet
  as a whole: on PostgreSQL they enter the group commit together (`GroupCommit.submit_all`); on SQLite
  `batch_service` applies them in one savepoint of that batch's shared transaction.

Handlers of all three shapes are `batchable`: short, with no effect outside their transaction, so the
SQLite batch of `router.ServiceFastPath` may run them on the event loop inside its shared
transaction. Any other handler runs alone on the service threads.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection, Engine

from cunguan.api.lanmao.context import ServiceContext
from cunguan.db.group_commit import GroupCommit
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


_Item = tuple[ServiceContext, dict[str, Any]]
_groups: weakref.WeakKeyDictionary[Engine, dict[tuple[str, str], GroupCommit]] = weakref.WeakKeyDictionary()
_groups_lock = threading.Lock()


def combined(service: Callable[..., Any], batch_service: Callable[..., list[Any]]) -> Handler:
    alone = in_transaction(service)

    def run_batch(conn: Connection, items: list[_Item]) -> list[Any]:
        ctx = items[0][0]
        return batch_service(conn, ctx.clock, ctx.platform_no, [req for _ctx, req in items])

    def group(ctx: ServiceContext) -> GroupCommit:
        key = (ctx.service_name, ctx.platform_no)
        with _groups_lock:
            groups = _groups.setdefault(ctx.engine, {})
            found = groups.get(key)
            if found is None:
                found = groups[key] = GroupCommit(ctx.engine, lambda item: alone(*item), run_batch)
        return found

    def handler(ctx: ServiceContext, req: dict[str, Any]) -> Any:
        if ctx.engine.dialect.name != "postgresql":
            return alone(ctx, req)
        return group(ctx).submit((ctx, req))

    def together(ctx: ServiceContext, reqs: list[dict[str, Any]]) -> list[Any]:
        if ctx.engine.dialect.name == "postgresql":
            return group(ctx).submit_all([(ctx, req) for req in reqs])
        return run_in_transaction(ctx.engine, lambda conn: batch_service(conn, ctx.clock, ctx.platform_no, reqs),
                                  grouped=True)

    handler.__name__ = f"handle_{getattr(service, '__name__', 'service')}"
    handler.batchable = True  # type: ignore[attr-defined]
    handler.together = together  # type: ignore[attr-defined]
    return handler


def group_commits(engine: Engine) -> dict[tuple[str, str], GroupCommit]:
    """The group commits formed on `engine` so far, by (service, platform) (tests and benchmarks)."""
    with _groups_lock:
        return dict(_groups.get(engine, {}))
