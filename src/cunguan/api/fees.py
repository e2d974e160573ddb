"""Custody fees over HTTP: the platform's signed read-only JSON view, the console pages, and the
background due-charge check.

`GET /api/fees/{platformNo}?keySerial=1&timestamp=yyyyMMddHHmmss` with header
`X-Sign: Base64(SHA1withRSA(platform private key, UTF-8 "{platformNo}|{keySerial}|{timestamp}"))`.
Decision: the Lanmao protocol has no fee query, so this is a small endpoint of our own that reuses
the protocol's trust: the platform's registered key serials verify the signature (same keys, same
SHA1withRSA as /service), the timestamp must be within the Lanmao window of the bank clock, and the
answer is signed by the bank key in the `sign` header over the exact body bytes (as Lanmao direct
responses are). A replayed request within the window only reads the same data again: nothing changes.
Errors are JSON `{"code": "1", "errorCode", "errorMessage"}` with an HTTP status (400/401/404).
Amounts are JSON numbers in yuan with two decimals; dates are `yyyy-MM-dd`; times Beijing
`yyyyMMddHHmmss`.

Background check: started with the app's lifespan unless `CUNGUAN_FEE_WORKER=off` (or
`app.state.fee_worker = False`); interval `CUNGUAN_FEE_INTERVAL_S` (default 3600 s). It calls
`custody_fees.run_due`, idempotent per (platform, period), so it may run in every process.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from cunguan.api import background
from cunguan.api.lanmao.reqdata import check_timestamp
from cunguan.client import signing, wire
from cunguan.clock import BEIJING, Clock
from cunguan.custody import custody_fees, platforms
from cunguan.custody.errors import BadSignature, CustodyError, PlatformNotFound, describe
from cunguan.db.reads import reading
from cunguan.money import fen_to_decimal
from cunguan.settings import Settings
from cunguan.web import fee_pages

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/fees", tags=["fees"])
MAX_CHARGES = 120
MAX_MOVEMENTS = 200
HTTP_STATUS = {BadSignature: 401, PlatformNotFound: 404}


def signed_bytes(platform_no: str, key_serial: str, timestamp: str) -> bytes:
    """What the platform signs for a fee query."""
    return f"{platform_no}|{key_serial}|{timestamp}".encode()


def _clock(request: Request) -> Clock:
    return getattr(request.app.state, "clock", None) or Clock()


def _settings(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or Settings.from_env()


def _bj_time(us: int | None) -> str | None:
    if us is None:
        return None
    return dt.datetime.fromtimestamp(us // 1_000_000, dt.UTC).astimezone(BEIJING).strftime("%Y%m%d%H%M%S")


def _verify(request: Request, platform_no: str, key_serial: str, timestamp: str, sign: str) -> None:
    engine = request.app.state.engine
    with reading(engine) as conn:
        platform = platforms.find_platform(conn, platform_no)
        pem = platforms.platform_key_pem(conn, platform_no, key_serial) if platform is not None else None
    if platform is None:
        raise PlatformNotFound(f"platformNo {platform_no[:32]!r} is not registered", field="platformNo")
    if pem is None:
        raise BadSignature(f"keySerial {key_serial[:32]!r} is not registered for platform {platform_no}",
                           field="keySerial")
    if not sign or signing.decode_signature(sign) is None:
        raise BadSignature("X-Sign header missing or not Base64", field="sign")
    if not signing.verify(signing.cached_public_key(pem), signed_bytes(platform_no, key_serial, timestamp), sign):
        raise BadSignature("X-Sign does not verify over platformNo|keySerial|timestamp", field="sign")
    check_timestamp({"timestamp": timestamp}, _clock(request), _settings(request).timestamp_window_s)


def body_of(st: custody_fees.Statement) -> dict[str, Any]:
    plan = st.plan
    return {
        "code": "0",
        "status": "SUCCESS",
        "platformNo": st.platform.platform_no,
        "plan": None if plan is None else {
            "method": plan.method,
            "annualRateBp": custody_fees.format_rate(plan.annual_rate_ppm).removesuffix(" bp")
            if plan.method == custody_fees.RATE else None,
            "flatFee": fen_to_decimal(plan.flat_fee_fen) if plan.method == custody_fees.FLAT else None,
            "period": plan.period,
            "startDate": plan.start_date.isoformat(),
        },
        "ownAccount": {"balance": fen_to_decimal(st.own_balance_fen), "frozen": fen_to_decimal(st.own_frozen_fen)},
        "owed": fen_to_decimal(st.owed_fen),
        "charges": [{
            "periodStart": c.period_start.isoformat(), "periodEnd": c.period_end.isoformat(), "days": c.days,
            "method": c.method, "averageDailyBalance": c.average_daily_balance if c.method == custody_fees.RATE else None,
            "fee": fen_to_decimal(c.fee_fen), "paid": fen_to_decimal(c.paid_fen), "owed": fen_to_decimal(c.owed_fen),
            "status": c.status, "chargedTime": _bj_time(c.charged_us), "settledTime": _bj_time(c.settled_us),
        } for c in st.charges[:MAX_CHARGES]],
        "movements": [{
            "kind": m.kind, "ref": m.ref, "amount": fen_to_decimal(m.amount_fen), "time": _bj_time(m.created_us),
        } for m in st.movements[:MAX_MOVEMENTS]],
    }


def _answer(request: Request, body: dict[str, Any], status: int = 200) -> Response:
    raw = wire.dumps(body).encode("utf-8")
    headers = {"Cache-Control": "no-store"}
    try:
        headers["sign"] = platforms.bank_key(request.app.state.engine, _settings(request)).sign(raw)
    except Exception:  # noqa: BLE001 - an unsigned answer beats none; the platform will not trust it
        log.exception("fee answer could not be signed")
    return Response(raw, status_code=status, media_type="application/json; charset=utf-8", headers=headers)


@router.get("/{platform_no}")
def platform_fees(request: Request, platform_no: str, keySerial: str = "", timestamp: str = "") -> Response:  # noqa: N803
    """The platform's custody fee plan, own account, arrears, charges and movements (signed both ways)."""
    try:
        _verify(request, platform_no[:32], keySerial[:32], timestamp[:20], request.headers.get("x-sign", ""))
        with reading(request.app.state.engine) as conn:
            st = custody_fees.statement(conn, platform_no)
        return _answer(request, body_of(st))
    except CustodyError as exc:
        status = next((s for cls, s in HTTP_STATUS.items() if isinstance(exc, cls)), 400)
        return _answer(request, {"code": "1", "status": "INIT", "errorCode": exc.code,
                                 "errorMessage": exc.message or describe(exc.code)}, status)


# ---------------------------------------------------------------- install


def install(app: FastAPI, env: Mapping[str, str] | None = None) -> None:
    """The JSON endpoint, the console pages, and the due-charge check for the app's lifetime."""
    env = os.environ if env is None else env
    app.include_router(router)
    fee_pages.install(app)
    interval_s = int(env.get("CUNGUAN_FEE_INTERVAL_S") or 3600)
    background.run_during_lifespan(app, env, "fee", lambda a: custody_fees.start_background(
        a.state.engine, background.AppClock(a), interval_s=interval_s))
