"""A Lanmao platform client in Python: what a platform's own integration does, so that tests, the
demo and Python platforms speak to Cunguan exactly as PHP/Ruby/Java clients do.

- `call(service, data)`: a direct (`/service`) request — builds reqData (adds `timestamp` in Beijing
  time), signs it with the platform key, posts the form, verifies the `sign` header over the raw body
  with the bank's public key, classifies the answer S/F/P.
- `gateway_form(service, data)`: the auto-submitting HTML form a platform hands to the user's browser.
- `download(data)`: DOWNLOAD_CHECKFILE (ZIP bytes or a JSON failure).
- `verify_notification(form)`: checks a CALLBACK/NOTIFY form (`sign` over `respData`) and returns the
  parsed respData.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from cunguan.client import form as form_codec
from cunguan.client import signing, wire
from cunguan.client.outcome import SIGN_INVALID_CODE, Kind, Outcome, classify

BEIJING = ZoneInfo("Asia/Shanghai")
DEFAULT_TIMEOUT_S = 30.0
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


class SignatureError(ValueError):
    """A message from the bank whose signature does not verify: never act on it."""


@dataclass(frozen=True)
class ServiceResult:
    outcome: Outcome
    http_status: int
    data: dict[str, Any]
    """The parsed JSON body (amounts as Decimal); `code` is `sign_valid_fail` if the signature failed."""
    body: bytes
    sign: str | None
    signature_valid: bool

    @property
    def code(self) -> str | None:
        return None if self.data.get("code") is None else str(self.data["code"])

    @property
    def error_code(self) -> str | None:
        return self.data.get("errorCode")

    @property
    def error_message(self) -> str | None:
        return self.data.get("errorMessage")


@dataclass(frozen=True)
class DownloadResult:
    outcome: Outcome
    http_status: int
    content: bytes
    error: dict[str, Any] | None = None


@dataclass
class LanmaoClient:
    """One platform's client. `base_url` includes the path prefix, e.g.
    `http://127.0.0.1:8000/bha-neo-app/lanmaotech`; the client appends `/service` etc."""

    base_url: str
    platform_no: str
    private_key: rsa.RSAPrivateKey | str
    bank_public_key: rsa.RSAPublicKey | str
    key_serial: str = "1"
    user_device: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    require_signature: bool = True
    """The gem accepts a response without a `sign` header; we do not, unless told to."""
    now: Any = None
    """Optional callable returning an aware datetime (an injected clock's `now`)."""
    http: httpx.Client | None = None
    _own_http: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.private_key, str):
            self.private_key = signing.load_private_key(self.private_key)
        if isinstance(self.bank_public_key, str):
            self.bank_public_key = signing.load_public_key(self.bank_public_key)
        self.base_url = self.base_url.rstrip("/")
        if self.http is None:
            self.http = httpx.Client(timeout=self.timeout_s)
            self._own_http = True

    def close(self) -> None:
        if self._own_http and self.http is not None:
            self.http.close()

    def __enter__(self) -> LanmaoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ building

    def timestamp(self) -> str:
        now = self.now() if self.now is not None else dt.datetime.now(dt.UTC)
        return now.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")

    def req_data(self, data: Mapping[str, Any]) -> str:
        body = dict(data)
        body.setdefault("timestamp", self.timestamp())
        return wire.dumps(body)

    def sign_text(self, text: str) -> str:
        assert isinstance(self.private_key, rsa.RSAPrivateKey)
        return signing.sign(self.private_key, text.encode("utf-8"))

    def build_form(self, service_name: str, data: Mapping[str, Any] | str) -> dict[str, str]:
        """The outer form fields. `data` may be a dict (serialised here) or an exact reqData string."""
        req_data = data if isinstance(data, str) else self.req_data(data)
        form = {
            "serviceName": service_name,
            "platformNo": self.platform_no,
            "reqData": req_data,
            "keySerial": str(self.key_serial),
            "sign": self.sign_text(req_data),
        }
        if self.user_device:
            form["userDevice"] = self.user_device
        return form

    # ------------------------------------------------------------------ direct

    def post_form(self, suffix: str, fields: Mapping[str, str]) -> httpx.Response:
        assert self.http is not None
        return self.http.post(f"{self.base_url}/{suffix}", content=form_codec.encode(fields.items()), headers=FORM_HEADERS)

    def verify_response(self, response: httpx.Response) -> bool:
        sign = response.headers.get("sign")
        if sign is None:
            return not self.require_signature
        assert isinstance(self.bank_public_key, rsa.RSAPublicKey)
        return signing.verify(self.bank_public_key, response.content, sign)

    def call(self, service_name: str, data: Mapping[str, Any] | str, *, kind: Kind | None = None) -> ServiceResult:
        form = self.build_form(service_name, data)
        return self.read_result(self.post_form("service", form), kind=kind or _kind_of(service_name))

    def read_result(self, response: httpx.Response, *, kind: Kind = "operate") -> ServiceResult:
        valid = self.verify_response(response)
        try:
            parsed = wire.loads(response.content)
        except ValueError:
            parsed = None
        body: dict[str, Any] = dict(parsed) if isinstance(parsed, dict) else {}
        if not valid:
            body["code"] = SIGN_INVALID_CODE
        outcome = classify(response.status_code, body if parsed is not None else None, kind=kind)
        return ServiceResult(outcome, response.status_code, body, response.content,
                             response.headers.get("sign"), valid)

    def download(self, data: Mapping[str, Any], service_name: str = "DOWNLOAD_CHECKFILE") -> DownloadResult:
        response = self.post_form("download", self.build_form(service_name, data))
        error: dict[str, Any] | None = None
        try:
            parsed = wire.loads(response.content)
            if isinstance(parsed, dict):
                error = parsed
        except ValueError:
            pass
        outcome = classify(response.status_code, error, kind="download")
        return DownloadResult(outcome, response.status_code, response.content, error if outcome == "F" else None)

    # ------------------------------------------------------------------ gateway

    def gateway_form(self, service_name: str, data: Mapping[str, Any], *, form_id: str = "xitouGateway",
                     auto_submit: bool = True) -> str:
        """An HTML page whose form posts the signed request to `{base}/gateway`."""
        fields = self.build_form(service_name, data)
        inputs = "\n".join(
            f'    <input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>' for k, v in fields.items()
        )
        script = f'<script>document.getElementById("{form_id}").submit();</script>' if auto_submit else ""
        return (
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>跳转中…</title></head><body>\n"
            f'<form id="{form_id}" action="{html.escape(self.base_url)}/gateway" method="post">\n{inputs}\n'
            '    <input type="submit" value="提交"/>\n</form>\n'
            f"{script}\n</body></html>\n"
        )

    # ------------------------------------------------------------------ callbacks

    def verify_notification(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Check a CALLBACK/NOTIFY form from the bank and return its parsed `respData`."""
        resp_data = form.get("respData")
        sign = form.get("sign")
        if not isinstance(resp_data, str) or not isinstance(sign, str):
            raise SignatureError("respData and sign are required")
        assert isinstance(self.bank_public_key, rsa.RSAPublicKey)
        if not signing.verify(self.bank_public_key, resp_data.encode("utf-8"), sign):
            raise SignatureError("the notification signature does not verify with the bank key")
        parsed = wire.loads(resp_data)
        if not isinstance(parsed, dict):
            raise SignatureError("respData is not a JSON object")
        return parsed


def _kind_of(service_name: str) -> Kind:
    return "query" if service_name.startswith("QUERY_") else "operate"
