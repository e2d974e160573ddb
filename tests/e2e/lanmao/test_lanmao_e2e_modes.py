"""Gateway and download handlers through the real server: what a registered page or file handler
returns reaches the browser or client in the right form (the pages and check-file rooms plug in here)."""

from __future__ import annotations

import pytest
from starlette.responses import RedirectResponse

from cunguan.client import LanmaoClient
from cunguan.custody.errors import NotFound

pytestmark = pytest.mark.db


def _page(ctx, req):
    return f"<html><body>platform {ctx.platform_no} device {ctx.user_device} user {req['platformUserNo']}</body></html>"


def _download(ctx, req):
    if req.get("fileDate") == "20200101":
        raise NotFound("fileDate 20200101 has no check file", field="fileDate")
    return b"PK\x05\x06" + b"\x00" * 18


def test_gateway_handler_page(lanmao_client: LanmaoClient, live_server) -> None:
    live_server.app.state.lanmao_registry.register("RECHARGE", _page, replace=True)
    lanmao_client.user_device = "MOBILE"
    response = lanmao_client.post_form("gateway", lanmao_client.build_form("RECHARGE", {"platformUserNo": "u<1>"}))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "platform 6000000001 device MOBILE user u<1>" in response.text


def test_gateway_handler_response_passes_through(lanmao_client: LanmaoClient, live_server) -> None:
    live_server.app.state.lanmao_registry.register(
        "WITHDRAW", lambda ctx, req: RedirectResponse("/pages/withdraw/abc", status_code=303), replace=True)
    response = lanmao_client.post_form("gateway", lanmao_client.build_form("WITHDRAW", {"platformUserNo": "u1"}))
    assert response.status_code == 303 and response.headers["location"] == "/pages/withdraw/abc"


def test_download_handler_zip_and_error(lanmao_client: LanmaoClient, live_server) -> None:
    live_server.app.state.lanmao_registry.register("DOWNLOAD_CHECKFILE", _download, replace=True)
    ok = lanmao_client.download({"fileDate": "20261122"})
    assert ok.outcome == "S" and ok.content.startswith(b"PK")
    missing = lanmao_client.download({"fileDate": "20200101"})
    assert missing.outcome == "F" and missing.error is not None
    assert missing.error["errorCode"] == "100007" and missing.error["status"] == "INIT"
    # the check-file service on the direct endpoint is refused
    assert lanmao_client.call("DOWNLOAD_CHECKFILE", {"fileDate": "20261122"}).data["errorCode"] == "100006"
