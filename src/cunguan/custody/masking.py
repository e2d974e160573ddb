"""Masking for logs and the console: ID numbers, card numbers, mobiles and names are never shown whole.

ID numbers keep the first 3 and last 4 characters, card numbers the BIN (first 6) and last 4, mobiles
the first 3 and last 4, names the first character. Anything too short to keep those parts is masked
completely, so short inputs never leak.
"""

from __future__ import annotations


def _mask(value: str | None, keep_head: int, keep_tail: int) -> str:
    if not value:
        return ""
    text = str(value).strip()
    if len(text) <= keep_head + keep_tail:
        return "*" * len(text)
    return text[:keep_head] + "*" * (len(text) - keep_head - keep_tail) + text[len(text) - keep_tail:]


def mask_id_card(value: str | None) -> str:
    """110105199001011234 -> 110***********1234"""
    return _mask(value, 3, 4)


def mask_card(value: str | None) -> str:
    """6222021234567890123 -> 622202*********0123"""
    return _mask(value, 6, 4)


def mask_mobile(value: str | None) -> str:
    """13812345678 -> 138****5678"""
    return _mask(value, 3, 4)


def mask_name(value: str | None) -> str:
    """张三丰 -> 张**"""
    if not value:
        return ""
    text = str(value).strip()
    if len(text) <= 1:
        return "*" * len(text)
    return text[0] + "*" * (len(text) - 1)
