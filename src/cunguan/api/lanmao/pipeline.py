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
The signature is checked before anything in reqData is believed; serviceName is not covered by the
signature on this wire, so it is only trusted once the platform is authenticated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.responses import Response

from cunguan.api.lanmao import responses
from cunguan.api.lanmao.context import ServiceContext
from cunguan.api.lanmao.envelope import Envelope, parse_envelope, parse_urlencoded
from cunguan.api.lanmao.errors import WireError, to_wire_error
from cunguan.api.lanmao.registry import Mode, Registry, mode_of
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


_AUTH_STMT = (
    sa.select(custody_platforms, custody_platform_keys.c.public_key_pem.label("auth_key_pem"),
              custody_platform_keys.c.status.label("auth_key_status"))
    .select_from(custody_platforms.outerjoin(custody_platform_keys, sa.and_(
        custody_platform_keys.c.platform_no == custody_platforms.c.platform_no,
        custody_platform_keys.c.key_serial == sa.bindparam("key_serial"))))
    .where(custody_platforms.c.platform_no == sa.bindparam("platform_no"))
)
"""The platform and its key for (platformNo, keySerial) in one statement, built once (every request
runs it: building and cache-keying a Core statement per request cost more than the query)."""


def authenticate(rt: Runtime, env: Envelope) -> platforms.Platform:
    """Read fresh from the database on every request (no cache): a suspended platform or a revoked key
    is refused from the next request on, in every server process."""
    row = None
    if platforms.PLATFORM_NO_RE.fullmatch(env.platform_no):
        with rt.engine.connect() as conn:
            conn = conn.execution_options(sqlite_deferred=True)
            row = conn.execute(_AUTH_STMT, {"platform_no": env.platform_no, "key_serial": env.key_serial}) \
                .mappings().first()
            conn.rollback()
    if row is None:
        raise PlatformNotFound(f"platformNo {env.platform_no[:32]!r} is not registered", field="platformNo")
    platform = platforms.Platform(row["platform_no"], row["name"], row["notify_url"], row["status"],
                                  int(row["custody_account_id"]))
    if not platform.active:
        raise PlatformUnavailable(f"platform {platform.platform_no} is {platform.status}", field="platformNo")
    pem = row["auth_key_pem"]
    if (pem is None or row["auth_key_status"] != platforms.ACTIVE
            or not platforms.KEY_SERIAL_RE.fullmatch(env.key_serial)):
        raise BadSignature(f"keySerial {env.key_serial[:32]!r} is not registered for platform "
                           f"{platform.platform_no}", field="keySerial")
    if signing.decode_signature(env.sign) is None:
        raise BadSignature("sign is not Base64", field="sign")
    if not signing.verify(signing.cached_public_key(str(pem)), env.signed_bytes, env.sign):
        raise BadSignature(f"sign does not verify over reqData with the key of keySerial {env.key_serial}",
                           field="sign")
    return platform


def process(rt: Runtime, endpoint: Mode, body: bytes, form_pairs: list[tuple[str, str]] | None,
            correlation_id: str) -> responses.WireResponse:
    req: dict[str, Any] | None = None
    service = "?"
    try:
        env = parse_envelope(form_pairs if form_pairs is not None else parse_urlencoded(body))
        service = env.service_name
        platform = authenticate(rt, env)
        req = parse_req_data(env.req_data)
        mode = mode_of(env.service_name, rt.registry)
        if mode is None:
            raise ServiceNotOpen(f"serviceName {env.service_name} is not a Lanmao service", field="serviceName")
        if mode != endpoint:
            raise ServiceNotOpen(f"{env.service_name} is a {mode} service: post it to "
                                 f"{rt.settings.lanmao_prefix}/{mode}", field="serviceName")
        check_timestamp(req, rt.clock, rt.settings.timestamp_window_s)
        spec = rt.registry.get(env.service_name)
        if spec is None:
            raise ServiceNotOpen(f"{env.service_name} is not yet available on this bank", field="serviceName")
        ctx = ServiceContext(platform=platform, engine=rt.engine, clock=rt.clock, settings=rt.settings,
                             service_name=env.service_name, key_serial=env.key_serial,
                             user_device=env.user_device, correlation_id=correlation_id,
                             base_url=rt.base_url, bank_sign=rt.bank_sign)
        result = spec.handler(ctx, req)
        return _success(rt, endpoint, result, req, correlation_id)
    except Exception as exc:  # noqa: BLE001 - the edge: nothing escapes as a 5xx
        wire_error = to_wire_error(exc)
        if wire_error is None:
            logger.exception("lanmao %s %s failed unexpectedly [cid=%s]", endpoint, service, correlation_id)
            wire_error = WireError("1", SYSTEM_ERROR, describe(SYSTEM_ERROR, f"参考号 {correlation_id}"))
        else:
            logger.info("lanmao %s %s refused %s [cid=%s]", endpoint, service, wire_error.error_code, correlation_id)
        return error_response(rt, endpoint, wire_error, req, correlation_id)


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
