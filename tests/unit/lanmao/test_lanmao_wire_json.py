"""Exact JSON both ways: Decimal in, Decimal out, never float (protocol §1.4, §1.6)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cunguan.client import wire
from cunguan.money import fen_to_decimal


@pytest.mark.parametrize("fen, text", [(10000, "100.00"), (10, "0.10"), (1, "0.01"), (0, "0.00"),
                                       (123456789012, "1234567890.12"), (-5, "-0.05")])
def test_amounts_render_with_two_places(fen: int, text: str) -> None:
    assert wire.dumps({"amount": fen_to_decimal(fen)}) == '{"amount":' + text + "}"


def test_decimal_forms_render_positionally() -> None:
    assert wire.dumps([Decimal("5E+3"), Decimal("0.1"), Decimal("-0"), Decimal("1.50")]) == "[5000,0.1,0,1.50]"


def test_round_trip_is_exact() -> None:
    text = '{"a":0.1,"b":100.00,"c":5000,"d":"中文","e":[true,false,null],"f":{"g":"x\\"y"}}'
    assert wire.dumps(wire.loads(text)) == text


def test_strings_keep_unicode_and_escape_controls() -> None:
    assert wire.dumps({"名": "张三\n"}) == '{"名":"张三\\n"}'


@pytest.mark.parametrize("bad", [0.1, Decimal("NaN"), Decimal("Infinity"), object(), {1: "a"}])
def test_unrenderable_values_raise(bad) -> None:
    with pytest.raises((TypeError, ValueError)):
        wire.dumps(bad)


def test_depth_is_bounded() -> None:
    deep: list = []
    node = deep
    for _ in range(wire.MAX_DEPTH + 2):
        node.append([])
        node = node[0]
    with pytest.raises(ValueError):
        wire.dumps(deep)


def test_loads_gives_decimals() -> None:
    assert wire.loads('{"x": 0.1}')["x"] == Decimal("0.1")
    assert isinstance(wire.loads('{"x": 0.1}')["x"], Decimal)
