"""The outer request (§1.3): a form with serviceName, platformNo, reqData, keySerial, sign and an
optional userDevice. Pure parsing and validation; every refusal is a precise 100002.

The body is UTF-8 `application/x-www-form-urlencoded` (RestClient, Apache, urllib). A field given twice
is refused rather than guessed at: what was signed must be unambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cunguan.client import form
from cunguan.custody.errors import InvalidRequest

MAX_FIELDS = 64
MAX_REQ_DATA_CHARS = 4 * 1024 * 1024
SERVICE_NAME_RE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
USER_DEVICES = ("PC", "MOBILE")
_LIMITS = {"serviceName": 64, "platformNo": 32, "keySerial": 32, "sign": 2048, "userDevice": 16}


@dataclass(frozen=True)
class Envelope:
    service_name: str
    platform_no: str
    req_data: str
    key_serial: str
    sign: str
    user_device: str | None

    @property
    def signed_bytes(self) -> bytes:
        """The exact bytes the platform signed: reqData as transmitted, UTF-8."""
        return self.req_data.encode("utf-8")


def parse_urlencoded(body: bytes) -> list[tuple[str, str]]:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("the request body is not UTF-8", field="body") from None
    try:
        return form.decode(body, max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise InvalidRequest("a form field is not valid UTF-8 after URL decoding", field="body") from None
    except ValueError:
        raise InvalidRequest(f"the form has more than {MAX_FIELDS} fields", field="body") from None


def parse_envelope(pairs: Iterable[tuple[str, str]]) -> Envelope:
    fields: dict[str, str] = {}
    count = 0
    for key, value in pairs:
        count += 1
        if count > MAX_FIELDS:
            raise InvalidRequest(f"the form has more than {MAX_FIELDS} fields", field="body")
        if key in fields:
            raise InvalidRequest(f"{key[:32]} is given more than once", field=key[:32])
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # only reachable through a non-strict form decoder
            raise InvalidRequest(f"{key[:32]} is not valid Unicode", field=key[:32]) from None
        fields[key] = value

    def required(name: str) -> str:
        value = fields.get(name)
        if value is None or value.strip() == "":
            raise InvalidRequest(f"{name} is required", field=name)
        limit = MAX_REQ_DATA_CHARS if name == "reqData" else _LIMITS[name]
        if len(value) > limit:
            raise InvalidRequest(f"{name} is longer than {limit} characters", field=name)
        return value

    service_name = required("serviceName").strip()
    if not SERVICE_NAME_RE.fullmatch(service_name):
        raise InvalidRequest("serviceName must be an upper-case service name such as QUERY_USER_INFORMATION",
                             field="serviceName")
    platform_no = required("platformNo").strip()
    req_data = required("reqData")
    key_serial = required("keySerial").strip()
    # Base64 has no spaces: a '+' sent unescaped by a careless encoder arrives as ' '.
    sign = required("sign").strip().replace(" ", "+")
    device = fields.get("userDevice")
    user_device = None
    if device is not None and device.strip():
        user_device = device.strip().upper()
        if user_device not in USER_DEVICES:
            raise InvalidRequest("userDevice must be PC or MOBILE", field="userDevice")
    return Envelope(service_name, platform_no, req_data, key_serial, sign, user_device)
