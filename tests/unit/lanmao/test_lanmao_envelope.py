"""The outer form (protocol §1.3) and reqData parsing (§1.4)."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

import pytest

from cunguan.api.lanmao.envelope import parse_envelope, parse_urlencoded
from cunguan.api.lanmao.reqdata import parse_req_data
from cunguan.custody.errors import InvalidRequest

GOOD = {"serviceName": "QUERY_USER_INFORMATION", "platformNo": "6000000001",
        "reqData": '{"platformUserNo":"张三","timestamp":"20261123120000"}', "keySerial": "1", "sign": "QUJD+/=="}


def _parse(fields: dict[str, str]):
    return parse_envelope(parse_urlencoded(urlencode(fields).encode()))


def test_good_envelope_keeps_req_data_bytes_exact() -> None:
    env = _parse(GOOD)
    assert env.service_name == "QUERY_USER_INFORMATION" and env.key_serial == "1"
    assert env.signed_bytes == GOOD["reqData"].encode("utf-8")
    assert env.sign == "QUJD+/==" and env.user_device is None


def test_unescaped_plus_in_sign_is_restored() -> None:
    body = urlencode({k: v for k, v in GOOD.items() if k != "sign"}).encode() + b"&sign=QUJD+/=="
    assert parse_envelope(parse_urlencoded(body)).sign == "QUJD+/=="


def test_raw_utf8_body_is_accepted() -> None:
    body = "serviceName=QUERY_USER_INFORMATION&platformNo=6000000001&reqData={\"a\":\"中\"}&keySerial=1&sign=A"
    assert parse_envelope(parse_urlencoded(body.encode())).req_data == '{"a":"中"}'


@pytest.mark.parametrize("field", ["serviceName", "platformNo", "reqData", "keySerial", "sign"])
def test_each_required_field(field: str) -> None:
    for value in (None, "", "   "):
        fields = dict(GOOD)
        if value is None:
            del fields[field]
        else:
            fields[field] = value
        with pytest.raises(InvalidRequest) as info:
            _parse(fields)
        assert info.value.field == field and field in info.value.message and info.value.code == "100002"


def test_user_device() -> None:
    assert _parse({**GOOD, "userDevice": "mobile"}).user_device == "MOBILE"
    assert _parse({**GOOD, "userDevice": ""}).user_device is None
    with pytest.raises(InvalidRequest, match="userDevice"):
        _parse({**GOOD, "userDevice": "TV"})


def test_duplicates_and_bad_bytes() -> None:
    with pytest.raises(InvalidRequest, match="more than once"):
        parse_envelope(parse_urlencoded(urlencode(GOOD).encode() + b"&keySerial=2"))
    with pytest.raises(InvalidRequest, match="UTF-8"):
        parse_urlencoded(b"reqData=\xff")
    with pytest.raises(InvalidRequest, match="UTF-8"):
        parse_urlencoded(b"reqData=%ff")


def test_limits() -> None:
    with pytest.raises(InvalidRequest, match="platformNo is longer"):
        _parse({**GOOD, "platformNo": "1" * 33})
    with pytest.raises(InvalidRequest, match="serviceName"):
        _parse({**GOOD, "serviceName": "query_user"})


def test_req_data_numbers_are_decimal_and_unknown_keys_kept() -> None:
    req = parse_req_data('{"amount": 0.1, "count": 3, "extra": {"x": [1, "a"]}, "s": "100.10"}')
    assert req["amount"] == Decimal("0.1") and isinstance(req["amount"], Decimal)
    assert req["count"] == 3 and req["s"] == "100.10" and req["extra"] == {"x": [1, "a"]}


@pytest.mark.parametrize("text, fragment", [
    ("[]", "JSON object"), ('"x"', "JSON object"), ("{", "not valid JSON"), ('{"a": NaN}', "not valid JSON"),
    ('{"a": 1, "a": 2}', "more than once"), ('{"a": "\\u0000"}', "NUL"), ('{"a": "\\udc00"}', "surrogate"),
    ('{"a": 1e40}', "out of range"), ('{"a": 1e-40}', "out of range"), ('{"a": ' + "9" * 31 + "}", "out of range"),
    ('{"a": 1e999999999}', "out of range"), ('{"a":' * 50 + "1" + "}" * 50, "nested"),
    ("[" * 50000 + "]" * 50000, "nested"), ('{"\\u0000": 1}', "NUL"),
])
def test_bad_req_data(text: str, fragment: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_req_data(text)
    assert fragment in info.value.message and info.value.code == "100002"


def test_nested_field_paths_are_named() -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_req_data('{"details": [{"amount": "x", "remark": "a\\u0000"}]}')
    assert "details[0].remark" in info.value.message


def test_unencodable_values_are_refused() -> None:
    pairs = list({**GOOD, "reqData": '{"a":"\ud800"}'}.items())
    with pytest.raises(InvalidRequest, match="reqData is not valid Unicode"):
        parse_envelope(pairs)
