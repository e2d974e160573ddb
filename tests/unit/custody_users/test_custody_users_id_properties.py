import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cunguan.custody import bins, identity
from cunguan.custody.sample_identities import make_card, make_prc_id
from cunguan.custody.user_errors import InvalidField

AREAS = ["110105", "310104", "110101", "310101"]  # divisions that existed for every birth year drawn
births = st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2025, 12, 31))


@settings(max_examples=200, deadline=None)
@given(born=births, area=st.sampled_from(AREAS), seq=st.integers(0, 999))
def test_generated_ids_validate_and_carry_their_birth_date(born, area, seq):
    number = make_prc_id(born, area=area, seq=seq)
    assert identity.validate_prc_id(number) == number
    assert identity.birth_date(number) == born


@settings(max_examples=200, deadline=None)
@given(born=births, seq=st.integers(0, 999), pos=st.integers(14, 16), delta=st.integers(1, 9))
def test_any_single_digit_change_in_the_sequence_is_caught(born, seq, pos, delta):
    number = make_prc_id(born, seq=seq)
    changed = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1:]
    with pytest.raises(InvalidField, match="check digit"):
        identity.validate_prc_id(changed)


@settings(max_examples=200, deadline=None)
@given(serial=st.integers(0, 10**9), length=st.integers(16, 19), pos=st.integers(6, 15), delta=st.integers(1, 9))
def test_luhn_catches_every_single_digit_error(serial, length, pos, delta):
    card = make_card("622848", serial=serial % 10 ** (length - 7), length=length)
    assert bins.validate_personal_card(card).bankcode == "ABOC"
    changed = card[:pos] + str((int(card[pos]) + delta) % 10) + card[pos + 1:]
    with pytest.raises(InvalidField, match="Luhn"):
        bins.validate_personal_card(changed)
