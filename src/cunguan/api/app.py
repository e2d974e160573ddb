"""The ASGI application: one FastAPI app with every room's router mounted.

Rooms register their routers in `create_app`; the engine and settings travel on `app.state`.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from cunguan import __version__
from cunguan.api import background, health, lanmao
from cunguan.api import fees as fees_api
from cunguan.api import sweep as sweep_api
from cunguan.api.lanmao.async_handlers import install as install_async_runtime
from cunguan.api.lanmao.money_handlers import install_runtime as install_money_runtime
from cunguan.api.lanmao.user_handlers import install_runtime as install_user_runtime
from cunguan.web import console_pages, demo_platform, reconcile_pages
from cunguan.web.gateway_pages import install as install_gateway_pages


class CunguanApp(FastAPI):
    """The FastAPI app with the Lanmao `/service` fast path in front of its middleware stack
    (`lanmao.router.ServiceFastPath`, installed by `lanmao.install`)."""

    async def __call__(self, scope, receive, send) -> None:
        fast = getattr(self.state, "lanmao_fast_path", None)
        if fast is not None and fast.wants(scope):
            await fast(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(engine: Engine, *, base_url: str = "http://127.0.0.1:8000") -> FastAPI:
    app = CunguanApp(title="Cunguan", version=__version__, description="Bank-side fund custody and collection")
    app.state.engine = engine
    app.state.base_url = base_url
    app.include_router(health.router)
    sweep_api.install(app)  # /api/sweep/... (JSON) and /sweep/... (web pages)
    lanmao.install(app)  # POST {base}/gateway|service|download (settings on app.state.settings)
    install_gateway_pages(app)  # {base}/gateway/page/{token}: the bank's pages of the gateway user services
    install_user_runtime(app)  # card verifier + notification delivery worker (app lifespan)
    install_money_runtime(app)  # money worker: payments, payouts, settlement files (app lifespan)
    install_async_runtime(app)  # ASYNC_TRANSACTION runner (app lifespan)
    background.install_statistics(app, os.environ)  # PostgreSQL: ANALYZE the tables that grew (app lifespan)
    background.install_checkpoints(app, os.environ)  # SQLite: WAL checkpoints off the writers' path (app lifespan)
    demo_platform.install(app)  # /demo-platform/notify|return: the demo platform's receiving end
    fees_api.install(app)  # /api/fees/{platformNo}, /console/fees pages (before the console's catch-all), fee check
    reconcile_pages.install(app)  # /console/reconcile: daily reconciliation pages (before the catch-all)
    console_pages.install(app)  # /console: the bank's operator console (web pages)
    return app
