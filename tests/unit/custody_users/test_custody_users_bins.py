import pytest

from cunguan.custody import bins
from cunguan.custody.sample_identities import make_card
from cunguan.custody.user_errors import BankNotSupported, CardNotAccepted, InvalidField


def test_every_bank_code_of_the_protocol_has_a_debit_bin():
    table = bins.bin_table()
    debit_banks = {e.bankcode for e in table if e.card_type == "DEBIT"}
    assert debit_banks == set(bins.BANK_CODES)
    assert "CMBC" in bins.BANK_CODES and bins.BANK_CODES["CMBC"] == "招商银行"


@pytest.mark.parametrize("bin_prefix, bankcode", [
    ("622202", "ICBK"), ("622848", "ABOC"), ("621700", "PCBC"), ("622588", "CMBC"), ("621799", "PSBC"),
    ("622260", "COMM"), ("621661", "BKCH"),
])
def test_known_bins_map_to_their_bank(bin_prefix, bankcode):
    for length in (16, 19):
        info = bins.validate_personal_card(make_card(bin_prefix, serial=42, length=length))
        assert info.bankcode == bankcode
        assert info.card_type == "DEBIT"


def test_luhn_failure_is_an_invalid_field():
    card = make_card("622202", serial=7)
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    with pytest.raises(InvalidField, match="Luhn") as exc:
        bins.validate_personal_card(wrong)
    assert exc.value.field == "bankcardNo"


def test_unknown_bin_is_bank_not_supported():
    with pytest.raises(BankNotSupported) as exc:
        bins.validate_personal_card(make_card("411111", serial=1, length=16))
    assert exc.value.code == "100012"


def test_credit_cards_are_not_accepted():
    with pytest.raises(CardNotAccepted, match="debit"):
        bins.validate_personal_card(make_card("622575", serial=3, length=16))


@pytest.mark.parametrize("value, why", [
    ("", "required"), ("6222 02x", "digits only"), ("622202000000018", "16-19"), ("62220200000000000000", "16-19"),
])
def test_card_shape(value, why):
    with pytest.raises(InvalidField, match=why):
        bins.validate_personal_card(value)


def test_spaces_are_ignored():
    card = make_card("622202", serial=9)
    spaced = " ".join(card[i:i + 4] for i in range(0, len(card), 4))
    assert bins.validate_personal_card(spaced).card_no == card


def test_longest_prefix_wins(monkeypatch):
    table = (bins.BinEntry("6222021", "BKCH", "DEBIT", "x"), bins.BinEntry("622202", "ICBK", "DEBIT", "y"))
    monkeypatch.setattr(bins, "bin_table", lambda: table)
    assert bins.lookup_bin("6222021000").bankcode == "BKCH"
    assert bins.lookup_bin("6222029000").bankcode == "ICBK"
    assert bins.lookup_bin("5000000000") is None


def test_bank_codes_and_corporate_accounts():
    assert bins.validate_bankcode("ICBK") == "ICBK"
    with pytest.raises(BankNotSupported):
        bins.validate_bankcode("HSBC")
    info = bins.validate_corporate_account("110060149018000012345", "COMM")
    assert info.bankcode == "COMM" and info.card_type == "CORPORATE"
    with pytest.raises(InvalidField, match="8-32"):
        bins.validate_corporate_account("1234", "COMM")
