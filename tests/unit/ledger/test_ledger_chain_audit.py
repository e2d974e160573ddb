"""The posting hash chain and the pure audit checks on hand-made rows: a clean ledger passes, and each
kind of tampering (amount, removed posting, reordered postings, wrong balance, wrong frozen) is caught."""

from __future__ import annotations

from cunguan.ledger.audit import check_accounts, check_chain, check_freezes, check_totals
from cunguan.ledger.chain import GENESIS, posting_hash

# (debit, credit, amount, currency, biz_type, ref, idem_key, freeze_id, created_us)
CONTENT = [
    (1, 2, 10_000, "CNY", "RECHARGE", "r1", "k1", None, 1_000),
    (2, 3, 2_500, "CNY", "TENDER", "t1", None, 7, 1_000),
    (1, 3, 400, "CNY", "RECHARGE", "r2", "k2", None, 1_500),
    (3, 2, 100, "CNY", "REFUND", "x", "k3", None, 2_000),
]


def chain_rows(content=CONTENT) -> list[tuple]:
    rows, prev = [], GENESIS
    for seq, (d, c, amt, cur, biz, ref, key, fid, us) in enumerate(content, start=1):
        prev = posting_hash(prev, seq, d, c, amt, cur, biz, ref, key, fid, us)
        rows.append((seq, d, c, amt, cur, biz, ref, key, fid, us, prev))
    return rows


def head_of(rows) -> tuple[int, bytes]:
    return (rows[-1][0], rows[-1][-1]) if rows else (0, GENESIS)


def chain_violations(rows, head=None):
    return [str(v) for v in check_chain(rows, head if head is not None else head_of(rows))]


def test_posting_hash_is_deterministic_and_covers_every_field():
    base = (GENESIS, 1, 1, 2, 100, "CNY", "T", "r", "k", 5, 10)
    digest = posting_hash(*base)
    assert digest == posting_hash(*base) and len(digest) == 32
    variants = [(bytes([1]) * 32,), (2,), (9,), (9,), (101,), ("USD",), ("U",), ("s",), ("j",), (6,), (11,)]
    for i, (value,) in enumerate(variants):
        changed = list(base)
        changed[i] = value
        assert posting_hash(*changed) != digest, f"field {i} is not covered"
    # an absent key or freeze hashes the same as an empty one, never as another value
    assert posting_hash(GENESIS, 1, 1, 2, 100, "CNY", "T", "r", None, None, 10) == posting_hash(
        GENESIS, 1, 1, 2, 100, "CNY", "T", "r", "", 0, 10)


def test_clean_chain_passes():
    assert chain_violations(chain_rows()) == []
    assert chain_violations([], (0, GENESIS)) == []


def test_tampered_amount_breaks_the_chain():
    rows = chain_rows()
    seq, d, c, amt, *rest = rows[1]
    rows[1] = (seq, d, c, amt + 1, *rest)
    assert chain_violations(rows, head_of(chain_rows())) == ["chain: posting 2 hash does not match its content and predecessor"]


def test_tampered_amount_with_recomputed_hash_breaks_the_next_link():
    content = list(CONTENT)
    content[1] = (2, 3, 9_999, "CNY", "TENDER", "t1", None, 7, 1_000)
    forged = chain_rows(content)
    rows = chain_rows()
    rows[1] = forged[1]  # the forger rehashed posting 2 but cannot rehash what follows without being seen
    (violation,) = chain_violations(rows, head_of(chain_rows()))
    assert "posting 3 hash does not match" in violation


def test_rehashing_everything_is_caught_by_the_head():
    content = list(CONTENT)
    content[0] = (1, 2, 10_001, "CNY", "RECHARGE", "r1", "k1", None, 1_000)
    forged = chain_rows(content)
    (violation,) = chain_violations(forged, head_of(chain_rows()))
    assert "chain head" in violation


def test_removed_posting_is_a_gap():
    rows = chain_rows()
    del rows[1]
    (violation,) = chain_violations(rows, head_of(chain_rows()))
    assert "seq 3 found where 2 was expected" in violation


def test_removed_last_posting_is_caught_by_the_head():
    rows = chain_rows()
    (violation,) = chain_violations(rows[:-1], head_of(rows))
    assert violation == "chain: chain head says seq 4, postings end at 3"


def test_reordered_postings():
    rows = chain_rows()
    rows[1], rows[2] = rows[2], rows[1]
    (violation,) = chain_violations(rows, head_of(chain_rows()))
    assert "(gap or reorder)" in violation


def test_reordered_content_with_renumbered_seq():
    # swap the content of postings 2 and 3 but keep the seq numbers in order: the hashes no longer link
    content = list(CONTENT)
    content[1], content[2] = content[2], content[1]
    rows = chain_rows()
    swapped = chain_rows(content)
    rows[1] = (2, *swapped[1][1:-1], rows[1][-1])
    rows[2] = (3, *swapped[2][1:-1], rows[2][-1])
    assert chain_violations(rows, head_of(chain_rows())) != []


def test_time_running_backwards_is_caught():
    content = list(CONTENT)
    content[3] = (3, 2, 100, "CNY", "REFUND", "x", "k3", None, 999)
    rows = chain_rows(content)
    (violation,) = chain_violations(rows)
    assert "posting 4 is stamped earlier than posting 3" in violation


def test_wrong_head_hash():
    rows = chain_rows()
    (violation,) = chain_violations(rows, (4, bytes(32)))
    assert "chain head" in violation


# ---------------------------------------------------------------- accounts, freezes, totals

ACCOUNTS = [(1, True, -10_400, 0), (2, False, 7_600, 0), (3, False, 2_800, 500)]
CREDITS = {2: 10_100, 3: 2_900}
DEBITS = {1: 10_400, 2: 2_500, 3: 100}
FROZEN = {3: 500}


def account_violations(accounts=ACCOUNTS, credits=CREDITS, debits=DEBITS, frozen=FROZEN) -> list[str]:
    return [str(v) for v in check_accounts(accounts, credits, debits, frozen)]


def test_clean_accounts_pass():
    assert account_violations() == []
    assert list(check_totals(13_000, 13_000, 0)) == []


def test_wrong_balance():
    accounts = [ACCOUNTS[0], (2, False, 7_601, 0), ACCOUNTS[2]]
    assert account_violations(accounts) == ["balance: account 2 balance 7601 != postings 7600"]


def test_balance_of_an_account_without_postings():
    assert account_violations([(4, False, 5, 0)]) == ["balance: account 4 balance 5 != postings 0"]


def test_tampered_posting_amount_shows_in_balances_and_totals():
    credits = {**CREDITS, 2: 10_101}
    assert account_violations(credits=credits) == ["balance: account 2 balance 7600 != postings 7601"]
    assert [v.check for v in check_totals(13_000, 13_001, 0)] == ["totals"]


def test_wrong_frozen():
    accounts = [ACCOUNTS[0], ACCOUNTS[1], (3, False, 2_800, 400)]
    assert account_violations(accounts) == ["frozen: account 3 frozen 400 != remaining of its freezes 500"]
    assert account_violations(frozen={}) == ["frozen: account 3 frozen 500 != remaining of its freezes 0"]


def test_negative_frozen_and_overdraw():
    out = account_violations([(5, False, 0, -1)], {}, {}, {5: -1})
    assert out == ["frozen: account 5 frozen -1 is negative",
                   "overdraw: account 5 balance 0, frozen -1: outside 0 <= frozen <= balance"]
    out = account_violations([(5, False, 10, 20)], {5: 10}, {}, {5: 20})
    assert out == ["overdraw: account 5 balance 10, frozen 20: outside 0 <= frozen <= balance"]
    assert account_violations([(6, False, -1, 0)], {}, {6: 1}, {}) == [
        "overdraw: account 6 balance -1, frozen 0: outside 0 <= frozen <= balance"]
    assert account_violations([(1, True, -5, 0)], {}, {1: 5}, {}) == []  # may overdraw


def test_totals():
    assert [str(v) for v in check_totals(5, 6, 0)] == ["totals: sum of debits 5 != sum of credits 6"]
    assert [str(v) for v in check_totals(5, 5, 1)] == ["totals: sum of all account balances is 1, not 0"]


def test_freezes():
    rows = [(7, "fA", 3_000, 2_500, 0, "FREEZED"), (8, "fB", 500, 0, 500, "UNFREEZED")]
    assert list(check_freezes(rows, {7: 2_500})) == []
    # consumed not backed by postings (e.g. a consuming posting was removed)
    assert [str(v) for v in check_freezes(rows, {})] == ["freeze: freeze 7 (fA) consumed 2500 != postings 0"]
    # over-consumed and wrong status
    bad = [(9, "fC", 100, 80, 30, "FREEZED")]
    out = [str(v) for v in check_freezes(bad, {9: 80})]
    assert out == ["freeze: freeze 9 (fC) consumed 80 + released 30 exceeds 100",
                   "freeze: freeze 9 (fC) status FREEZED, expected UNFREEZED"]
    assert [v.check for v in check_freezes([(10, "fD", 100, 0, 0, "UNFREEZED")], {})] == ["freeze"]
    assert [v.check for v in check_freezes([(11, "fE", 100, -1, 0, "FREEZED")], {11: -1})] == ["freeze"]
