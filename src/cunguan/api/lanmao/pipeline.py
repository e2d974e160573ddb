"""One Lanmao request, start to finish, without HTTP objects: form fields in, a WireResponse out.

Order of checks (each refusal is the error envelope, HTTP 200, and changes nothing):
1. envelope fields present and well formed ......................... 100002
2. platform registered (100004) and active (100005)
3. keySerial registered and active for that platform, signature of the exact reqData bytes .. 100003
4. reqData is a JSON object with clean strings and bounded numbers ... 100002
5. serviceName in the catalogue and posted to its endpoint ......... 100006
6. timestamp within the window of the bank clock ................... 100002
7. a handler exists (else 100006 "not yet available"), and it runs; its typed errors map to their
   codes; anything unexpected is logged with a correlation id and answered 100001.
Steps 1-6 are `admit`, step 7 is `call`, the signed answer is `respond` (see `Call`).
The signature is checked before anything in reqData is believed; serviceName is not covered by the
signature on this wire, so it is only trusted once the platform is authenticated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from starlette.responses import Response

from cunguan.api.lanmao import responses
from cunguan.api.lanmao.context import ServiceContext
from cunguan.api.lanmao.envelope import Envelope, parse_envelope, parse_urlencoded
from cunguan.api.lanmao.errors import WireError, to_wire_error
from cunguan.api.lanmao.registry import Mode, Registry, ServiceSpec, mode_of
from cunguan.api.lanmao.reqdata import check_timestamp, parse_req_data
from cunguan.client import signing
from cunguan.clock import Clock
from cunguan.custody import platforms
from cunguan.custody.errors import (
    SYSTEM_ERROR,
    BadSignature,
    PlatformNotFound,
    PlatformUnavailable,
    ServiceNotOpen,
    describe,
)
from cunguan.db.prepared import Prepared
from cunguan.db.reads import reading
from cunguan.db.tables.custody_platforms import custody_platform_keys, custody_platforms
from cunguan.settings import Settings

logger = logging.getLogger("cunguan.lanmao")


@dataclass(frozen=True)
class Runtime:
    engine: Engine
    settings: Settings
    registry: Registry
    clock: Clock
    base_url: str

    def bank_sign(self, data: bytes) -> str:
        return platforms.bank_key(self.engine, self.settings).sign(data)


_c, _k = custody_platforms.c, custody_platform_keys.c
_AUTH = Prepared(
    sa.select(_c.platform_no, _c.name, _c.notify_url, _c.status, _c.custody_account_id, _k.public_key_pem, _k.status)
    .select_from(custody_platforms.outerjoin(custody_platform_keys, sa.and_(
        _k.platform_no == _c.platform_no, _k.key_serial == sa.bindparam("key_serial"))))
    .where(_c.platform_no == sa.bindparam("platform_no"))
)
"""The platform and its key for (platformNo, keySerial) in one statement (every request runs it)."""


class BatchAuth:
    """The platform-and-key rows of one batch of requests that arrived together, read on one
    connection, each (platformNo, keySerial) once: the batch's requests are authenticated as of one
    moment, so one read answers all of them (16 requests of one platform: one round trip, not 16)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._rows: dict[tuple[str, str], Any] = {}

    def row(self, params: dict[str, str]) -> Any:
        key = (params["platform_no"], params["key_serial"])
        if key not in self._rows:
            self._rows[key] = _AUTH.first(self.conn, params)
        return self._rows[key]


def authenticate(rt: Runtime, env: Envelope, batch: BatchAuth | None = None) -> platforms.Platform:
    """Read fresh from the database for every request or batch of requests (no cache across them): a
    suspended platform or a revoked key is refused from the next request on, in every server process.
    `batch`: the reads of the batch the request arrived in."""
    row = None
    if platforms.PLATFORM_NO_RE.fullmatch(env.platform_no):
        params = {"platform_no": env.platform_no, "key_serial": env.key_serial}
        if batch is not None:
            row = batch.row(params)
        else:
            with reading(rt.engine) as own:
                row = _AUTH.first(own, params)
    if row is None:
        raise PlatformNotFound(f"platformNo {env.platform_no[:32]!r} is not registered", field="platformNo")
    platform_no, name, notify_url, status, custody_account_id, pem, key_status = row
    platform = platforms.Platform(platform_no, name, notify_url, status, int(custody_account_id))
    if not platform.active:
        raise PlatformUnavailable(f"platform {platform.platform_no} is {platform.status}", field="platformNo")
    if (pem is None or key_status != platforms.ACTIVE
            or not platforms.KEY_SERIAL_RE.fullmatch(env.key_serial)):
        raise BadSignature(f"keySerial {env.key_serial[:32]!r} is not registered for platform "
                           f"{platform.platform_no}", field="keySerial")
    if signing.decode_signature(env.sign) is None:
        raise BadSignature("sign is not Base64", field="sign")
    if not signing.verify(signing.cached_public_key(str(pem)), env.signed_bytes, env.sign):
        raise BadSignature(f"sign does not verify over reqData with the key of keySerial {env.key_serial}",
                           field="sign")
    return platform


@dataclass(eq=False)
class Call:
    """One request through the pipeline's three steps: `admit` (checks 1-6, no business effect),
    `call` (the handler), `respond` (the signed answer). `process` runs them back to back; the SQLite
    batch of `router.ServiceFastPath` runs each step for a whole batch at a time."""

    endpoint: Mode
    correlation_id: str
    service: str = "?"
    req: dict[str, Any] | None = None
    spec: ServiceSpec | None = None
    ctx: ServiceContext | None = None
    result: Any = None
    error: WireError | None = None

    @property
    def admitted(self) -> bool:
        return self.spec is not None and self.error is None


def admit(rt: Runtime, endpoint: Mode, body: bytes, form_pairs: list[tuple[str, str]] | None,
          correlation_id: str, batch: BatchAuth | None = None) -> Call:
    """Checks 1-6 of the module docstring; a refusal is kept on the Call (`error`)."""
    call_ = Call(endpoint, correlation_id)
    try:
        env = parse_envelope(form_pairs if form_pairs is not None else parse_urlencoded(body))
        call_.service = env.service_name
        platform = authenticate(rt, env, batch)
        call_.req = parse_req_data(env.req_data)
        mode = mode_of(env.service_name, rt.registry)
        if mode is None:
            raise ServiceNotOpen(f"serviceName {env.service_name} is not a Lanmao service", field="serviceName")
        if mode != endpoint:
            raise ServiceNotOpen(f"{env.service_name} is a {mode} service: post it to "
                                 f"{rt.settings.lanmao_prefix}/{mode}", field="serviceName")
        check_timestamp(call_.req, rt.clock, rt.settings.timestamp_window_s)
        spec = rt.registry.get(env.service_name)
        if spec is None:
            raise ServiceNotOpen(f"{env.service_name} is not yet available on this bank", field="serviceName")
        call_.ctx = ServiceContext(platform=platform, engine=rt.engine, clock=rt.clock, settings=rt.settings,
                                   service_name=env.service_name, key_serial=env.key_serial,
                                   user_device=env.user_device, correlation_id=correlation_id,
                                   base_url=rt.base_url, bank_sign=rt.bank_sign)
        call_.spec = spec
    except Exception as exc:  # noqa: BLE001 - the edge: nothing escapes as a 5xx
        call_.error = _wire_error(call_, exc)
    return call_


def call(call_: Call) -> Call:
    """Run the admitted request's handler; its result, or its refusal as a WireError."""
    assert call_.admitted and call_.ctx is not None and call_.req is not None
    try:
        call_.result = call_.spec.handler(call_.ctx, call_.req)
    except Exception as exc:  # noqa: BLE001 - the edge: nothing escapes as a 5xx
        call_.error = _wire_error(call_, exc)
    return call_


def call_together(calls: list[Call]) -> list[Call]:
    """Run admitted requests of one batched service (`handler_kit.combined`) and one platform with its
    batch service at once. Each request gets the answer or refusal it would get alone. If the batch
    fails as a whole (a bug or a lost connection, not a refusal), what it wrote is rolled back and each
    request runs alone, as if no batch had formed."""
    first = calls[0]
    assert first.ctx is not None and all(
        c.admitted and c.spec is first.spec and c.ctx is not None and c.ctx.platform_no == first.ctx.platform_no
        for c in calls), "one service and one platform per batch"
    try:
        outcomes = first.spec.handler.together(first.ctx, [c.req for c in calls])  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - never let one batch decide the other requests' fate
        logger.exception("lanmao %s batch failed; its requests run alone [cid=%s]", first.service,
                         first.correlation_id)
        return [call(c) for c in calls]
    for call_, outcome in zip(calls, outcomes, strict=True):
        if isinstance(outcome, Exception):
            call_.error = _wire_error(call_, outcome)
        else:
            call_.result = outcome
    return calls


def fail(call_: Call) -> Call:
    """Turn an answered request into the generic system error (its work did not become durable)."""
    call_.result, call_.error = None, system_error(call_.correlation_id)
    return call_


def system_error(cid: str) -> WireError:
    """100001 with the correlation id an operator finds the logged cause by."""
    return WireError("1", SYSTEM_ERROR, describe(SYSTEM_ERROR, f"参考号 {cid}"))


def respond(rt: Runtime, call_: Call) -> responses.WireResponse:
    if call_.error is None:
        try:
            return _success(rt, call_.endpoint, call_.result, call_.req or {}, call_.correlation_id)
        except Exception as exc:  # noqa: BLE001 - a handler returned something the wire cannot carry
            call_.error = _wire_error(call_, exc)
    return error_response(rt, call_.endpoint, call_.error, call_.req, call_.correlation_id)


def _wire_error(call_: Call, exc: Exception) -> WireError:
    wire_error = to_wire_error(exc)
    cid = call_.correlation_id
    if wire_error is None:
        logger.error("lanmao %s %s failed unexpectedly [cid=%s]", call_.endpoint, call_.service, cid, exc_info=exc)
        return system_error(cid)
    logger.info("lanmao %s %s refused %s [cid=%s]", call_.endpoint, call_.service, wire_error.error_code, cid)
    return wire_error


def process(rt: Runtime, endpoint: Mode, body: bytes, form_pairs: list[tuple[str, str]] | None,
            correlation_id: str) -> responses.WireResponse:
    call_ = admit(rt, endpoint, body, form_pairs, correlation_id)
    if call_.admitted:
        call(call_)
    return respond(rt, call_)


def _success(rt: Runtime, endpoint: Mode, result: Any, req: dict[str, Any], cid: str) -> responses.WireResponse:
    if endpoint == "gateway":
        if isinstance(result, str):
            return responses.WireResponse(result.encode("utf-8"), responses.HTML_TYPE)
        if not isinstance(result, Response):
            raise TypeError("a gateway handler must return an HTML str or a Response")
        return responses.WireResponse(b"", responses.HTML_TYPE, raw=result)
    if endpoint == "download":
        if not isinstance(result, bytes | bytearray):
            raise TypeError("a download handler must return bytes")
        return responses.WireResponse(bytes(result), responses.ZIP_TYPE)
    if result is not None and not isinstance(result, dict):
        raise TypeError("a service handler must return a dict")
    return signed_json(rt, responses.success_body(result, req), cid)


def error_response(rt: Runtime, endpoint: Mode, err: WireError, req: dict[str, Any] | None,
                   cid: str) -> responses.WireResponse:
    if endpoint == "gateway":
        return responses.WireResponse(responses.error_page(err.error_code, err.message, cid), responses.HTML_TYPE)
    body = responses.error_body(err.call_code, err.error_code, err.message, responses.echo_request_no(req))
    return signed_json(rt, body, cid)


def signed_json(rt: Runtime, body: dict[str, Any], cid: str,
                sign: Callable[[bytes], str] | None = None) -> responses.WireResponse:
    try:
        raw = responses.render_json(body)
    except (TypeError, ValueError):
        logger.exception("lanmao response could not be rendered [cid=%s]", cid)
        raw = responses.render_json(responses.error_body(
            "1", SYSTEM_ERROR, describe(SYSTEM_ERROR, f"参考号 {cid}"), responses.echo_request_no(body)))
    headers = {"X-Correlation-Id": cid}
    try:
        headers["sign"] = (sign or rt.bank_sign)(raw)
    except Exception:  # noqa: BLE001 - an unsigned answer beats no answer; the client will not trust it
        logger.exception("lanmao response could not be signed [cid=%s]", cid)
    return responses.WireResponse(raw, responses.JSON_TYPE, headers)
