"""POST {base}/gateway, {base}/service, {base}/download: read the body (bounded), hand it to the
pipeline in a worker thread (handlers use the synchronous database API), write what it returns.

`install(app)` mounts the three routes under `Settings.lanmao_base_path` and keeps the settings and
the service registry on `app.state` (`settings`, `lanmao_registry`); `app.state.clock` (optional)
overrides the wall clock, read per request so tests can move it.
"""

from __future__ import annotations

import asyncio
import functools
import os
import uuid
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from cunguan.api.lanmao import pipeline, responses
from cunguan.api.lanmao.envelope import MAX_FIELDS
from cunguan.api.lanmao.errors import WireError
from cunguan.api.lanmao.registry import Mode, Registry
from cunguan.api.lanmao.services import build_registry
from cunguan.clock import Clock
from cunguan.custody.errors import BAD_JSON, InvalidRequest
from cunguan.db.engine import is_sqlite
from cunguan.db.reads import reading
from cunguan.db.tx import SharedTransaction
from cunguan.settings import Settings, int_setting


class _TooLarge(InvalidRequest):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    body = await _receive_body(request.scope, request.receive, limit)
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
            err = pipeline.system_error(cid)
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


SERVICE_THREADS = {"sqlite": 8, "postgresql": 32}
"""Threads that run `/service` work off the event loop, by engine; `CUNGUAN_LANMAO_THREADS` overrides.
SQLite: few on purpose — what runs there is mostly Python under the GIL, and with anyio's 40 threads,
32 clients kept 32 threads fighting for it (a signed query's server CPU went from 2.5 ms to 1.7 ms with
4-8 threads); they run only the handlers that are not `batchable`. PostgreSQL: they also run the
event-loop batches (`BATCHES_IN_FLIGHT` at a time), and a thread there mostly waits for the server's
round trips or for a group commit (`handler_kit.combined`)."""
BATCH_MAX = 16
"""Requests per batch: bounds how long one batch takes (~1 ms a request) and so the latency a request
arriving meanwhile adds."""
BATCHES_IN_FLIGHT = 1
"""PostgreSQL: batches of one event loop running at once on the service threads. While one runs, new
requests queue, so the next batch holds what arrived meanwhile (a group commit's shape), and a
service's requests in it reach their group commit together, with no other batch of this process to
split them or to wait for. Measured (`cunguan bench sync --db postgresql://...`, 2 workers, 32
clients): 1 → 1,073-1,103 requests/s (server CPU 0.87 ms a request), 2 → 722-773/s (1.29-1.36 ms),
4 → 590-688/s, 8 → 606/s: more at once means smaller batches, more lone requests on the single path,
more round trips and hand-offs. The price, as on SQLite (where the whole loop waits): a batch that
waits for a row lock holds back the `/service` requests that queue behind it in that process; the
longest holders, the ASYNC runner's chunks, aim at `async_runner.TARGET_CHUNK_S` (0.15 s) while
anyone waits for them (one that arrives during a chunk nobody waited for waits up to
`UNCONTENDED_CHUNK_S`, 0.6 s, once)."""


@dataclass(eq=False)
class _Queue:
    """The requests of one event loop waiting for their batch (tests drive one app from several loops,
    and a future must be resolved on its own loop)."""

    pending: list[tuple[bytes, str, asyncio.Future]] = field(default_factory=list)
    scheduled: bool = False
    running: int = 0

    def take(self) -> list[tuple[bytes, str, asyncio.Future]]:
        batch, self.pending = self.pending[:BATCH_MAX], self.pending[BATCH_MAX:]
        return batch


class ServiceFastPath:
    """`POST {base}/service` served on the bare ASGI interface, before FastAPI's middleware stack and
    route matching (which with Starlette's Request/Response and the anyio hand-off cost ~0.9 ms of CPU
    a request). Multipart bodies go through the mounted route instead; both give the same answers
    byte for byte (both end in `pipeline.admit/call/respond`).

    The requests that arrive together are served as one batch: authenticated on one read connection,
    the requests of one batched service and platform among them run as one call of its batch
    executor (`_together`, `pipeline.call_together`), then answered.
    - SQLite (`_run_batch`): on the event loop itself, with the batch's handlers in ONE shared
      transaction, each in its own savepoint (`db.tx.SharedTransaction`: one commit, one fsync, for
      the batch), answered only after the commit returned. No thread hand-off and no GIL ping-pong:
      SQLite's calls take microseconds, and a thread that releases the GIL around each of them and
      waits to get it back doubled a request's CPU (measured: 1.2 ms in one thread, 1.8 ms with a loop
      thread and a pool thread taking turns).
    - PostgreSQL (`_serve_batch`): on a service thread, `BATCHES_IN_FLIGHT` batch at a time per
      loop, each handler or group in a transaction of its own (retried on conflicts); a service's
      requests enter its group commit as one run (`GroupCommit.submit_all`), where they join those of
      the process's other routes. One thread hand-off a batch instead of one a request, one read for
      the authentication, and the signing in the same thread.
    Handlers that are not `batchable` (ASYNC_TRANSACTION acceptance, the money services with their own
    units of work) run alone on the service threads, after the batch."""

    def __init__(self, app: FastAPI, path: str, threads: int) -> None:
        self.app, self.path = app, path
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="cunguan-lanmao")
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = weakref.WeakKeyDictionary()

    def wants(self, scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            return False
        for name, value in scope["headers"]:
            if name == b"content-type":
                return not value.lower().startswith(b"multipart/form-data")
        return True

    async def __call__(self, scope, receive, send) -> None:
        cid = uuid.uuid4().hex[:16]
        rt = runtime(self.app)
        loop = asyncio.get_running_loop()
        try:
            body = await _receive_body(scope, receive, rt.settings.max_body_bytes)
        except _Disconnected:
            return
        except InvalidRequest as exc:
            wr = await loop.run_in_executor(self.pool, pipeline.error_response, rt, "service",
                                            WireError("1", BAD_JSON, exc.message), None, cid)
        else:
            queue = self._queues.get(loop)
            if queue is None:
                queue = self._queues[loop] = _Queue()
            future = loop.create_future()
            queue.pending.append((body, cid, future))
            if not queue.scheduled:
                queue.scheduled = True
                loop.call_soon(self._drain if is_sqlite(rt.engine) else self._dispatch, rt, queue)
            wr = await future
        headers = [(b"content-type", wr.media_type.encode("latin-1")), (b"content-length", str(len(wr.body)).encode())]
        headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in wr.headers.items()]
        await send({"type": "http.response.start", "status": wr.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": wr.body})

    def _drain(self, rt: pipeline.Runtime, queue: _Queue) -> None:
        """SQLite: run the next batch on the event loop."""
        batch = queue.take()
        queue.scheduled = bool(queue.pending)
        if queue.scheduled:
            asyncio.get_running_loop().call_soon(self._drain, rt, queue)
        try:
            answers = self._run_batch(rt, batch)
        except Exception:  # noqa: BLE001 - e.g. the database is unreachable: every request gets 100001
            answers = _failed(rt, batch)
        self._deliver(rt, batch, answers)

    def _dispatch(self, rt: pipeline.Runtime, queue: _Queue) -> None:
        """PostgreSQL: hand the waiting requests, a batch at a time, to the service threads."""
        queue.scheduled = False
        loop = asyncio.get_running_loop()
        while queue.pending and queue.running < BATCHES_IN_FLIGHT:
            batch = queue.take()
            queue.running += 1
            done = loop.run_in_executor(self.pool, _serve_batch, rt, batch)
            done.add_done_callback(functools.partial(self._served, rt, queue, batch))

    def _served(self, rt: pipeline.Runtime, queue: _Queue, batch, done: asyncio.Future) -> None:
        queue.running -= 1
        try:
            answers = done.result()
        except Exception:  # noqa: BLE001 - as in `_drain`
            answers = _failed(rt, batch)
        self._deliver(rt, batch, answers)
        self._dispatch(rt, queue)

    def _deliver(self, rt: pipeline.Runtime, batch, answers: list) -> None:
        """Each request's answer to its waiting future; a call that runs alone goes to the threads."""
        loop = asyncio.get_running_loop()
        for (_body, _cid, future), answer in zip(batch, answers, strict=True):
            if isinstance(answer, pipeline.Call):
                answer = loop.run_in_executor(self.pool, _call_and_respond, rt, answer)
            if isinstance(answer, asyncio.Future):
                asyncio.ensure_future(_relay(answer, future))
            elif not future.done():
                future.set_result(answer)

    def _run_batch(self, rt: pipeline.Runtime, batch) -> list:
        """admit all, call the batchable ones in one shared transaction, commit, respond (see class)."""
        calls = _admit_all(rt, batch)
        shared = SharedTransaction(rt.engine)
        joined: list[pipeline.Call] = []
        alone = _alone(calls)
        try:
            with shared.current():
                for group in _together(calls, alone):
                    before = shared.joined
                    _call_group(group)
                    if shared.joined > before:
                        joined.extend(call_ for call_ in group if call_.error is None)
        except BaseException as exc:  # never leave the write lock held: undo the batch, answer 100001
            shared.rollback(exc)
            raise
        try:
            shared.commit()
        except Exception:  # noqa: BLE001 - nothing that joined is durable: each of them is a system error
            pipeline.logger.exception("lanmao service batch commit failed")
            for call_ in joined:
                pipeline.fail(call_)
        return [c if c in alone else pipeline.respond(rt, c) for c in calls]


def _serve_batch(rt: pipeline.Runtime, batch) -> list:
    """PostgreSQL, on a service thread: admit all, call each group in its own transaction, respond;
    a call that is not batchable is handed back to run alone (see `ServiceFastPath`)."""
    calls = _admit_all(rt, batch)
    alone = _alone(calls)
    for group in _together(calls, alone):
        _call_group(group)
    return [c if c in alone else pipeline.respond(rt, c) for c in calls]


def _admit_all(rt: pipeline.Runtime, batch) -> list[pipeline.Call]:
    with reading(rt.engine) as conn:
        auth = pipeline.BatchAuth(conn)
        return [pipeline.admit(rt, "service", body, None, cid, auth) for body, cid, _future in batch]


def _alone(calls: list[pipeline.Call]) -> list[pipeline.Call]:
    return [c for c in calls if c.admitted and not getattr(c.spec.handler, "batchable", False)]


def _call_group(group: list[pipeline.Call]) -> None:
    if len(group) == 1:
        pipeline.call(group[0])
    else:
        pipeline.call_together(group)


def _failed(rt: pipeline.Runtime, batch) -> list[responses.WireResponse]:
    pipeline.logger.exception("lanmao service batch failed")
    return [pipeline.respond(rt, pipeline.fail(pipeline.Call("service", cid))) for _b, cid, _f in batch]


def _together(calls: list[pipeline.Call], alone: list[pipeline.Call]) -> list[list[pipeline.Call]]:
    """The batch's calls that run in its shared transaction, in arrival order, except that the calls of
    one batched service (`handler_kit.combined`, `together`) and one platform are gathered at the place
    of the first of them. Decision: the requests of a batch arrived concurrently, so any order of them
    is a valid serial order; PostgreSQL's group commit gathers them the same way."""
    groups: list[list[pipeline.Call]] = []
    by_key: dict[tuple[object, str], list[pipeline.Call]] = {}
    for call_ in calls:
        if not call_.admitted or call_ in alone:
            continue
        assert call_.spec is not None and call_.ctx is not None
        if getattr(call_.spec.handler, "together", None) is None:
            groups.append([call_])
            continue
        key = (call_.spec.handler, call_.ctx.platform_no)
        group = by_key.get(key)
        if group is None:
            group = by_key[key] = []
            groups.append(group)
        group.append(call_)
    return groups


def _call_and_respond(rt: pipeline.Runtime, call_: pipeline.Call) -> responses.WireResponse:
    return pipeline.respond(rt, pipeline.call(call_))


async def _relay(source: asyncio.Future, target: asyncio.Future) -> None:
    try:
        target.set_result(await source)
    except Exception as exc:  # noqa: BLE001 - handed to the waiting request
        target.set_exception(exc)


class _Disconnected(Exception):
    """The client went away before the body was complete: nothing to answer."""


async def _receive_body(scope, receive, limit: int) -> bytes:
    """The whole request body off the ASGI `receive`, refused past `limit` bytes (declared or sent)."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise _TooLarge(f"the request body is larger than {limit} bytes", field="body")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge(f"the request body is larger than {limit} bytes", field="body")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def install(app: FastAPI, *, settings: Settings | None = None, registry: Registry | None = None) -> None:
    """Mount the Lanmao interface on `app` (called once by `create_app`)."""
    if settings is None:
        settings = getattr(app.state, "settings", None) or Settings.from_env()
    app.state.settings = settings
    app.state.lanmao_registry = registry if registry is not None else build_registry()
    app.include_router(build_router(settings))
    threads = int_setting(os.environ, "CUNGUAN_LANMAO_THREADS", SERVICE_THREADS[app.state.engine.dialect.name], 1, 64)
    app.state.lanmao_fast_path = ServiceFastPath(app, f"{settings.lanmao_prefix}/service", threads)
