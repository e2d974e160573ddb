"""respData serialisation (exact amounts, no float), the NOTIFY form and the acknowledgement rule."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from cunguan.money import fen_to_decimal
from cunguan.notify.delivery import excerpt_of
from cunguan.notify.payload import PayloadError, dumps_resp_data, is_acknowledged, notify_form


def test_amounts_are_exact_json_numbers_and_text_stays_utf8():
    text = dumps_resp_data({"requestNo": "R1", "amount": Decimal("500.00"), "fee": fen_to_decimal(1),
                            "big": Decimal("12345678901234567.89"), "exp": Decimal("5E+2"),
                            "errorMessage": "余额不足", "ok": True, "none": None, "n": 3,
                            "details": [{"amount": Decimal("0.10")}]})
    assert text == ('{"requestNo":"R1","amount":500.00,"fee":0.01,"big":12345678901234567.89,"exp":500,'
                    '"errorMessage":"余额不足","ok":true,"none":null,"n":3,"details":[{"amount":0.10}]}')
    parsed = json.loads(text, parse_float=Decimal)
    assert parsed["big"] == Decimal("12345678901234567.89")


@pytest.mark.parametrize("bad", [{"amount": 1.5}, {"amount": Decimal("NaN")}, {1: "x"}, {"x": object()},
                                 {"x": {"y": float("inf")}}])
def test_floats_and_non_json_values_are_refused(bad):
    with pytest.raises(PayloadError):
        dumps_resp_data(bad)


def test_resp_data_must_be_an_object():
    with pytest.raises(PayloadError):
        dumps_resp_data(["not", "an", "object"])  # type: ignore[arg-type]


def test_deep_nesting_is_refused():
    deep: dict = {}
    cur = deep
    for _ in range(40):
        cur["x"] = {}
        cur = cur["x"]
    with pytest.raises(PayloadError):
        dumps_resp_data(deep)


def test_notify_form_carries_the_six_fields_of_the_protocol():
    form = notify_form(platform_no="6000000001", service_name="RECHARGE", response_type="NOTIFY",
                       key_serial="1", resp_data='{"a":1}', sign="c2ln")
    assert form == {"platformNo": "6000000001", "serviceName": "RECHARGE", "responseType": "NOTIFY",
                    "keySerial": "1", "respData": '{"a":1}', "sign": "c2ln"}


@pytest.mark.parametrize(("status", "body", "ok"), [
    (200, b"SUCCESS", True),
    (200, b"  SUCCESS\r\n", True),
    (200, b"\xef\xbb\xbfSUCCESS", True),
    (200, b"success", False),
    (200, b"INIT", False),
    (200, b"SUCCESSFUL", False),
    (200, b'{"status":"SUCCESS"}', False),
    (200, b"", False),
    (201, b"SUCCESS", False),
    (302, b"SUCCESS", False),
    (500, b"SUCCESS", False),
])
def test_only_http_200_with_body_success_acknowledges(status, body, ok):
    assert is_acknowledged(status, body) is ok


def test_excerpt_is_short_single_line_and_printable():
    text = excerpt_of(b"<html>\n\x00" + "错".encode() * 500 + b"\xff")
    assert "\n" not in text and "\x00" not in text
    assert len(text) == 200 and text.startswith("<html> ")


def _tree(seed: int, depth: int = 0):
    """A deterministic pseudo-random JSON tree of the fast path's types (text with escapes, CJK, controls)."""
    import random

    rnd = random.Random(seed)
    texts = ["", "SUCCESS", "余额不足：冻结订单金额不足", 'quote " back \\ slash', "ctl\x01\x1f\n\t", "emoji 😀", "\u2028"]
    kind = rnd.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return rnd.choice(texts)
    if kind == 1:
        return rnd.choice([0, -1, 7, 2**63 - 1, -(2**63), 10**30])
    if kind == 2:
        return rnd.choice([True, False])
    if kind == 3:
        return None
    if kind in (4, 5):
        return {rnd.choice(texts) + str(i): _tree(seed * 31 + i, depth + 1) for i in range(rnd.randrange(5))}
    return [_tree(seed * 17 + i, depth + 1) for i in range(rnd.randrange(5))]


@pytest.mark.parametrize("seed", range(200))
def test_fast_path_writes_exactly_what_the_strict_writer_writes(seed):
    from cunguan.notify.payload import _dump, _plain

    value = {"code": "0", "tree": _tree(seed)}
    assert _plain(value, 0)
    assert dumps_resp_data(value) == _dump(value, 0)


def test_fast_path_on_an_async_notify_body_and_fallbacks():
    from cunguan.custody.async_runner import notify_resp_data
    from cunguan.notify.payload import _dump, _plain

    class Row:
        def __init__(self, i):
            self.request_no, self.trade_type, self.created_us, self.done_us = f"AB{i:09d}", "TENDER", 1_700_000_000_000_000, \
                1_700_000_001_000_000 + i
            self.status = "FAIL" if i % 7 == 0 else "SUCCESS"
            self.error_code, self.error_message = "100014", "余额不足：details[0].freezeRequestNo has 0.00 left"

    body = notify_resp_data("BATCH0001", [Row(i) for i in range(1000)])
    assert _plain(body, 0)
    assert dumps_resp_data(body) == _dump(body, 0)
    for other in ({"amount": Decimal("1.00")}, {"t": (1, 2)}, {"b": type("S", (str,), {})("x")}):
        assert not _plain(other, 0)
        assert dumps_resp_data(other) == _dump(other, 0)
