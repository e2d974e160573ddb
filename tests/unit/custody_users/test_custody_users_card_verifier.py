import pytest

from cunguan.custody import card_verifier
from cunguan.custody.card_verifier import FourElements, SimulatedCardBank
from cunguan.custody.user_errors import (
    CardBankUnavailable,
    CardHolderMismatch,
    CardMobileMismatch,
    CardNotFound,
)

ELEMENTS = FourElements("张三", "11010519900101123X", "6222020000000000018", "13800000001", "ICBK")


def test_simulator_distinguishes_each_refusal():
    bank = SimulatedCardBank()
    with pytest.raises(CardNotFound):
        bank.verify(ELEMENTS)
    bank.add_card(ELEMENTS.bankcard_no, real_name="张三", id_card_no="11010519900101123x", mobile="13800000001")
    bank.verify(ELEMENTS)
    with pytest.raises(CardHolderMismatch, match="realName"):
        bank.verify(FourElements("李四", *[getattr(ELEMENTS, f) for f in ("id_card_no", "bankcard_no", "mobile",
                                                                            "bankcode")]))
    with pytest.raises(CardMobileMismatch):
        bank.verify(FourElements("张三", ELEMENTS.id_card_no, ELEMENTS.bankcard_no, "13900000000", "ICBK"))
    bank.set_down("ICBK")
    with pytest.raises(CardBankUnavailable) as exc:
        bank.verify(ELEMENTS)
    assert exc.value.call_code == "0"
    bank.set_down("ICBK", False)
    bank.verify(ELEMENTS)


def test_auto_enrol_accepts_new_cards_then_is_strict():
    bank = SimulatedCardBank(auto_enrol=True)
    bank.verify(ELEMENTS)
    with pytest.raises(CardMobileMismatch):
        bank.verify(FourElements("张三", ELEMENTS.id_card_no, ELEMENTS.bankcard_no, "13900000000", "ICBK"))


def test_process_wide_verifier():
    previous = card_verifier.configured()
    card_verifier.configure(None)
    with pytest.raises(RuntimeError, match="no card verifier"):
        card_verifier.resolve(None)
    bank = SimulatedCardBank()
    card_verifier.configure(bank)
    try:
        assert card_verifier.resolve(None) is bank
        other = SimulatedCardBank()
        assert card_verifier.resolve(other) is other
    finally:
        card_verifier.configure(previous)


def test_preverified_accepts_only_what_the_bank_confirmed():
    from dataclasses import replace

    from cunguan.custody.card_verifier import Preverified

    pre = Preverified(ELEMENTS)
    pre.verify(replace(ELEMENTS, id_card_no=ELEMENTS.id_card_no.lower()))
    with pytest.raises(CardNotFound):
        pre.verify(replace(ELEMENTS, bankcard_no="6222020000000000026"))
    with pytest.raises(CardHolderMismatch):
        pre.verify(replace(ELEMENTS, real_name="李四"))
    with pytest.raises(CardMobileMismatch):
        pre.verify(replace(ELEMENTS, mobile="13900000000"))
