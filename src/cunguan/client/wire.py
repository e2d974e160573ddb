"""Lanmao JSON, exactly: amounts travel as JSON numbers but are never binary floats.

`loads` parses with `parse_float=Decimal`, so `100.10` stays `Decimal("100.10")`. `dumps` renders
`Decimal` as the number literal it is (`Decimal("100.00")` -> `100.00`), which `json.dumps` cannot do
without going through `float`. Output is compact UTF-8 text (Chinese stays readable; `ensure_ascii`
off), keys in insertion order. Both the server and the client use these two functions, so what one
side signs is byte-for-byte what the other side reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

MAX_DEPTH = 32


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


def dumps(value: Any) -> str:
    parts: list[str] = []
    _render(value, parts, 0)
    return "".join(parts)


def _render(value: Any, out: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError("JSON nested too deeply")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a JSON number must be finite")
        out.append(_decimal_text(value))
    elif isinstance(value, float):
        raise TypeError("binary floats are not rendered; use Decimal for amounts and rates")
    elif isinstance(value, Mapping):
        out.append("{")
        first = True
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError("JSON object keys must be strings")
            if not first:
                out.append(",")
            first = False
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _render(item, out, depth + 1)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _render(item, out, depth + 1)
        out.append("]")
    else:
        raise TypeError(f"cannot render {type(value).__name__} as Lanmao JSON")


def _decimal_text(value: Decimal) -> str:
    """Plain positional notation, keeping the scale: 100.00 -> '100.00', 5E+3 -> '5000', 0.1 -> '0.1'."""
    text = format(value, "f")
    if text.startswith("-0") and value == 0:
        text = text[1:]
    return text
