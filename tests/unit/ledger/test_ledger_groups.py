"""`core.plan_groups`: groups of operations, each all-or-nothing. Oracle: a group is accepted exactly
when the atomic planner accepts (all accepted groups so far + this group) on a fresh book, and the
final book, postings, freezes and outcomes equal those of one atomic plan of the accepted groups'
operations — so a refused group leaves no trace, whatever it touched before it failed."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from cunguan.ledger import Hold, InsufficientAvailable, InsufficientFrozen, LedgerError, Release, Transfer
from cunguan.ledger.core import AccountState, Book, FreezeState, plan, plan_groups

BANK, A, B, C = 1, 2, 3, 4


def make_book() -> Book:
    return Book(
        accounts={
            BANK: AccountState(BANK, "CNY", True, -2_000, 0),
            A: AccountState(A, "CNY", False, 1_000, 300),
            B: AccountState(B, "CNY", False, 500, 0),
            C: AccountState(C, "CNY", False, 500, 0),
        },
        freezes={"fA": FreezeState("fA", A, 300, 0, 0, "bid", id=70)},
    )


def state(book: Book, p) -> tuple:
    accounts = {i: (a.balance_fen, a.frozen_fen, a.balance_delta, a.frozen_delta) for i, a in book.accounts.items()}
    freezes = {k: (f.account_id, f.amount_fen, f.consumed_fen, f.released_fen, f.dirty, f.is_new)
               for k, f in book.freezes.items()}
    postings = [tuple(x for i, x in enumerate(post) if i not in (7, 10)) + ((post.freeze.key,) if post.freeze else (None,))
                for post in p.postings]
    return (accounts, freezes, postings, sorted(f.key for f in p.new_freezes), sorted(f.key for f in p.changed_freezes),
            sorted(a.id for a in p.touched_accounts if a.balance_delta or a.frozen_delta),
            [(k, fp) for k, fp, _r in p.new_outcomes])


def oracle(groups):
    accepted: list = []
    verdicts = []
    for g in groups:
        try:
            plan(make_book(), accepted + g, atomic=True)
        except LedgerError:
            verdicts.append(False)
            continue
        accepted += g
        verdicts.append(True)
    book = make_book()
    return verdicts, state(book, plan(book, accepted, atomic=True))


def test_a_refused_group_in_the_middle_leaves_no_trace():
    groups = [
        [Transfer(A, B, 100, "T", "g0")],
        [Hold(B, 200, "fB", "h"), Transfer(B, C, 150, "T", "g1", freeze_key="fB"), Transfer(C, A, 10_000, "T", "x")],
        [Transfer(A, C, 300, "T", "g2", freeze_key="fA"), Release("fA", 1, key="r")],  # nothing left to release
        [Hold(B, 200, "fB", "h"), Transfer(A, C, 250, "T", "g3", freeze_key="fA")],  # fB is free again
    ]
    book = make_book()
    p, results = plan_groups(book, groups)
    assert [r.ok for r in results] == [True, False, False, True]
    assert isinstance(results[1].error, InsufficientAvailable) and results[1].error.index == 2
    assert isinstance(results[2].error, InsufficientFrozen) and results[2].error.index == 1
    assert results[1].results == [] and len(results[3].results) == 2
    assert p.results == results[0].results + results[3].results
    verdicts, expected = oracle(groups)
    assert verdicts == [r.ok for r in results]
    assert state(book, p) == expected


ACCOUNTS = st.sampled_from([BANK, A, B, C])
KEYS = st.sampled_from(["fA", "fB", "fC"])
OPS = st.one_of(
    st.builds(lambda d, c, n, fk: Transfer(d, c, n, "T", "t", freeze_key=fk), ACCOUNTS, ACCOUNTS,
              st.integers(1, 600), st.one_of(st.none(), KEYS)),
    st.builds(lambda a, n, k: Hold(a, n, k, "h"), ACCOUNTS, st.integers(1, 600), KEYS),
    st.builds(lambda k, n: Release(k, n), KEYS, st.one_of(st.none(), st.integers(1, 400))),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(OPS, min_size=1, max_size=4), max_size=8))
def test_groups_match_the_atomic_oracle(groups):
    book = make_book()
    p, results = plan_groups(book, copy.deepcopy(groups))
    verdicts, expected = oracle(groups)
    assert [r.ok for r in results] == verdicts
    assert state(book, p) == expected
    assert all((r.error is None) == r.ok for r in results)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from([
    Transfer(A, B, 100, "T", "t1"), Transfer(B, C, 600, "T", "t2"), Transfer(A, C, 800, "T", "t3"),
    Transfer(A, B, 200, "T", "t4", freeze_key="fA"), Release("fA", 50), Hold(C, 100, "fC", "h"),
]), min_size=1, max_size=3), min_size=1, max_size=6))
def test_stop_at_refusal_agrees_up_to_the_first_refusal(groups):
    """`stop_at_refusal`: the verdicts up to and including the first refused group are those of the full
    planner, the rest are not decided (None); without a refusal the two plans are the same."""
    full_book, quick_book = make_book(), make_book()
    full_plan, full = plan_groups(full_book, copy.deepcopy(groups))
    quick_plan, quick = plan_groups(quick_book, copy.deepcopy(groups), stop_at_refusal=True)
    first = next((i for i, r in enumerate(full) if not r.ok), None)
    if first is None:
        assert [r.ok for r in quick] == [True] * len(groups)
        assert state(quick_book, quick_plan) == state(full_book, full_plan)
        return
    assert [r.ok for r in quick[:first + 1]] == [r.ok for r in full[:first + 1]]
    assert type(quick[first].error) is type(full[first].error)
    assert quick[first + 1:] == [None] * (len(groups) - first - 1)
