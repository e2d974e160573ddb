"""Audit checks, pure: each takes rows read by storage and yields the violations it finds.

The storage side (`cunguan.db.ledger_audit`) streams the rows; nothing here does I/O, so every check
can be tested on hand-made rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cunguan.ledger.chain import GENESIS, posting_hash


@dataclass(frozen=True, slots=True)
class Violation:
    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.detail}"


def check_chain(rows: Iterable[tuple], head: tuple[int, bytes]) -> Iterator[Violation]:
    """rows: (seq, debit, credit, amount, currency, biz_type, ref, idem_key, freeze_id, created_us, hash)
    in seq order; head: the chain head's (last_seq, last_hash)."""
    prev, expected_seq, last_us = GENESIS, 1, 0
    for row in rows:
        seq, debit, credit, amount, currency, biz_type, ref, idem_key, freeze_id, created_us, stored = row
        if seq != expected_seq:
            yield Violation("chain", f"posting seq {seq} found where {expected_seq} was expected (gap or reorder)")
            return
        if created_us < last_us:
            yield Violation("chain", f"posting {seq} is stamped earlier than posting {seq - 1}")
            return
        digest = posting_hash(prev, seq, debit, credit, amount, currency, biz_type, ref, idem_key, freeze_id, created_us)
        if digest != bytes(stored):
            yield Violation("chain", f"posting {seq} hash does not match its content and predecessor")
            return
        prev, expected_seq, last_us = digest, seq + 1, created_us
    last_seq, last_hash = head
    if last_seq != expected_seq - 1 or (last_seq > 0 and bytes(last_hash) != prev):
        yield Violation("chain", f"chain head says seq {last_seq}, postings end at {expected_seq - 1}")


def check_accounts(
    accounts: Iterable[tuple[int, bool, int, int]],
    credits: dict[int, int],
    debits: dict[int, int],
    frozen_by_freezes: dict[int, int],
) -> Iterator[Violation]:
    """accounts: (id, allow_overdraw, balance_fen, frozen_fen); the sums recomputed from postings and
    freezes, per account id."""
    for acc_id, allow_overdraw, balance, frozen in accounts:
        recomputed = credits.get(acc_id, 0) - debits.get(acc_id, 0)
        if balance != recomputed:
            yield Violation("balance", f"account {acc_id} balance {balance} != postings {recomputed}")
        held = frozen_by_freezes.get(acc_id, 0)
        if frozen != held:
            yield Violation("frozen", f"account {acc_id} frozen {frozen} != remaining of its freezes {held}")
        if frozen < 0:
            yield Violation("frozen", f"account {acc_id} frozen {frozen} is negative")
        if not allow_overdraw and not (0 <= frozen <= balance):
            yield Violation("overdraw", f"account {acc_id} balance {balance}, frozen {frozen}: outside 0 <= frozen <= balance")


def check_totals(total_debits: int, total_credits: int, total_balances: int) -> Iterator[Violation]:
    if total_debits != total_credits:
        yield Violation("totals", f"sum of debits {total_debits} != sum of credits {total_credits}")
    if total_balances != 0:
        yield Violation("totals", f"sum of all account balances is {total_balances}, not 0")


def check_freezes(rows: Iterable[tuple[int, str, int, int, int, str]], consumed_by_postings: dict[int, int]) -> Iterator[Violation]:
    """rows: (id, key, amount, consumed, released, status)."""
    for fid, key, amount, consumed, released, status in rows:
        if not (0 <= consumed and 0 <= released and consumed + released <= amount):
            yield Violation("freeze", f"freeze {fid} ({key}) consumed {consumed} + released {released} exceeds {amount}")
        if consumed != consumed_by_postings.get(fid, 0):
            yield Violation("freeze", f"freeze {fid} ({key}) consumed {consumed} != postings {consumed_by_postings.get(fid, 0)}")
        expected = "FREEZED" if amount - consumed - released > 0 else "UNFREEZED"
        if status != expected:
            yield Violation("freeze", f"freeze {fid} ({key}) status {status}, expected {expected}")


def check_references(rows: Iterable[tuple[int, int, int, int | None, bool, bool, bool]]) -> Iterator[Violation]:
    """Every posting's accounts and freeze exist. The database keeps no foreign keys on postings (the
    ledger checks them under lock before writing), so this check is what proves it stayed so.

    rows: (seq, debit, credit, freeze_id, debit_found, credit_found, freeze_found), one per posting
    (storage may pass only the suspect ones); freeze_found is ignored when freeze_id is None."""
    for seq, debit, credit, freeze_id, debit_found, credit_found, freeze_found in rows:
        if not debit_found:
            yield Violation("references", f"posting {seq} debits account {debit}, which does not exist")
        if not credit_found:
            yield Violation("references", f"posting {seq} credits account {credit}, which does not exist")
        if freeze_id is not None and not freeze_found:
            yield Violation("references", f"posting {seq} consumes freeze {freeze_id}, which does not exist")
