"""Random operation sequences against a simple in-memory model (hypothesis stateful testing).

Each example starts from an empty ledger on the engine under test (CUNGUAN_TEST_DB), runs up to
`STEPS` batches of transfers, holds, partial and full releases, consuming transfers and replays of
keys (atomic or item by item, sometimes with deliberate mistakes), and after every batch compares
what the ledger answered and every account's balance and frozen amount with the model; at the end
`audit(engine)` must be empty. The model is written independently of the planner: plain dicts and
the rules of the ledger as stated in its docstrings, checked in the planner's documented order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import text

from cunguan.db import ledger_store as L
from cunguan.db.ledger_audit import audit
from cunguan.db.tx import run_in_transaction
from cunguan.ledger import (
    BadAmount,
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
)
from cunguan.ledger.chain import GENESIS
from cunguan.money import MAX_FEN

EXAMPLES = 25
STEPS = 20
USERS = 3
MISSING_ACCOUNT = 2**62


class Refused(Exception):
    def __init__(self, error: type[LedgerError]) -> None:
        self.error = error


@dataclass
class MFreeze:
    account: int
    amount: int
    consumed: int = 0
    released: int = 0
    id: int | None = None

    @property
    def remaining(self) -> int:
        return self.amount - self.consumed - self.released


@dataclass
class Model:
    """What the ledger should hold: balances, frozen amounts, freezes and the keys already used."""

    overdraw: dict[int, bool] = field(default_factory=dict)
    balance: dict[int, int] = field(default_factory=dict)
    frozen: dict[int, int] = field(default_factory=dict)
    freezes: dict[str, MFreeze] = field(default_factory=dict)
    transfers: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)  # key -> debit, credit, amount, seq
    releases: dict[str, tuple[str, int | None, int]] = field(default_factory=dict)  # key -> freeze, asked, released
    seq: int = 0

    def copy(self) -> Model:
        return Model(dict(self.overdraw), dict(self.balance), dict(self.frozen),
                     {k: MFreeze(f.account, f.amount, f.consumed, f.released, f.id) for k, f in self.freezes.items()},
                     dict(self.transfers), dict(self.releases), self.seq)

    # Each method returns the expected result as a dict, or raises Refused; it mutates only on success.

    def amount_ok(self, amount: object) -> int:
        if not isinstance(amount, int) or amount <= 0 or amount > MAX_FEN:
            raise Refused(BadAmount)
        return amount

    def claim(self, key: str, batch_keys: set[str]) -> None:
        if key in batch_keys:
            raise Refused(DuplicateKey)

    def transfer(self, op: Transfer, batch_keys: set[str]) -> dict:
        amount = self.amount_ok(op.amount_fen)
        if op.debit == op.credit:
            raise Refused(SameAccount)
        if op.key is not None:
            self.claim(op.key, batch_keys)
            if op.key in self.transfers:
                debit, credit, stored_amount, seq = self.transfers[op.key]
                if (debit, credit, stored_amount) != (op.debit, op.credit, amount):
                    raise Refused(DuplicateKey)
                batch_keys.add(op.key)
                return {"replayed": True, "amount_fen": amount, "posting_seq": seq}
        if op.debit not in self.balance or op.credit not in self.balance:
            raise Refused(UnknownAccount)
        if op.freeze_key is not None:
            frz = self.freezes.get(op.freeze_key)
            if frz is None:
                raise Refused(UnknownFreeze)
            if frz.account != op.debit:
                raise Refused(FreezeAccountMismatch)
            if frz.remaining < amount:
                raise Refused(InsufficientFrozen)
        elif not self.overdraw[op.debit] and self.balance[op.debit] - self.frozen[op.debit] < amount:
            raise Refused(InsufficientAvailable)
        if op.key is not None:
            batch_keys.add(op.key)
            self.transfers[op.key] = (op.debit, op.credit, amount, self.seq + 1)
        if op.freeze_key is not None:
            self.freezes[op.freeze_key].consumed += amount
            self.frozen[op.debit] -= amount
        self.balance[op.debit] -= amount
        self.balance[op.credit] += amount
        self.seq += 1
        return {"replayed": False, "amount_fen": amount, "posting_seq": self.seq}

    def hold(self, op: Hold, batch_keys: set[str]) -> dict:
        amount = self.amount_ok(op.amount_fen)
        self.claim(op.key, batch_keys)
        existing = self.freezes.get(op.key)
        if existing is not None:
            if (existing.account, existing.amount) != (op.account, amount):
                raise Refused(DuplicateKey)
            batch_keys.add(op.key)
            return {"replayed": True, "amount_fen": amount, "freeze_key": op.key}
        if op.account not in self.balance:
            raise Refused(UnknownAccount)
        if self.balance[op.account] - self.frozen[op.account] < amount:
            raise Refused(InsufficientAvailable)
        batch_keys.add(op.key)
        self.freezes[op.key] = MFreeze(op.account, amount)
        self.frozen[op.account] += amount
        return {"replayed": False, "amount_fen": amount, "freeze_key": op.key}

    def release(self, op: Release, batch_keys: set[str]) -> dict:
        if op.key is not None:
            self.claim(op.key, batch_keys)
            if op.key in self.releases:
                freeze_key, asked, released = self.releases[op.key]
                if (freeze_key, asked) != (op.freeze_key, op.amount_fen):
                    raise Refused(DuplicateKey)
                batch_keys.add(op.key)
                return {"replayed": True, "amount_fen": released, "freeze_key": op.freeze_key}
        frz = self.freezes.get(op.freeze_key)
        if frz is None:
            raise Refused(UnknownFreeze)
        amount = frz.remaining if op.amount_fen is None else self.amount_ok(op.amount_fen)
        if amount <= 0 or frz.remaining < amount:
            raise Refused(InsufficientFrozen)
        if op.key is not None:
            batch_keys.add(op.key)
            self.releases[op.key] = (op.freeze_key, op.amount_fen, amount)
        frz.released += amount
        self.frozen[frz.account] -= amount
        return {"replayed": False, "amount_fen": amount, "freeze_key": op.freeze_key}

    def run(self, op, batch_keys: set[str]) -> dict:
        if isinstance(op, Transfer):
            return self.transfer(op, batch_keys)
        if isinstance(op, Hold):
            return self.hold(op, batch_keys)
        return self.release(op, batch_keys)


def reset_ledger(engine) -> None:
    """Empty the ledger between examples (cheaper than a database per example, same starting point)."""
    with engine.begin() as c:
        for table in ("postings", "freezes", "idempotency", "accounts"):
            c.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed table names
        c.execute(text("UPDATE ledger_chain SET last_seq = 0, last_hash = :genesis"), {"genesis": GENESIS})


class LedgerMachine(RuleBasedStateMachine):
    engine = None  # set by the test: one database of the engine under test, reset per example

    def __init__(self) -> None:
        super().__init__()
        reset_ledger(self.engine)
        self.model = Model()
        self.counter = 0

    @initialize()
    def open_accounts(self) -> None:
        def setup(c):
            ids = [L.open_account(c, "bank", owner_type="SYSTEM", owner_ref="bank", allow_overdraw=True)]
            ids += [L.open_account(c, f"u{i}", owner_type="USER", owner_ref=f"u{i}") for i in range(USERS)]
            return ids

        self.accounts = run_in_transaction(self.engine, setup)
        self.bank = self.accounts[0]
        for i, acc in enumerate(self.accounts):
            self.model.overdraw[acc] = i == 0
            self.model.balance[acc] = 0
            self.model.frozen[acc] = 0

    def teardown(self) -> None:
        if hasattr(self, "accounts"):
            assert audit(self.engine) == []

    # ---------------------------------------------------------------- generating operations

    def new_key(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def draw_op(self, data, batch_freezes: list[str]):
        model = self.model
        users = self.accounts[1:]
        freeze_keys = sorted(model.freezes) + batch_freezes
        live = [k for k in sorted(model.freezes) if model.freezes[k].remaining > 0] + batch_freezes
        pick_freeze = st.sampled_from(live) if live and data.draw(st.integers(0, 3)) else st.sampled_from(freeze_keys)
        amount = st.integers(1, 3_000)
        kinds = ["recharge", "recharge", "transfer", "transfer", "hold", "hold"]
        if freeze_keys:
            kinds += ["consume", "consume", "release_part", "release_all"]
        if model.transfers:
            kinds += ["replay_transfer"]
        if model.freezes:
            kinds += ["replay_hold"]
        if model.releases:
            kinds += ["replay_release"]
        kinds += ["mistake"]
        kind = data.draw(st.sampled_from(kinds), label="kind")
        maybe_key = data.draw(st.booleans(), label="keyed")
        if kind == "recharge":
            return Transfer(self.bank, data.draw(st.sampled_from(users)), data.draw(st.integers(1, 10_000)),
                            "RECHARGE", "r", key=self.new_key("t") if maybe_key else None)
        if kind == "transfer":
            debit, credit = data.draw(st.permutations(self.accounts).map(lambda p: p[:2]), label="sides")
            return Transfer(debit, credit, data.draw(amount), "T", "t", key=self.new_key("t") if maybe_key else None)
        if kind == "hold":
            key = self.new_key("f")
            batch_freezes.append(key)
            return Hold(data.draw(st.sampled_from(users)), data.draw(st.integers(1, 1_500)), key, "bid")
        if kind == "consume":
            fkey = data.draw(pick_freeze, label="freeze")
            frz = model.freezes.get(fkey)
            debit = frz.account if frz is not None else data.draw(st.sampled_from(users))
            full = frz.remaining if frz is not None and frz.remaining > 0 else 1
            credit = data.draw(st.sampled_from([a for a in self.accounts if a != debit]))
            value = data.draw(st.one_of(st.just(full), st.integers(1, 3_000)), label="amount")
            return Transfer(debit, credit, value, "TENDER", "c", key=self.new_key("t") if maybe_key else None,
                            freeze_key=fkey)
        if kind in ("release_part", "release_all"):
            fkey = data.draw(pick_freeze, label="freeze")
            frz = model.freezes.get(fkey)
            within = st.integers(1, frz.remaining) if frz is not None and frz.remaining > 0 else amount
            value = None if kind == "release_all" else data.draw(st.one_of(within, amount), label="amount")
            return Release(fkey, value, key=self.new_key("r") if maybe_key else None)
        if kind == "replay_transfer":
            key = data.draw(st.sampled_from(sorted(model.transfers)), label="key")
            debit, credit, value, _ = model.transfers[key]
            if data.draw(st.booleans(), label="altered"):
                value += 1
            return Transfer(debit, credit, value, "T", "again", key=key)
        if kind == "replay_hold":
            key = data.draw(st.sampled_from(sorted(model.freezes)), label="key")
            frz = model.freezes[key]
            altered = data.draw(st.booleans(), label="altered")
            return Hold(frz.account, frz.amount + (1 if altered else 0), key, "bid")
        if kind == "replay_release":
            key = data.draw(st.sampled_from(sorted(model.releases)), label="key")
            fkey, asked, _ = model.releases[key]
            if data.draw(st.booleans(), label="altered"):
                asked = 1 if asked is None else None
            return Release(fkey, asked, key=key)
        # mistakes: each must come back as its typed error and change nothing
        mistake = data.draw(st.sampled_from(["same", "zero", "negative", "huge", "account", "freeze", "foreign"]))
        user = data.draw(st.sampled_from(users))
        if mistake == "same":
            return Transfer(user, user, 1, "T", "x")
        if mistake == "zero":
            return Transfer(self.bank, user, 0, "T", "x")
        if mistake == "negative":
            return Hold(user, -5, self.new_key("f"), "x")
        if mistake == "huge":
            return Transfer(self.bank, user, MAX_FEN + 1, "T", "x")
        if mistake == "account":
            return Transfer(self.bank, MISSING_ACCOUNT, 1, "T", "x")
        if mistake == "freeze":
            return Release("no-such-freeze", None, key=self.new_key("r"))
        foreign = [k for k, f in model.freezes.items() if f.account != user]
        return Transfer(user, self.bank, 1, "T", "x", freeze_key=foreign[0] if foreign else "no-such-freeze")

    # ---------------------------------------------------------------- the rule

    @rule(data=st.data(), atomic=st.booleans(), size=st.integers(1, 6))
    def batch(self, data, atomic: bool, size: int) -> None:
        batch_freezes: list[str] = []
        ops = [self.draw_op(data, batch_freezes) for _ in range(size)]
        expected = self.model.copy()
        batch_keys: set[str] = set()
        outcomes: list[dict | type[LedgerError]] = []
        for op in ops:
            try:
                outcomes.append(expected.run(op, batch_keys))
            except Refused as refused:
                outcomes.append(refused.error)
        refusals = [i for i, o in enumerate(outcomes) if not isinstance(o, dict)]
        if atomic and refusals:
            with pytest.raises(LedgerError) as info:
                run_in_transaction(self.engine, lambda c: L.apply(c, ops, atomic=True))
            assert type(info.value) is outcomes[refusals[0]], (ops, info.value)
            assert info.value.index == refusals[0]
            return  # the model stays as it was
        results = run_in_transaction(self.engine, lambda c: L.apply(c, ops, atomic=atomic))
        assert len(results) == len(ops)
        for op, want, got in zip(ops, outcomes, results, strict=True):
            if not isinstance(want, dict):
                assert not got.ok and type(got.error) is want, (op, got)
                continue
            assert got.ok, (op, got.error)
            for name, value in want.items():
                assert getattr(got, name) == value, (op, name, got)
            if isinstance(op, Hold):
                frz = expected.freezes[op.key]
                if frz.id is None:
                    frz.id = got.freeze_id
                assert got.freeze_id == frz.id and got.freeze_id is not None
            if isinstance(op, Release):
                assert got.freeze_id is not None
                frz = expected.freezes[op.freeze_key]
                if frz.id is None:
                    frz.id = got.freeze_id
                assert got.freeze_id == frz.id
        self.model = expected

    @rule(data=st.data(), sizes=st.lists(st.integers(1, 3), min_size=1, max_size=3))
    def groups(self, data, sizes: list[int]) -> None:
        """`apply_groups`: each group all-or-nothing; a refused group leaves no trace (keys included)."""
        batch_freezes: list[str] = []
        groups = [[self.draw_op(data, batch_freezes) for _ in range(n)] for n in sizes]
        expected, batch_keys = self.model.copy(), set()
        verdicts: list[tuple[int, type[LedgerError]] | None] = []
        for ops in groups:
            trial, keys, refused = expected.copy(), set(batch_keys), None
            for i, op in enumerate(ops):
                try:
                    trial.run(op, keys)
                except Refused as err:
                    refused = (i, err.error)
                    break
            if refused is None:
                expected, batch_keys = trial, keys
            verdicts.append(refused)
        results = run_in_transaction(self.engine, lambda c: L.apply_groups(c, groups))
        for ops, want, got in zip(groups, verdicts, results, strict=True):
            if want is not None:
                assert not got.ok and type(got.error) is want[1] and got.error.index == want[0], (ops, got)
                continue
            assert got.ok, (ops, got.error)
            for op, res in zip(ops, got.results, strict=True):
                if isinstance(op, Hold | Release):
                    frz = expected.freezes[op.key if isinstance(op, Hold) else op.freeze_key]
                    if frz.id is None:
                        frz.id = res.freeze_id
                    assert res.freeze_id == frz.id and res.freeze_id is not None
        self.model = expected

    # ---------------------------------------------------------------- after every step

    @invariant()
    def ledger_matches_model(self) -> None:
        if not hasattr(self, "accounts"):
            return
        with self.engine.connect() as c:
            accounts = {int(i): (int(b), int(f)) for i, b, f in
                        c.exec_driver_sql("SELECT id, balance_fen, frozen_fen FROM accounts")}
            freezes = {k: (int(a), int(m), int(u), int(r)) for k, a, m, u, r in c.exec_driver_sql(
                "SELECT key, account_id, amount_fen, consumed_fen, released_fen FROM freezes")}
            postings = c.exec_driver_sql("SELECT COUNT(*) FROM postings").scalar()
        m = self.model
        assert accounts == {a: (m.balance[a], m.frozen[a]) for a in self.accounts}
        assert freezes == {k: (f.account, f.amount, f.consumed, f.released) for k, f in m.freezes.items()}
        assert postings == m.seq
        assert sum(b for b, _ in accounts.values()) == 0
        for acc, (balance, frozen) in accounts.items():
            assert 0 <= frozen and (m.overdraw[acc] or frozen <= balance)


def test_random_operation_sequences_match_the_model(engine):
    LedgerMachine.engine = engine
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]),
    )
