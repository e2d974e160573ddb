"""Calling the live server the way a platform does, with assertions a test wants on every call: HTTP
200, the bank's signature valid, then the outcome (`ok`: S with code "0"/SUCCESS; `refused`: the
error envelope with the expected errorCode)."""

from __future__ import annotations

from decimal import Decimal

from cunguan.money import parse_yuan

D = Decimal


def fen(yuan) -> int:
    return parse_yuan(str(yuan))


def call(client, service: str, data: dict):
    result = client.call(service, data)
    assert result.http_status == 200 and result.signature_valid, result.body
    return result


def ok(client, service: str, data: dict) -> dict:
    r = call(client, service, data)
    assert r.outcome == "S", r.data
    assert r.data["code"] == "0" and r.data["status"] == "SUCCESS"
    return r.data


def refused(client, service: str, data: dict, error_code: str, text: str | None = None) -> dict:
    r = call(client, service, data)
    assert r.data["status"] == "INIT" and r.data["errorCode"] == error_code, r.data
    if text is not None:
        assert text in r.data["errorMessage"], r.data
    return r.data
