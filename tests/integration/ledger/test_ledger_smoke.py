from cunguan.db import ledger_store as L
from cunguan.db.ledger_audit import audit
from cunguan.db.tx import run_in_transaction
from cunguan.ledger import Hold, Release, Transfer


def test_transfer_hold_consume_release_and_audit(engine):
    def setup(c):
        return (L.open_account(c, "cash", owner_type="SYSTEM", owner_ref="bank", allow_overdraw=True),
                L.open_account(c, "u1", owner_type="USER", owner_ref="u1"),
                L.open_account(c, "u2", owner_type="USER", owner_ref="u2"))

    cash, u1, u2 = run_in_transaction(engine, setup)
    ops = [Transfer(cash, u1, 10_000, "RECHARGE", "r1", key="k1"), Hold(u1, 3_000, "f1", "bid"),
           Transfer(u1, u2, 1_000, "TENDER", "t1", freeze_key="f1"), Release("f1", None, key="rel1")]
    results = run_in_transaction(engine, lambda c: L.apply(c, ops))
    assert [r.ok for r in results] == [True] * 4
    assert results[3].amount_fen == 2_000
    with engine.begin() as c:
        assert L.get_balance(c, u1) == (9_000, 0)
        assert L.get_balance(c, u2) == (1_000, 0)
    assert audit(engine) == []
