"""The references check on hand-made rows: postings carry no foreign keys (migration 0009), so the audit
must name every posting whose debit account, credit account or freeze does not exist."""

from __future__ import annotations

from cunguan.ledger.audit import check_references


def found(rows):
    return [str(v) for v in check_references(rows)]


def test_postings_whose_references_exist_pass():
    rows = [(1, 10, 11, None, True, True, False), (2, 11, 10, 5, True, True, True)]
    assert found(rows) == []


def test_each_missing_reference_is_named():
    rows = [
        (1, 10, 11, None, False, True, False),
        (2, 10, 11, None, True, False, False),
        (3, 10, 11, 7, True, True, False),
        (4, 98, 99, 8, False, False, False),
    ]
    assert found(rows) == [
        "references: posting 1 debits account 10, which does not exist",
        "references: posting 2 credits account 11, which does not exist",
        "references: posting 3 consumes freeze 7, which does not exist",
        "references: posting 4 debits account 98, which does not exist",
        "references: posting 4 credits account 99, which does not exist",
        "references: posting 4 consumes freeze 8, which does not exist",
    ]


def test_a_posting_without_freeze_ignores_the_freeze_flag():
    assert found([(1, 10, 11, None, True, True, False)]) == []
