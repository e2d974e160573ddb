"""The Python client without a server: request building, gateway forms, notification checks."""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest

from cunguan.client import LanmaoClient, SignatureError, signing, wire


@pytest.fixture
def client(rsa_key, other_rsa_key):
    now = dt.datetime(2026, 11, 23, 4, 0, 0, tzinfo=dt.UTC)
    c = LanmaoClient("http://bank.example/bha-neo-app/lanmaotech/", "6000000001", signing.private_key_pem(rsa_key),
                     signing.public_key_pem(other_rsa_key), now=lambda: now)
    yield c
    c.close()


def test_build_form_signs_the_exact_req_data(client: LanmaoClient, rsa_key) -> None:
    form = client.build_form("FREEZE", {"requestNo": "R1", "amount": Decimal("10.50"), "remark": "冻结"})
    assert form["reqData"] == '{"requestNo":"R1","amount":10.50,"remark":"冻结","timestamp":"20261123120000"}'
    assert set(form) == {"serviceName", "platformNo", "reqData", "keySerial", "sign"}
    assert signing.verify(rsa_key.public_key(), form["reqData"].encode(), form["sign"])
    client.user_device = "PC"
    assert client.build_form("FREEZE", "{}")["userDevice"] == "PC"
    assert client.base_url == "http://bank.example/bha-neo-app/lanmaotech"


def test_gateway_form_is_escaped_and_auto_submits(client: LanmaoClient) -> None:
    page = client.gateway_form("RECHARGE", {"redirectUrl": 'https://p.example/back?a=1&b="x"', "requestNo": "<R1>"})
    assert 'action="http://bank.example/bha-neo-app/lanmaotech/gateway"' in page
    assert 'method="post"' in page and 'id="xitouGateway"' in page
    assert "<R1>" not in page and '"x"' not in page
    values = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page))
    assert wire.loads(html.unescape(values["reqData"]))["redirectUrl"] == 'https://p.example/back?a=1&b="x"'
    assert "document.getElementById(\"xitouGateway\").submit()" in page
    assert ".submit()" not in client.gateway_form("RECHARGE", {}, auto_submit=False)


def test_verify_notification(client: LanmaoClient, other_rsa_key, rsa_key) -> None:
    resp_data = '{"requestNo":"R1","code":"0","status":"SUCCESS","amount":100.00}'
    form = {"platformNo": "6000000001", "serviceName": "RECHARGE", "responseType": "NOTIFY", "keySerial": "1",
            "respData": resp_data, "sign": signing.sign(other_rsa_key, resp_data.encode())}
    assert client.verify_notification(form)["amount"] == Decimal("100.00")
    for bad in ({**form, "respData": resp_data.replace("100.00", "900.00")},
                {**form, "sign": signing.sign(rsa_key, resp_data.encode())},
                {k: v for k, v in form.items() if k != "sign"}):
        with pytest.raises(SignatureError):
            client.verify_notification(bad)


def test_response_signature_rules(client: LanmaoClient, other_rsa_key) -> None:
    import httpx

    body = b'{"code":"0","status":"SUCCESS","requestNo":"R1","amount":500.00}'
    good = httpx.Response(200, content=body, headers={"sign": signing.sign(other_rsa_key, body)})
    result = client.read_result(good)
    assert result.outcome == "S" and result.data["amount"] == 500 and result.signature_valid
    forged = httpx.Response(200, content=body.replace(b"500.00", b"900.00"), headers={"sign": result.sign or ""})
    bad = client.read_result(forged)
    assert bad.outcome == "P" and bad.code == "sign_valid_fail" and not bad.signature_valid
    unsigned = httpx.Response(200, content=body)
    assert client.read_result(unsigned).outcome == "P"  # we insist on a signature
    client.require_signature = False  # the gem's behaviour: a missing header counts as valid
    assert client.read_result(unsigned).outcome == "S"
    assert client.read_result(httpx.Response(502, content=b"<html>bad gateway</html>")).outcome == "P"
