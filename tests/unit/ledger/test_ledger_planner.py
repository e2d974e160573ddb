"""The pure planner (`core.plan`) on hand-built books: every typed error, atomic against item by item,
refusals leave no trace, replays give the original outcome."""

from __future__ import annotations

import pytest

from cunguan.ledger import (
    BadAmount,
    BatchTooLarge,
    CurrencyMismatch,
    DuplicateKey,
    FreezeAccountMismatch,
    Hold,
    InsufficientAvailable,
    InsufficientFrozen,
    LedgerError,
    Release,
    SameAccount,
    Transfer,
    UnknownAccount,
    UnknownFreeze,
    core,
)
from cunguan.ledger.core import (
    AccountState,
    Book,
    FreezeState,
    StoredOutcome,
    StoredPosting,
    plan,
    release_fingerprint,
)
from cunguan.money import MAX_FEN

BANK, A, B, C, USD = 1, 2, 3, 4, 9


def make_book() -> Book:
    """bank (overdraw) | A: 10_000, 3_000 frozen under 'fA' | B: 500 | C: 0 | USD account 9: 1_000."""
    return Book(
        accounts={
            BANK: AccountState(BANK, "CNY", True, -11_500, 0),
            A: AccountState(A, "CNY", False, 10_000, 3_000),
            B: AccountState(B, "CNY", False, 500, 0),
            C: AccountState(C, "CNY", False, 0, 0),
            USD: AccountState(USD, "USD", False, 1_000, 0),
        },
        freezes={"fA": FreezeState("fA", A, 3_000, 0, 0, "bid", id=70)},
    )


def snapshot(book: Book):
    return (
        {i: (a.balance_fen, a.frozen_fen, a.balance_delta, a.frozen_delta) for i, a in book.accounts.items()},
        {k: (f.account_id, f.amount_fen, f.consumed_fen, f.released_fen, f.dirty) for k, f in book.freezes.items()},
    )


def refuse(book: Book, op, error: type[LedgerError], match: str | None = None) -> LedgerError:
    """Atomic: raises the typed error with its index, the book stays as it was."""
    before = snapshot(book)
    with pytest.raises(error, match=match) as info:
        plan(book, [op], atomic=True)
    assert info.value.index == 0
    assert info.value.code == error.code
    assert snapshot(book) == before
    # Item by item: the same refusal comes back as a result and still nothing moves.
    p = plan(book, [op], atomic=False)
    assert len(p.results) == 1 and not p.results[0].ok
    assert isinstance(p.results[0].error, error) and p.results[0].error.index == 0
    assert (p.postings, p.new_freezes, p.changed_freezes, p.new_outcomes) == ([], [], [], [])
    assert all(a.balance_delta == 0 and a.frozen_delta == 0 for a in p.touched_accounts)
    assert snapshot(book) == before
    return info.value


# ---------------------------------------------------------------- happy paths


def test_transfer_moves_available_and_records_balances_after():
    book = make_book()
    p = plan(book, [Transfer(A, B, 7_000, "TENDER", "t1", key="k1")], atomic=True)
    assert p.results[0].ok and p.results[0].amount_fen == 7_000 and not p.results[0].replayed
    assert (book.accounts[A].balance_fen, book.accounts[A].frozen_fen) == (3_000, 3_000)
    assert book.accounts[B].balance_fen == 7_500
    (post,) = p.postings
    assert (post.debit, post.credit, post.amount_fen, post.currency, post.key, post.freeze) == (A, B, 7_000, "CNY", "k1", None)
    assert (post.debit_balance_after, post.credit_balance_after) == (3_000, 7_500)
    assert {a.id for a in p.touched_accounts} == {A, B}


def test_overdraw_account_may_go_negative():
    book = make_book()
    p = plan(book, [Transfer(BANK, C, 1_000_000, "RECHARGE", "r")], atomic=True)
    assert p.results[0].ok and book.accounts[BANK].balance_fen == -1_011_500


def test_hold_consume_release_lifecycle():
    book = make_book()
    ops = [
        Hold(B, 400, "fB", "bid"),
        Transfer(B, C, 150, "TENDER", "t", freeze_key="fB"),
        Release("fB", 50, key="r1"),
        Release("fB", None, key="r2"),  # all that remains
    ]
    p = plan(book, ops, atomic=True)
    assert [r.amount_fen for r in p.results] == [400, 150, 50, 200]
    freeze = book.freezes["fB"]
    assert (freeze.consumed_fen, freeze.released_fen, freeze.remaining_fen, freeze.status) == (150, 250, 0, "UNFREEZED")
    assert (book.accounts[B].balance_fen, book.accounts[B].frozen_fen) == (350, 0)
    assert book.accounts[C].balance_fen == 150
    assert p.new_freezes == [freeze] and p.changed_freezes == []  # a new freeze is inserted, not updated
    assert p.postings[0].freeze is freeze
    assert [(k, fp) for k, fp, _ in p.new_outcomes] == [("r1", "R|fB|50"), ("r2", "R|fB|None")]
    # the batch touched B four times; storage writes it once with the net deltas
    acc_b = next(a for a in p.touched_accounts if a.id == B)
    assert (acc_b.balance_delta, acc_b.frozen_delta) == (-150, 0)


def test_consuming_an_existing_freeze_marks_it_changed():
    book = make_book()
    p = plan(book, [Transfer(A, B, 3_000, "TENDER", "t", freeze_key="fA")], atomic=True)
    assert p.changed_freezes == [book.freezes["fA"]] and book.freezes["fA"].dirty
    assert book.freezes["fA"].status == "UNFREEZED"
    assert (book.accounts[A].balance_fen, book.accounts[A].frozen_fen) == (7_000, 0)


def test_frozen_money_is_not_available():
    book = make_book()
    refuse(book, Transfer(A, B, 7_001, "T", "r"), InsufficientAvailable, "7000 fen available")
    refuse(book, Hold(A, 7_001, "f2", "r"), InsufficientAvailable)
    assert plan(book, [Transfer(A, B, 7_000, "T", "r")], atomic=True).results[0].ok


# ---------------------------------------------------------------- every typed error


def test_insufficient_available():
    refuse(make_book(), Transfer(B, C, 501, "T", "r"), InsufficientAvailable, "account 3 has 500")
    refuse(make_book(), Transfer(C, B, 1, "T", "r", key="k"), InsufficientAvailable)
    refuse(make_book(), Hold(C, 1, "fC", "r"), InsufficientAvailable)


def test_insufficient_frozen():
    refuse(make_book(), Transfer(A, B, 3_001, "T", "r", freeze_key="fA"), InsufficientFrozen, "3000 fen left")
    refuse(make_book(), Release("fA", 3_001), InsufficientFrozen)
    book = make_book()
    plan(book, [Release("fA", None)], atomic=True)
    refuse(book, Release("fA", None), InsufficientFrozen, "0 fen left")  # nothing left to release
    refuse(book, Release("fA", 1), InsufficientFrozen)
    refuse(book, Transfer(A, B, 1, "T", "r", freeze_key="fA"), InsufficientFrozen)


def test_unknown_account():
    refuse(make_book(), Transfer(A, 99, 1, "T", "r"), UnknownAccount, "account 99")
    refuse(make_book(), Transfer(99, A, 1, "T", "r"), UnknownAccount)
    refuse(make_book(), Hold(99, 1, "f", "r"), UnknownAccount)


def test_unknown_freeze():
    refuse(make_book(), Release("nope"), UnknownFreeze, "'nope'")
    refuse(make_book(), Release("nope", 5, key="rk"), UnknownFreeze)
    refuse(make_book(), Transfer(A, B, 1, "T", "r", freeze_key="nope"), UnknownFreeze)


def test_duplicate_key_twice_in_one_batch():
    for ops in (
        [Transfer(BANK, A, 1, "T", "r", key="k"), Transfer(BANK, A, 1, "T", "r", key="k")],
        [Hold(A, 1, "h", "r"), Hold(A, 1, "h", "r")],
        [Release("fA", 1, key="k"), Release("fA", 1, key="k")],
        [Transfer(BANK, A, 1, "T", "r", key="k"), Hold(A, 1, "k", "r")],  # one key space within a batch
        [Hold(A, 1, "k", "r"), Release("fA", 1, key="k")],
    ):
        book = make_book()
        with pytest.raises(DuplicateKey, match="twice in one batch") as info:
            plan(book, ops, atomic=True)
        assert info.value.index == 1
        book = make_book()
        p = plan(book, ops, atomic=False)
        assert p.results[0].ok and not p.results[1].ok and isinstance(p.results[1].error, DuplicateKey)


def test_refused_item_does_not_claim_its_key():
    # a refused op leaves no trace: its key may be used by a later op of the same batch
    book = make_book()
    p = plan(book, [Transfer(C, A, 5, "T", "r", key="k"), Transfer(BANK, A, 5, "T", "r", key="k")], atomic=False)
    assert [r.ok for r in p.results] == [False, True]
    assert isinstance(p.results[0].error, InsufficientAvailable)


def test_duplicate_key_reused_for_a_different_operation():
    book = make_book()
    book.stored_postings["k"] = StoredPosting(seq=5, debit=BANK, credit=A, amount_fen=100, freeze_id=None)
    refuse(book, Transfer(BANK, A, 101, "T", "r", key="k"), DuplicateKey, "different transfer")
    refuse(book, Transfer(BANK, B, 100, "T", "r", key="k"), DuplicateKey)
    refuse(book, Transfer(A, BANK, 100, "T", "r", key="k"), DuplicateKey)
    # a hold under an existing freeze's key for another account or amount
    refuse(make_book(), Hold(A, 2_999, "fA", "r"), DuplicateKey, "different hold")
    refuse(make_book(), Hold(B, 3_000, "fA", "r"), DuplicateKey)
    book = make_book()
    book.stored_outcomes["rk"] = StoredOutcome(release_fingerprint(Release("fA", 100, key="rk")), "100")
    refuse(book, Release("fA", 101, key="rk"), DuplicateKey, "different release")
    refuse(book, Release("fA", None, key="rk"), DuplicateKey)


@pytest.mark.parametrize("amount", [0, -1, -10_000, MAX_FEN + 1, 2**64, 1.5, True, "100", None])
def test_bad_amount(amount):
    refuse(make_book(), Transfer(BANK, A, amount, "T", "r"), BadAmount)
    refuse(make_book(), Hold(A, amount, "h", "r"), BadAmount)
    if amount is not None:  # None means "all that remains" for a release
        refuse(make_book(), Release("fA", amount), BadAmount)


def test_bad_amount_when_a_balance_would_overflow_64_bits():
    book = make_book()
    book.accounts[C].balance_fen = MAX_FEN - 10
    refuse(book, Transfer(BANK, C, 11, "T", "r"), BadAmount, "signed 64-bit")
    assert plan(book, [Transfer(BANK, C, 10, "T", "r")], atomic=True).results[0].ok


def test_bad_amount_when_an_overdraw_balance_would_underflow_64_bits():
    book = make_book()
    book.accounts[BANK].balance_fen = -MAX_FEN
    refuse(book, Transfer(BANK, C, 2, "T", "r"), BadAmount, "signed 64-bit")
    assert plan(book, [Transfer(BANK, C, 1, "T", "r")], atomic=True).results[0].ok  # -2**63 still fits


def test_same_account_on_both_sides():
    refuse(make_book(), Transfer(A, A, 1, "T", "r"), SameAccount, "account 2")
    refuse(make_book(), Transfer(A, A, 1, "T", "r", freeze_key="fA"), SameAccount)


def test_currency_mismatch():
    refuse(make_book(), Transfer(USD, B, 1, "T", "r"), CurrencyMismatch)
    refuse(make_book(), Transfer(B, USD, 1, "T", "r"), CurrencyMismatch)
    refuse(make_book(), Transfer(A, B, 1, "T", "r", currency="USD"), CurrencyMismatch)
    assert plan(make_book(), [Transfer(A, B, 1, "T", "r", currency="CNY")], atomic=True).results[0].ok


def test_freeze_on_another_account():
    refuse(make_book(), Transfer(B, C, 1, "T", "r", freeze_key="fA"), FreezeAccountMismatch, "not on account 3")


def test_batch_too_large():
    ops = [Transfer(BANK, A, 1, "T", "r")] * (core.MAX_BATCH_OPS + 1)
    with pytest.raises(BatchTooLarge):
        plan(make_book(), ops, atomic=False)
    assert len(plan(make_book(), ops[:100], atomic=True).results) == 100


def test_not_an_operation():
    with pytest.raises(TypeError):
        plan(make_book(), ["transfer"], atomic=False)  # type: ignore[list-item]


# ---------------------------------------------------------------- atomic against item by item


MIXED = [
    Transfer(BANK, C, 1_000, "RECHARGE", "r1", key="k1"),   # ok
    Transfer(B, C, 600, "T", "r2", key="k2"),               # refused: B has 500
    Hold(C, 800, "fC", "bid"),                              # ok
    Release("fA", 3_001),                                   # refused
    Transfer(C, B, 300, "T", "r3", freeze_key="fC"),        # ok
]


def test_atomic_batch_raises_at_the_first_refusal_with_its_index():
    with pytest.raises(InsufficientAvailable) as info:
        plan(make_book(), MIXED, atomic=True)
    assert info.value.index == 1


def test_item_by_item_batch_applies_the_rest():
    book = make_book()
    p = plan(book, MIXED, atomic=False)
    assert [r.ok for r in p.results] == [True, False, True, False, True]
    assert [r.error.index for r in p.results if not r.ok] == [1, 3]
    assert isinstance(p.results[3].error, InsufficientFrozen)
    assert (book.accounts[C].balance_fen, book.accounts[C].frozen_fen) == (700, 500)
    assert (book.accounts[B].balance_fen, book.accounts[A].frozen_fen) == (800, 3_000)
    assert [post.key for post in p.postings] == ["k1", None]
    assert sum(a.balance_delta for a in p.touched_accounts) == 0
    # the refused release did not touch fA
    assert book.freezes["fA"].released_fen == 0 and not book.freezes["fA"].dirty


def test_item_by_item_equals_the_batch_of_the_accepted_items():
    book1, book2 = make_book(), make_book()
    p = plan(book1, MIXED, atomic=False)
    accepted = [op for op, r in zip(MIXED, p.results, strict=True) if r.ok]
    plan(book2, accepted, atomic=True)
    assert snapshot(book1) == snapshot(book2)


# ---------------------------------------------------------------- replays


def test_transfer_replay_returns_the_original_posting():
    book = make_book()
    book.stored_postings["k"] = StoredPosting(seq=42, debit=BANK, credit=A, amount_fen=100, freeze_id=None)
    before = snapshot(book)
    p = plan(book, [Transfer(BANK, A, 100, "T", "r", key="k")], atomic=True)
    (res,) = p.results
    assert (res.ok, res.replayed, res.posting_seq, res.amount_fen) == (True, True, 42, 100)
    assert p.postings == [] and snapshot(book) == before


def test_transfer_replay_even_when_funds_are_gone():
    # the original outcome, not a re-evaluation: C has nothing, but the stored posting answers
    book = make_book()
    book.stored_postings["k"] = StoredPosting(seq=7, debit=C, credit=B, amount_fen=10_000, freeze_id=None)
    (res,) = plan(book, [Transfer(C, B, 10_000, "T", "r", key="k")], atomic=True).results
    assert res.ok and res.replayed and res.posting_seq == 7


def test_hold_replay_returns_the_existing_freeze():
    book = make_book()
    before = snapshot(book)
    p = plan(book, [Hold(A, 3_000, "fA", "bid")], atomic=True)
    (res,) = p.results
    assert (res.ok, res.replayed, res.freeze_id, res.freeze_key, res.amount_fen) == (True, True, 70, "fA", 3_000)
    assert p.new_freezes == [] and snapshot(book) == before


def test_release_replay_returns_the_stored_amount():
    book = make_book()
    book.stored_outcomes["rk"] = StoredOutcome(release_fingerprint(Release("fA", None, key="rk")), "2500")
    before = snapshot(book)
    p = plan(book, [Release("fA", None, key="rk")], atomic=True)
    (res,) = p.results
    assert (res.ok, res.replayed, res.amount_fen, res.freeze_key) == (True, True, 2_500, "fA")
    assert p.new_outcomes == [] and snapshot(book) == before


def test_replay_then_repeat_in_the_same_batch_is_a_duplicate():
    book = make_book()
    book.stored_postings["k"] = StoredPosting(seq=42, debit=BANK, credit=A, amount_fen=100, freeze_id=None)
    op = Transfer(BANK, A, 100, "T", "r", key="k")
    p = plan(book, [op, op], atomic=False)
    assert p.results[0].replayed and isinstance(p.results[1].error, DuplicateKey)
