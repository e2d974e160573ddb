"""Hostile and malformed input through a real server: never a 5xx, always the error envelope with the
right code, never a state change. A state-changing test service proves the handler is reached only by
well-formed, authenticated requests and that its own refusals write nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from cunguan.client import LanmaoClient, wire
from cunguan.db import ledger_store
from cunguan.db.tables import metadata
from cunguan.db.tx import run_in_transaction
from cunguan.money import fen_to_decimal, parse_yuan

pytestmark = pytest.mark.db


def snapshot(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in metadata.sorted_tables}


def _write_service(ctx, req: dict[str, Any]) -> dict[str, Any]:
    """TEST_WRITE: validates an amount and a name, then opens a ledger account (a state change)."""
    amount = parse_yuan(req.get("amount"))
    user_no = req.get("platformUserNo")
    if not isinstance(user_no, str) or not 0 < len(user_no) <= 50:
        from cunguan.custody.errors import InvalidRequest

        raise InvalidRequest("platformUserNo must be a string of 1-50 characters", field="platformUserNo")
    run_in_transaction(ctx.engine, lambda c: ledger_store.open_account(
        c, f"T:{ctx.platform_no}:{user_no}", owner_type="TEST", owner_ref=user_no[:60]))
    return {"platformUserNo": user_no, "amount": fen_to_decimal(amount)}


def _boom(ctx, req):
    raise RuntimeError("secret internals /etc/passwd")


@pytest.fixture
def client(lanmao_client: LanmaoClient, live_server) -> LanmaoClient:
    registry = live_server.app.state.lanmao_registry
    registry.register("TEST_WRITE", _write_service, mode="service")
    registry.register("TEST_BOOM", _boom, mode="service")
    _ = lanmao_client.call("QUERY_USER_INFORMATION", {"platformUserNo": "SYS_GENERATE_000"})  # bank key exists
    return lanmao_client


def _post_raw(client: LanmaoClient, content: bytes, content_type: str = "application/x-www-form-urlencoded",
              suffix: str = "service") -> httpx.Response:
    return httpx.post(f"{client.base_url}/{suffix}", content=content, headers={"content-type": content_type},
                      timeout=30)


def _envelope(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text[:300]
    body = wire.loads(response.content)
    assert body["code"] == "1" and body["status"] == "INIT"
    assert isinstance(body["errorCode"], str) and isinstance(body["errorMessage"], str)
    assert "Traceback" not in body["errorMessage"]
    return body


def test_a_good_write_changes_state_and_renders_amounts(client: LanmaoClient, engine) -> None:
    before = snapshot(engine)
    result = client.call("TEST_WRITE", {"platformUserNo": "u1", "amount": "100"})
    assert result.outcome == "S", result.data
    assert b'"amount":100.00' in result.body
    assert snapshot(engine)["accounts"] == before["accounts"] + 1
    for sent, shown in [(Decimal("0.1"), b"0.10"), (5000, b"5000.00"), ("500.0", b"500.00"), ("0.01", b"0.01")]:
        result = client.call("TEST_WRITE", {"platformUserNo": f"u{shown.decode()}", "amount": sent})
        assert b'"amount":' + shown in result.body and result.outcome == "S"


ENVELOPE_CASES: list[tuple[str, bytes, str]] = [
    ("empty body", b"", "100002"),
    ("not a form", b"%%%zz&&==", "100002"),
    ("invalid utf-8 body", b"serviceName=\xff\xfe", "100002"),
    ("invalid utf-8 escaped", b"serviceName=TEST_WRITE&platformNo=6000000001&reqData=%ff&keySerial=1&sign=AA", "100002"),
    ("missing sign", b"serviceName=TEST_WRITE&platformNo=6000000001&reqData=%7B%7D&keySerial=1", "100002"),
    ("missing keySerial", b"serviceName=TEST_WRITE&platformNo=6000000001&reqData=%7B%7D&sign=AA", "100002"),
    ("duplicate field", b"serviceName=TEST_WRITE&serviceName=TEST_BOOM&platformNo=1&reqData=1&keySerial=1&sign=A",
     "100002"),
    ("lower-case service", b"serviceName=test_write&platformNo=1&reqData=1&keySerial=1&sign=A", "100002"),
    ("path service", b"serviceName=..%2F..%2Fetc&platformNo=1&reqData=1&keySerial=1&sign=A", "100002"),
    ("unicode service", "serviceName=充值&platformNo=1&reqData=1&keySerial=1&sign=A".encode(), "100002"),
    ("sql platform", b"serviceName=TEST_WRITE&platformNo=1%27+OR+%271%27%3D%271&reqData=1"
     b"&keySerial=1&sign=A", "100004"),
    ("sql platform too long", b"serviceName=TEST_WRITE&platformNo=%27%3B+DROP+TABLE+custody_platforms%3B--"
     b"&reqData=1&keySerial=1&sign=A", "100002"),
    ("unicode platform", "serviceName=TEST_WRITE&platformNo=平台&reqData=1&keySerial=1&sign=A".encode(), "100004"),
    ("nul platform", b"serviceName=TEST_WRITE&platformNo=60%00&reqData=1&keySerial=1&sign=A", "100004"),
    ("long platform", b"serviceName=TEST_WRITE&platformNo=" + b"9" * 5000 + b"&reqData=1&keySerial=1&sign=A",
     "100002"),
    ("sql keySerial", b"serviceName=TEST_WRITE&platformNo=6000000001&reqData=1&keySerial=1%27+OR+%271%27%3D%271"
     b"&sign=A", "100003"),
    ("not base64 sign", b"serviceName=TEST_WRITE&platformNo=6000000001&reqData=1&keySerial=1&sign=%21%21%21",
     "100003"),
    ("short sign", b"serviceName=TEST_WRITE&platformNo=6000000001&reqData=1&keySerial=1&sign=QUJD", "100003"),
    ("huge sign", b"serviceName=TEST_WRITE&platformNo=6000000001&reqData=1&keySerial=1&sign=" + b"A" * 4000,
     "100002"),
    ("bad userDevice", b"serviceName=TEST_WRITE&platformNo=6000000001&reqData=1&keySerial=1&sign=A&userDevice=TV",
     "100002"),
    ("too many fields", b"&".join(b"f%d=1" % i for i in range(200)), "100002"),
]


def test_malformed_envelopes(client: LanmaoClient, engine) -> None:
    # One server and database for all cases (a fresh PostgreSQL database per case costs seconds).
    before = snapshot(engine)
    wrong = {}
    for name, body, code in ENVELOPE_CASES:
        got = _envelope(_post_raw(client, body))["errorCode"]
        if got != code:
            wrong[name] = (code, got)
    assert wrong == {}
    assert snapshot(engine) == before


def test_bodies_that_are_not_a_small_form(client: LanmaoClient, engine) -> None:
    before = snapshot(engine)
    body = b"serviceName=TEST_WRITE&reqData=" + b"A" * (5 * 1024 * 1024)
    assert _envelope(_post_raw(client, body))["errorCode"] == "100002"
    response = httpx.post(f"{client.base_url}/service", files={"reqData": ("x.json", b"{}")}, timeout=30)
    assert _envelope(response)["errorCode"] == "100002"
    response = _post_raw(client, json.dumps({"serviceName": "TEST_WRITE"}).encode(), "application/json")
    assert _envelope(response)["errorCode"] == "100002"
    assert httpx.get(f"{client.base_url}/service", timeout=30).status_code < 500
    assert snapshot(engine) == before


REQ_DATA_CASES: list[tuple[str, str, str]] = [
    ("array", "[]", "100002"),
    ("null", "null", "100002"),
    ("number", "1", "100002"),
    ("truncated", '{"a":', "100002"),
    ("NaN", '{"amount": NaN}', "100002"),
    ("Infinity", '{"amount": Infinity}', "100002"),
    ("deep", "[" * 100000 + "]" * 100000, "100002"),
    ("deep object", '{"a":' * 40 + "1" + "}" * 40, "100002"),
    ("long int", '{"amount": ' + "1" * 5000 + "}", "100002"),
    ("big exponent", '{"amount": 1e999999999}', "100002"),
    ("tiny exponent", '{"amount": 1e-999999999}', "100002"),
    ("lone surrogate", '{"platformUserNo": "\\ud800"}', "100002"),
    ("nul", '{"platformUserNo": "a\\u0000b"}', "100002"),
    ("duplicate key", '{"amount": 1, "amount": 1000000}', "100002"),
]


def test_malformed_req_data(client: LanmaoClient, engine) -> None:
    before = snapshot(engine)
    wrong = {}
    for name, req_data, code in REQ_DATA_CASES:
        result = client.call("TEST_WRITE", req_data)
        assert result.signature_valid and result.http_status == 200, name
        if (result.data.get("errorCode"), result.outcome) != (code, "F"):
            wrong[name] = result.data
    assert wrong == {}
    assert snapshot(engine) == before


FIELD_CASES: list[tuple[str, Any]] = [
    ("amount list", {"amount": [1]}),
    ("amount object", {"amount": {"v": 1}}),
    ("amount bool", {"amount": True}),
    ("amount text", {"amount": "abc"}),
    ("amount 3 decimals", {"amount": "1.001"}),
    ("amount 3 decimals number", {"amount": Decimal("1.001")}),
    ("amount negative", {"amount": -1}),
    ("amount zero", {"amount": 0}),
    ("amount huge", {"amount": Decimal("1E+29")}),
    ("amount sql", {"amount": "1; DROP TABLE accounts"}),
    ("amount empty", {"amount": ""}),
    ("amount null", {"amount": None}),
    ("user number", {"amount": 1, "platformUserNo": 12}),
    ("user too long", {"amount": 1, "platformUserNo": "x" * 51}),
]


def test_wrong_field_types_are_refused_without_state_change(client: LanmaoClient, engine) -> None:
    before = snapshot(engine)
    wrong = {}
    for name, fields in FIELD_CASES:
        result = client.call("TEST_WRITE", {"platformUserNo": "u1", **fields})
        if (result.data.get("errorCode"), result.data.get("code"), result.outcome) != ("100002", "1", "F"):
            wrong[name] = result.data
    assert wrong == {}
    assert snapshot(engine) == before


def test_unicode_and_injection_values_are_data(client: LanmaoClient, engine) -> None:
    for user_no in ["张三🙂", "'; DROP TABLE accounts; --", "<script>alert(1)</script>", "Robert'); --"]:
        result = client.call("TEST_WRITE", {"platformUserNo": user_no, "amount": 1})
        assert result.outcome == "S" and result.data["platformUserNo"] == user_no
    with engine.connect() as conn:
        assert ledger_store.find_account(conn, f"T:{client.platform_no}:张三🙂") is not None
    assert "accounts" in snapshot(engine)


def test_unexpected_errors_are_100001_with_correlation_id(client: LanmaoClient, engine, caplog) -> None:
    before = snapshot(engine)
    result = client.call("TEST_BOOM", {"requestNo": "R-1"})
    assert result.signature_valid
    assert result.data["errorCode"] == "100001" and result.data["requestNo"] == "R-1"
    assert "secret" not in result.data["errorMessage"] and "passwd" not in result.data["errorMessage"]
    assert snapshot(engine) == before


def test_request_no_is_echoed_only_when_sane(client: LanmaoClient) -> None:
    ok = client.call("TEST_WRITE", {"platformUserNo": "u9", "amount": 1, "requestNo": "REQ-0001"})
    assert ok.data["requestNo"] == "REQ-0001"
    odd = client.call("TEST_WRITE", {"platformUserNo": "u8", "amount": "x", "requestNo": "x" * 51})
    assert "requestNo" not in odd.data
    odd = client.call("TEST_WRITE", {"platformUserNo": "u8", "amount": "x", "requestNo": {"a": 1}})
    assert "requestNo" not in odd.data and odd.data["errorCode"] == "100002"


def test_unknown_keys_and_empty_optionals_are_ignored(client: LanmaoClient) -> None:
    result = client.call("TEST_WRITE", {"platformUserNo": "u7", "amount": "1.5", "generaFreezeRequest": "",
                                        "commission": None, "extend": {"k": [1, 2]}})
    assert result.outcome == "S" and b'"amount":1.50' in result.body
