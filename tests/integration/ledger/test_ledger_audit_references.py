"""Postings have no foreign keys (migration 0009: the ledger checks accounts and freezes under lock
before writing), so `cunguan audit` must catch an orphan posting. The orphan here is otherwise perfect:
chained, head updated, both sides missing so every sum still balances; only the references check sees it."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from cunguan.db import ledger_store as L
from cunguan.db.ledger_audit import audit
from cunguan.db.prepared import driver_sql
from cunguan.db.tx import run_in_transaction
from cunguan.ledger import Hold, Transfer
from cunguan.ledger.chain import posting_hash


@pytest.fixture
def ledger(engine):
    def setup(c):
        bank = L.open_account(c, "bank", owner_type="SYSTEM", owner_ref="bank", allow_overdraw=True)
        a = L.open_account(c, "a", owner_type="USER", owner_ref="a")
        L.apply(c, [Transfer(bank, a, 10_000, "RECHARGE", "r1", key="k1"), Hold(a, 2_000, "f1", "bid"),
                    Transfer(a, bank, 500, "TENDER", "t1", freeze_key="f1")])
        return {"bank": bank, "a": a}

    return run_in_transaction(engine, setup)


def append_posting(engine, debit: int, credit: int, freeze_id: int | None) -> None:
    """Append a chain-valid posting straight in SQL, as a buggy or hostile writer would."""
    with engine.begin() as c:
        seq, prev = c.exec_driver_sql("SELECT last_seq, last_hash FROM ledger_chain WHERE id = 1").one()
        created = c.exec_driver_sql("SELECT max(created_us) FROM postings").scalar() + 1
        seq += 1
        digest = posting_hash(bytes(prev), seq, debit, credit, 700, "CNY", "FORGED", "x", None, freeze_id, created)
        c.exec_driver_sql(
            driver_sql(c, "INSERT INTO postings (seq, debit_account_id, credit_account_id, amount_fen, currency, biz_type, "
                    "ref, idem_key, freeze_id, debit_balance_after, credit_balance_after, created_us, hash) "
                    "VALUES (?, ?, ?, 700, 'CNY', 'FORGED', 'x', NULL, ?, 0, 0, ?, ?)"),
            (seq, debit, credit, freeze_id, created, digest),
        )
        c.exec_driver_sql(driver_sql(c, "UPDATE ledger_chain SET last_seq = ?, last_hash = ? WHERE id = 1"), (seq, digest))


def test_postings_have_no_foreign_keys_but_freezes_keep_theirs(engine):
    insp = inspect(engine)
    assert insp.get_foreign_keys("postings") == []
    assert [fk["referred_table"] for fk in insp.get_foreign_keys("freezes")] == ["accounts"]


def test_a_clean_ledger_has_no_reference_violations(engine, ledger):
    assert audit(engine) == []


def test_orphan_accounts_fail_the_audit(engine, ledger):
    append_posting(engine, 990_001, 990_002, None)
    assert [str(v) for v in audit(engine)] == [
        "references: posting 3 debits account 990001, which does not exist",
        "references: posting 3 credits account 990002, which does not exist",
    ]


def test_orphan_freeze_fails_the_audit(engine, ledger):
    # A missing freeze on a posting between real accounts: the balances break too, but the reference
    # violation comes first and names the freeze.
    append_posting(engine, ledger["a"], ledger["bank"], 424_242)
    found = [str(v) for v in audit(engine)]
    assert found[0] == "references: posting 3 consumes freeze 424242, which does not exist"
