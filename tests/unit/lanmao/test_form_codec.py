"""The form codec (`cunguan.client.form`) gives exactly what `urllib.parse` gives, for any text."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote_plus, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cunguan.client import form

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@given(st.lists(st.tuples(texts, texts), max_size=8))
def test_encode_is_urlencode(pairs):
    assert form.encode(pairs) == urlencode(pairs).encode("ascii")
    for k, v in pairs:
        assert form.quote_plus(k) == quote_plus(k) and form.quote_plus(v) == quote_plus(v)


@given(st.lists(st.tuples(texts, texts), max_size=8))
def test_decode_reads_back_what_was_encoded(pairs):
    body = form.encode(pairs)
    assert form.decode(body) == parse_qsl(body.decode(), keep_blank_values=True) == list(pairs)


def _same_as_parse_qsl(body: bytes) -> None:
    try:
        expected = parse_qsl(body.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        with pytest.raises(UnicodeDecodeError):
            form.decode(body)
        return
    assert form.decode(body) == expected


@given(st.binary(max_size=80).filter(lambda b: b.decode("utf-8", "ignore") == b.decode("utf-8", "replace")))
def test_decode_of_any_utf8_body_is_parse_qsl(raw):
    _same_as_parse_qsl(raw)


@pytest.mark.parametrize("body", [b"a=%zz&b=1", b"a=%4", b"a=50%&b=%", b"a=\\x41%41", b"a=%C3%A9+%2B", b"&&a&=b&",
                                  b"a=%E9"])
def test_malformed_and_edge_bodies(body):
    _same_as_parse_qsl(body)


def test_field_limit():
    with pytest.raises(ValueError):
        form.decode(b"a=1&b=2&c=3", max_num_fields=2)
    assert form.decode(b"a=1&b=2", max_num_fields=2) == [("a", "1"), ("b", "2")]
