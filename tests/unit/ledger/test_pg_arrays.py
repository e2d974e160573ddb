"""How db.pg_arrays packs PostgreSQL array parameters (the ledger's and the bulk writes' columns): bigints,
bools and texts joined into one text parameter each (the server splits them), falling back to a binary
text[] whenever joining would be ambiguous."""

from __future__ import annotations

import pytest

from cunguan.db import pg_arrays


def test_bigints_join_with_null_marker():
    assert pg_arrays.ints([1, -2, 9_223_372_036_854_775_807]) == "1,-2,9223372036854775807"
    assert pg_arrays.bigints([None, 5, None]) == "N,5,N"
    assert pg_arrays.bigints([None]) == "N"
    assert pg_arrays.null_bigints(3) == pg_arrays.bigints([None] * 3) == "N,N,N"


def test_bools_join_with_null_marker():
    assert pg_arrays.bools([True, None, False]) == "t,N,f"


def test_ints_refuse_what_is_not_an_int():
    with pytest.raises((TypeError, ValueError)):
        pg_arrays.ints(["1,2"])


@pytest.mark.parametrize(
    ("values", "joined"),
    [
        (["a", "b,c", "ä 中"], "a\x1fb,c\x1fä 中"),
        (["", ""], "\x1f"),
        (["x", None, ""], "x\x1f\x1e\x1f"),
        ([None], "\x1e"),
    ],
)
def test_texts_join_when_unambiguous(values, joined):
    assert pg_arrays.texts(values) == (pg_arrays.TEXTS, joined)


@pytest.mark.parametrize(
    "values",
    [[""], [], ["a\x1fb"], ["a", "\x1e"], ["a\x1e", None], ["x\x1fy", "z"]],
)
def test_texts_fall_back_to_a_binary_array(values):
    assert pg_arrays.texts(values) == ("%b::text[]", list(values))
