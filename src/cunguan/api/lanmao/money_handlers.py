"""Money services on the Lanmao wire (§2.3): DIRECT_RECHARGE, AUTO_WITHDRAW, CONFIRM_WITHDRAW,
CANCEL_WITHDRAW, INTERCEPT_WITHDRAW (direct). RECHARGE and WITHDRAW are gateway pages of the generic
bank page flow (custody/user_catalog CATALOG + custody/user_services PAGE_RULES), registered by
user_handlers. `install_runtime(app)` runs the money worker (custody/money_runtime.py) with the app.

No business rule here: each handler builds the request dataclass from reqData and calls custody.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from cunguan.api import background
from cunguan.api.lanmao.context import ServiceContext
from cunguan.api.lanmao.registry import Registry
from cunguan.custody import money_runtime, recharges, withdrawals
from cunguan.custody.user_catalog import build_request, result_fields
from cunguan.db.tx import run_in_transaction

log = logging.getLogger("cunguan.lanmao.money")


def direct_recharge(ctx: ServiceContext, req: dict[str, Any]) -> dict[str, Any]:
    request = build_request(recharges.DirectRechargeRequest, req)
    runtime = money_runtime.get_runtime(ctx.engine, ctx.clock)
    result = recharges.direct_recharge(ctx.engine, ctx.clock, runtime.cloud, ctx.platform_no, request)
    return result_fields(result)


def _tx(ctx: ServiceContext, function, request_type: type, req: dict[str, Any]) -> Any:
    request = build_request(request_type, req)
    return run_in_transaction(ctx.engine, lambda conn: function(conn, ctx.clock, ctx.platform_no, request))


def auto_withdraw(ctx: ServiceContext, req: dict[str, Any]) -> dict[str, Any]:
    return result_fields(_tx(ctx, withdrawals.auto_withdraw, withdrawals.AutoWithdrawRequest, req))


def confirm_withdraw(ctx: ServiceContext, req: dict[str, Any]) -> dict[str, Any]:
    return _tx(ctx, withdrawals.confirm_withdraw, withdrawals.ConfirmWithdrawRequest, req)


def cancel_withdraw(ctx: ServiceContext, req: dict[str, Any]) -> dict[str, Any]:
    return _tx(ctx, withdrawals.cancel_withdraw, withdrawals.CancelWithdrawRequest, req)


def intercept_withdraw(ctx: ServiceContext, req: dict[str, Any]) -> dict[str, Any]:
    return _tx(ctx, withdrawals.intercept_withdraw, withdrawals.InterceptWithdrawRequest, req)


def register(registry: Registry) -> None:
    registry.register("DIRECT_RECHARGE", direct_recharge)
    registry.register("AUTO_WITHDRAW", auto_withdraw)
    registry.register("CONFIRM_WITHDRAW", confirm_withdraw)
    registry.register("CANCEL_WITHDRAW", cancel_withdraw)
    registry.register("INTERCEPT_WITHDRAW", intercept_withdraw)


def install_runtime(app: FastAPI, env: Mapping[str, str] | None = None) -> money_runtime.MoneyRuntime:
    """Build the app's money runtime on the app's clock; run its worker between start-up and shutdown
    (unless `CUNGUAN_MONEY_WORKER=off` or `app.state.money_worker = False`)."""
    env = os.environ if env is None else env
    runtime = money_runtime.set_runtime(app.state.engine, money_runtime.MoneyRuntime(
        app.state.engine, background.AppClock(app), own_bank_code=money_runtime.own_bank_from_env(env)))
    app.state.money_runtime = runtime
    interval = float(env.get("CUNGUAN_MONEY_INTERVAL_S") or 1.0)
    background.run_during_lifespan(app, env, "money",
                                   lambda a: money_runtime.start_background(runtime, interval_s=interval))
    return runtime
