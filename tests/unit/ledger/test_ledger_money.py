"""money.parse_yuan / format_yuan: exact decimals in, integer fen out, everything doubtful refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cunguan.money import MAX_FEN, AmountError, fen_to_decimal, format_yuan, parse_yuan, yuan


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        ("1.23", 123),
        ("0.01", 1),
        ("0.1", 10),
        ("100", 10_000),
        ("500.0", 50_000),  # Ruby BigDecimal style, which the protocol says must be accepted
        (" 7.50 ", 750),
        (Decimal("1.2"), 120),
        (Decimal("0.07"), 7),
        (5, 500),
        ("1.230", 123),  # a trailing zero is not a third decimal: the value has two
        ("92233720368547758.07", MAX_FEN),  # the largest signed 64-bit fen amount, exactly
        (Decimal("92233720368547758.07"), MAX_FEN),
        ("12345678901234.56", 1_234_567_890_123_456),
    ],
)
def test_parse_yuan_exact(value, fen):
    assert parse_yuan(value) == fen
    assert type(parse_yuan(value)) is int


def test_parse_yuan_has_no_float_drift():
    # 0.1 + 0.2 as decimals: exactly 30 fen, and a long string of cents stays exact.
    assert parse_yuan("0.1") + parse_yuan("0.2") == parse_yuan("0.3") == 30
    assert parse_yuan("9007199254740993.01") == 900_719_925_474_099_301  # beyond a double's 53 bits


@pytest.mark.parametrize("value", ["1.234", "0.001", "1.005", Decimal("0.015"), Decimal("1e-3"), "9223372036854775.807"])
def test_parse_yuan_refuses_more_than_two_decimals(value):
    with pytest.raises(AmountError, match="more than 2 decimals"):
        parse_yuan(value)


@pytest.mark.parametrize("value", [0.1, 1.0, 100.0, float("nan"), float("inf")])
def test_parse_yuan_refuses_floats(value):
    with pytest.raises(AmountError, match="binary float"):
        parse_yuan(value)


@pytest.mark.parametrize("value", ["92233720368547758.08", Decimal("1e30"), "99999999999999999999999.99", 2**63, Decimal("1e6000"), Decimal("1e999999999")])
def test_parse_yuan_refuses_huge(value):
    with pytest.raises(AmountError, match="too large"):
        parse_yuan(value)


@pytest.mark.parametrize("value", ["-1", "-0.01", Decimal("-5"), -1, "-92233720368547758.08"])
def test_parse_yuan_refuses_negative(value):
    with pytest.raises(AmountError, match="greater than 0"):
        parse_yuan(value)


@pytest.mark.parametrize("value", ["0", "0.00", "-0", Decimal("0"), 0])
def test_parse_yuan_zero_refused_unless_allowed(value):
    with pytest.raises(AmountError, match="greater than 0"):
        parse_yuan(value)
    assert parse_yuan(value, allow_zero=True) == 0


@pytest.mark.parametrize("value", ["", "   ", "abc", "1,00", "0x10", "1.2.3", "--1", "1" * 41, None, True, False,
                                   [1], {"a": 1}, b"1"])
def test_parse_yuan_refuses_non_numbers(value):
    with pytest.raises(AmountError):
        parse_yuan(value)


@pytest.mark.parametrize("value", ["nan", "NaN", "Infinity", "-inf", "sNaN", Decimal("NaN"), Decimal("Infinity")])
def test_parse_yuan_refuses_non_finite(value):
    with pytest.raises(AmountError):
        parse_yuan(value)


def test_parse_yuan_names_the_field():
    with pytest.raises(AmountError, match="^txAmount "):
        parse_yuan("1.001", field="txAmount")


def test_amount_error_is_a_value_error():
    assert issubclass(AmountError, ValueError)


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0.00"), (1, "0.01"), (10, "0.10"), (99, "0.99"), (100, "1.00"), (123456, "1234.56"),
     (-5, "-0.05"), (-100, "-1.00"), (-123456, "-1234.56"), (MAX_FEN, "92233720368547758.07"),
     (-MAX_FEN - 1, "-92233720368547758.08")],
)
def test_format_yuan(fen, text):
    assert format_yuan(fen) == text


@pytest.mark.parametrize("fen", [0, 1, 10, 99, 100, 123456, MAX_FEN, 987_654_321])
def test_format_then_parse_round_trips(fen):
    assert parse_yuan(format_yuan(fen), allow_zero=True) == fen


def test_format_yuan_refuses_non_integers():
    for bad in (1.5, True, Decimal("1")):
        with pytest.raises(AssertionError):
            format_yuan(bad)  # type: ignore[arg-type]


def test_fen_to_decimal_and_yuan():
    assert fen_to_decimal(123456) == Decimal("1234.56")
    assert str(fen_to_decimal(5)) == "0.05"
    assert str(fen_to_decimal(-5)) == "-0.05"
    assert str(fen_to_decimal(MAX_FEN)) == "92233720368547758.07"
    assert yuan(50_000) == 5_000_000
    assert yuan(1, 5) == 105


@pytest.mark.parametrize("value", ["１００", "1_000", "1e2", "0x10", "1.2.3", "--1", "１.00"])
def test_parse_yuan_refuses_strings_that_are_not_plain_ascii_decimals(value):
    with pytest.raises(AmountError, match="not a plain decimal number"):
        parse_yuan(value)
