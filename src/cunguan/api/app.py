"""The ASGI application: one FastAPI app with every room's router mounted.

Rooms register their routers in `create_app`; the engine and settings travel on `app.state`.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from cunguan import __version__
from cunguan.api import health


def create_app(engine: Engine, *, base_url: str = "http://127.0.0.1:8000") -> FastAPI:
    app = FastAPI(title="Cunguan", version=__version__, description="Bank-side fund custody and collection")
    app.state.engine = engine
    app.state.base_url = base_url
    app.include_router(health.router)
    return app
