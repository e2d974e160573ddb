"""The four-element check against the card's bank, behind an interface.

Production asks the card's issuing bank (through the payment cloud or UnionPay) whether the card
exists and whether name, ID number and reserved mobile match it; tests and the demo use
`SimulatedCardBank`, which knows a set of cards, each card's holder and reserved phone, and which
banks are down. Each kind of "no" is its own typed error, so the page can tell the user what to fix.

Services take a `verifier=` keyword; when it is omitted they use the process-wide one set with
`configure()` (the server sets it at start-up; the demo sets a simulator).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from cunguan.custody.user_errors import (
    CardBankUnavailable,
    CardHolderMismatch,
    CardMobileMismatch,
    CardNotFound,
)


@dataclass(frozen=True)
class FourElements:
    real_name: str
    id_card_no: str
    bankcard_no: str
    mobile: str
    bankcode: str


class CardVerifier(Protocol):
    def verify(self, elements: FourElements) -> None:
        """Return if the bank confirms all four elements; raise CardNotFound, CardHolderMismatch,
        CardMobileMismatch or CardBankUnavailable otherwise."""


@dataclass(frozen=True)
class SimCard:
    real_name: str
    id_card_no: str
    mobile: str


class SimulatedCardBank:
    """An in-memory stand-in for the issuing banks: cards, their holders and phones, outages."""

    def __init__(self, *, auto_enrol: bool = False) -> None:
        """`auto_enrol=True` (demo): a card the simulator has never seen is accepted and remembered with
        the elements given, so later checks of that card are strict. Tests keep it off."""
        self.auto_enrol = auto_enrol
        self._cards: dict[str, SimCard] = {}
        self._down: set[str] = set()
        self._lock = threading.Lock()
        self.calls = 0

    def add_card(self, bankcard_no: str, *, real_name: str, id_card_no: str, mobile: str) -> None:
        with self._lock:
            self._cards[bankcard_no] = SimCard(real_name, id_card_no.upper(), mobile)

    def set_mobile(self, bankcard_no: str, mobile: str) -> None:
        with self._lock:
            card = self._cards[bankcard_no]
            self._cards[bankcard_no] = SimCard(card.real_name, card.id_card_no, mobile)

    def set_down(self, bankcode: str, down: bool = True) -> None:
        with self._lock:
            (self._down.add if down else self._down.discard)(bankcode)

    def verify(self, elements: FourElements) -> None:
        with self._lock:
            self.calls += 1
            if elements.bankcode in self._down:
                raise CardBankUnavailable(f"the card's bank ({elements.bankcode}) is not answering; try again later",
                                          field="bankcardNo")
            card = self._cards.get(elements.bankcard_no)
            if card is None and self.auto_enrol:
                card = SimCard(elements.real_name, elements.id_card_no.upper(), elements.mobile)
                self._cards[elements.bankcard_no] = card
        if card is None:
            raise CardNotFound("bankcardNo: the bank does not know this card", field="bankcardNo")
        if card.real_name != elements.real_name:
            raise CardHolderMismatch("realName does not match the card holder at the bank", field="realName")
        if card.id_card_no != elements.id_card_no.upper():
            raise CardHolderMismatch("idCardNo does not match the card holder at the bank", field="idCardNo")
        if card.mobile != elements.mobile:
            raise CardMobileMismatch("mobile is not the phone number reserved at the card's bank", field="mobile")


class Preverified:
    """A verifier that accepts exactly the elements the issuing bank confirmed earlier.

    The bank call is slow network I/O; holding the database write lock across it would stall every
    writer (SQLite has one). The page therefore verifies first, outside any transaction, and then runs
    the registration with `verifier=Preverified(elements)`: if anything differs from what the bank
    confirmed, the registration is refused as if the bank had said no."""

    def __init__(self, elements: FourElements) -> None:
        self.elements = elements

    def verify(self, elements: FourElements) -> None:
        if elements.bankcard_no != self.elements.bankcard_no or elements.bankcode != self.elements.bankcode:
            raise CardNotFound("bankcardNo differs from the card the bank confirmed", field="bankcardNo")
        if elements.real_name != self.elements.real_name:
            raise CardHolderMismatch("realName differs from what the bank confirmed", field="realName")
        if elements.id_card_no.upper() != self.elements.id_card_no.upper():
            raise CardHolderMismatch("idCardNo differs from what the bank confirmed", field="idCardNo")
        if elements.mobile != self.elements.mobile:
            raise CardMobileMismatch("mobile differs from what the bank confirmed", field="mobile")


_current: CardVerifier | None = None
_current_lock = threading.Lock()


def configure(verifier: CardVerifier | None) -> None:
    """Set (or clear) the process-wide verifier used when a service gets no `verifier=`."""
    global _current
    with _current_lock:
        _current = verifier


def configured() -> CardVerifier | None:
    with _current_lock:
        return _current


def resolve(verifier: CardVerifier | None) -> CardVerifier:
    if verifier is not None:
        return verifier
    with _current_lock:
        if _current is None:
            raise RuntimeError("no card verifier configured: call card_verifier.configure() at start-up")
        return _current
