"""The demo platform's own two endpoints, served by the bank's server for the demo only.

`cunguan serve` creates a demo platform whose NOTIFY URL is `{base}/demo-platform/notify` and whose
pages return to `{base}/demo-platform/return` (custody/demo.py, client/demo_flow.py). A real platform
serves these on its own site; without them the demo's notifications would fail and be retried
forever. Both check the bank's signature over `respData` (as a platform must) and answer the way the
protocol expects: NOTIFY → the text `SUCCESS` (only for a valid signature, so a forged notification
is retried and shows up as failing in the console); CALLBACK → a small page saying what came back.
Nothing is stored: the demo reads its results from the interface (QUERY_*).
"""

from __future__ import annotations

import html
import json
import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from cunguan.client import signing
from cunguan.custody import platforms

log = logging.getLogger("cunguan.demo_platform")
router = APIRouter(prefix="/demo-platform", include_in_schema=False)
MAX_FORM_CHARS = 1_200_000


async def _signed_resp_data(request: Request) -> tuple[str, dict] | None:
    """(serviceName, respData) when the form carries a valid bank signature, else None."""
    form = await request.form(max_fields=20, max_part_size=MAX_FORM_CHARS)
    resp_data, sign = form.get("respData"), form.get("sign")
    if not isinstance(resp_data, str) or not isinstance(sign, str):
        return None
    app = request.app
    pem = await run_in_threadpool(platforms.bank_public_key_pem, app.state.engine, getattr(app.state, "settings", None))
    if not signing.verify(signing.cached_public_key(pem), resp_data.encode("utf-8"), sign):
        return None
    try:
        data = json.loads(resp_data)
    except ValueError:
        return None
    service = form.get("serviceName")
    return (service if isinstance(service, str) else "", data if isinstance(data, dict) else {})


@router.post("/notify")
async def notify(request: Request) -> PlainTextResponse:
    got = await _signed_resp_data(request)
    if got is None:
        log.warning("demo platform: NOTIFY without a valid bank signature refused")
        return PlainTextResponse("FAIL", status_code=400)
    service, data = got
    log.info("demo platform: NOTIFY %s requestNo=%s status=%s", service, data.get("requestNo"), data.get("status"))
    return PlainTextResponse("SUCCESS")


@router.post("/return")
async def page_return(request: Request) -> HTMLResponse:
    got = await _signed_resp_data(request)
    if got is None:
        return HTMLResponse("<h1>签名无效</h1>", status_code=400)
    service, data = got
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in data.items())
    return HTMLResponse(f"<!doctype html><meta charset='utf-8'><title>演示平台</title>"
                        f"<h1 id='received'>演示平台已收到结果：{html.escape(service)}</h1><table>{rows}</table>")


def install(app: FastAPI) -> None:
    app.include_router(router)
