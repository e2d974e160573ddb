"""POST {base}/gateway, {base}/service, {base}/download: read the body (bounded), hand it to the
pipeline in a worker thread (handlers use the synchronous database API), write what it returns.

`install(app)` mounts the three routes under `Settings.lanmao_base_path` and keeps the settings and
the service registry on `app.state` (`settings`, `lanmao_registry`); `app.state.clock` (optional)
overrides the wall clock, read per request so tests can move it.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from cunguan.api.lanmao import pipeline, responses
from cunguan.api.lanmao.envelope import MAX_FIELDS
from cunguan.api.lanmao.errors import WireError
from cunguan.api.lanmao.registry import Mode, Registry
from cunguan.api.lanmao.services import build_registry
from cunguan.clock import Clock
from cunguan.custody.errors import BAD_JSON, SYSTEM_ERROR, InvalidRequest, describe
from cunguan.settings import Settings


class _TooLarge(InvalidRequest):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge(f"the request body is larger than {limit} bytes", field="body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge(f"the request body is larger than {limit} bytes", field="body")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # noqa: SLF001 - lets request.form() re-read what we already consumed
    return body


async def _multipart_pairs(request: Request) -> list[tuple[str, str]]:
    try:
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    except Exception:  # noqa: BLE001 - any parser complaint is a malformed request
        raise InvalidRequest("the multipart form could not be parsed", field="body") from None
    pairs: list[tuple[str, str]] = []
    for key, value in form.multi_items():
        if not isinstance(value, str):
            raise InvalidRequest(f"{key[:32]} must be a plain form field, not a file", field=key[:32])
        pairs.append((key, value))
    return pairs


def runtime(app: FastAPI) -> pipeline.Runtime:
    clock = getattr(app.state, "clock", None) or Clock()
    return pipeline.Runtime(app.state.engine, app.state.settings, app.state.lanmao_registry, clock,
                            getattr(app.state, "base_url", ""))


def _to_response(wr: responses.WireResponse) -> Response:
    if wr.raw is not None:
        return wr.raw
    return Response(content=wr.body, status_code=wr.status_code, media_type=wr.media_type, headers=wr.headers)


def _endpoint(mode: Mode):
    async def handle(request: Request) -> Response:
        cid = uuid.uuid4().hex[:16]
        rt = runtime(request.app)
        try:
            body = await _read_body(request, rt.settings.max_body_bytes)
            pairs = None
            if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
                pairs = await _multipart_pairs(request)
        except InvalidRequest as exc:
            err = WireError("1", BAD_JSON, exc.message)
            wr = await run_in_threadpool(pipeline.error_response, rt, mode, err, None, cid)
            return _to_response(wr)
        except Exception:  # noqa: BLE001 - e.g. the client went away mid-body
            pipeline.logger.exception("lanmao %s body could not be read [cid=%s]", mode, cid)
            err = WireError("1", SYSTEM_ERROR, describe(SYSTEM_ERROR, f"参考号 {cid}"))
            return _to_response(await run_in_threadpool(pipeline.error_response, rt, mode, err, None, cid))
        wr = await run_in_threadpool(pipeline.process, rt, mode, body, pairs, cid)
        return _to_response(wr)

    handle.__name__ = f"lanmao_{mode}"
    return handle


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix=settings.lanmao_prefix, tags=["lanmao"])
    for mode in ("gateway", "service", "download"):
        router.add_api_route(f"/{mode}", _endpoint(mode), methods=["POST"], response_class=Response,
                             summary=f"Lanmao {mode} endpoint")
    return router


class DirectFastPath:
    """ASGI middleware: `POST {base}/service` goes straight to the same endpoint function the router
    mounts, skipping FastAPI's route matching (every route of every room is tried in order), its
    exception middleware and dependency machinery. Behaviour is the route's, byte for byte (the
    function and its Response are the same); everything else passes through untouched. Under load
    the event loop shares two cores with the database work, so its per-request cost is throughput."""

    def __init__(self, app, path: str) -> None:
        self.app, self.path = app, path
        self.handle = _endpoint("service")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == self.path:
            response = await self.handle(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install(app: FastAPI, *, settings: Settings | None = None, registry: Registry | None = None) -> None:
    """Mount the Lanmao interface on `app` (called once by `create_app`)."""
    if settings is None:
        settings = getattr(app.state, "settings", None) or Settings.from_env()
    app.state.settings = settings
    app.state.lanmao_registry = registry if registry is not None else build_registry()
    app.include_router(build_router(settings))
    app.add_middleware(DirectFastPath, path=f"{settings.lanmao_prefix}/service")
