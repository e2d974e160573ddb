"""Building what goes back on the wire (§1.6, §1.8): the JSON envelope, its signature, error pages.

Direct responses are UTF-8 JSON, `code` and `status` first and as strings, amounts as exact numbers
(`Decimal("100.00")` renders `100.00`), signed over the exact body bytes with the bank key and sent
with the signature in the `sign` header.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cunguan.client import wire

JSON_TYPE = "application/json;charset=UTF-8"
HTML_TYPE = "text/html; charset=utf-8"
ZIP_TYPE = "application/zip"
_REQUEST_NO = re.compile(r"[^\x00-\x1f\x7f]{1,50}")


@dataclass
class WireResponse:
    body: bytes
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)
    status_code: int = 200
    raw: Any = None
    """A ready Starlette Response from a gateway handler, passed through untouched."""


def echo_request_no(req: Mapping[str, Any] | None) -> str | None:
    if not req:
        return None
    value = req.get("requestNo")
    if isinstance(value, str) and _REQUEST_NO.fullmatch(value):
        return value
    return None


def success_body(result: Mapping[str, Any] | None, req: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(result or {})
    body: dict[str, Any] = {"code": str(result.pop("code", "0")), "status": str(result.pop("status", "SUCCESS"))}
    request_no = result.pop("requestNo", None) or echo_request_no(req)
    if request_no is not None:
        body["requestNo"] = request_no
    body.update(result)
    return body


def error_body(call_code: str, error_code: str, message: str, request_no: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": call_code, "status": "INIT", "errorCode": error_code, "errorMessage": message}
    if request_no is not None:
        body["requestNo"] = request_no
    return body


def render_json(body: Mapping[str, Any]) -> bytes:
    return wire.dumps(body).encode("utf-8")


def error_page(error_code: str, message: str, correlation_id: str) -> bytes:
    """The bank's page for a gateway request it cannot serve. Shows the code and message (no
    internals); the platform's own page stays where the user came from."""
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>存管系统 — 无法处理</title></head><body>\n"
        "<h1>无法处理该请求</h1>\n"
        f"<p id=\"errorCode\">错误码：{html.escape(error_code)}</p>\n"
        f"<p id=\"errorMessage\">{html.escape(message)}</p>\n"
        f"<p><small>参考号：{html.escape(correlation_id)}</small></p>\n"
        "</body></html>\n"
    ).encode()
