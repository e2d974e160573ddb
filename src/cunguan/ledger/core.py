"""The planner: applies a batch of operations to in-memory account and freeze states.

Storage loads (and locks) what a batch touches into a `Book`, `plan()` decides every operation and
mutates only the book, and storage writes the result: each touched account once, however many times
the batch touched it. Every check runs before any mutation, so a refused operation leaves the book as
it was, which is what makes "item by item, a failed item leaves no trace" hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from cunguan.ledger.errors import (
    BadAmount,
    BatchTooLarge,
    CurrencyMismatch,
    DuplicateKey,
    FreezeAccountMismatch,
    InsufficientAvailable,
    InsufficientFrozen,
    LedgerError,
    SameAccount,
    UnknownAccount,
    UnknownFreeze,
)
from cunguan.ledger.ops import Hold, Op, OpResult, Release, Transfer
from cunguan.money import MAX_FEN

MAX_BATCH_OPS = 10_000
"""A batch's size limit: bounds a transaction's lock time and memory."""


@dataclass(slots=True)
class AccountState:
    id: int
    currency: str
    allow_overdraw: bool
    balance_fen: int
    frozen_fen: int
    balance_delta: int = 0
    frozen_delta: int = 0

    @property
    def available_fen(self) -> int:
        return self.balance_fen - self.frozen_fen


@dataclass(slots=True)
class FreezeState:
    key: str
    account_id: int
    amount_fen: int
    consumed_fen: int
    released_fen: int
    ref: str
    id: int | None = None
    is_new: bool = False
    dirty: bool = False

    @property
    def remaining_fen(self) -> int:
        return self.amount_fen - self.consumed_fen - self.released_fen

    @property
    def status(self) -> str:
        return "FREEZED" if self.remaining_fen > 0 else "UNFREEZED"


@dataclass(frozen=True, slots=True)
class StoredPosting:
    """What a replay check needs of a posting already written under a key."""

    seq: int
    debit: int
    credit: int
    amount_fen: int
    freeze_id: int | None


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    fingerprint: str
    outcome: str


class PendingPosting(NamedTuple):
    """A posting the planner decided; storage stamps its seq, time and hash. A tuple, so the hot path
    builds it with one C call (`_pending`) and storage reads it column by column with `zip(*postings)`."""

    debit: int
    credit: int
    amount_fen: int
    currency: str
    biz_type: str
    ref: str
    key: str | None
    freeze: FreezeState | None
    debit_balance_after: int
    credit_balance_after: int
    result: OpResult


_pending = tuple.__new__
"""`_pending(PendingPosting, fields)`: a PendingPosting without NamedTuple's Python-level __new__."""


@dataclass(slots=True)
class Book:
    accounts: dict[int, AccountState]
    freezes: dict[str, FreezeState]
    stored_postings: dict[str, StoredPosting] = field(default_factory=dict)
    stored_outcomes: dict[str, StoredOutcome] = field(default_factory=dict)


@dataclass(slots=True)
class Plan:
    results: list[OpResult]
    postings: list[PendingPosting]
    new_freezes: list[FreezeState]
    changed_freezes: list[FreezeState]
    touched_accounts: list[AccountState]
    new_outcomes: list[tuple[str, str, OpResult]]  # (key, fingerprint, result)


def release_fingerprint(op: Release) -> str:
    return f"R|{op.freeze_key}|{op.amount_fen}"


def check_amount(amount_fen: object) -> int:
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool):
        raise BadAmount(f"amount must be an integer number of fen, got {type(amount_fen).__name__}")
    if amount_fen <= 0:
        raise BadAmount(f"amount must be positive, got {amount_fen}")
    if amount_fen > MAX_FEN:
        raise BadAmount(f"amount {amount_fen} does not fit a signed 64-bit fen value")
    return amount_fen


class _Planner:
    def __init__(self, book: Book) -> None:
        self.book = book
        self.postings: list[PendingPosting] = []
        self.new_freezes: list[FreezeState] = []
        self.changed: dict[str, FreezeState] = {}
        self.touched: dict[int, AccountState] = {}
        self.new_outcomes: list[tuple[str, str, OpResult]] = []
        self.keys_in_batch: set[str] = set()

    def account(self, account_id: int) -> AccountState:
        acc = self.book.accounts.get(account_id)
        if acc is None:
            raise UnknownAccount(f"account {account_id} does not exist")
        return acc

    def claim_key(self, key: str) -> None:
        if key in self.keys_in_batch:
            raise DuplicateKey(f"key {key!r} appears twice in one batch")

    def touch(self, acc: AccountState, balance_delta: int, frozen_delta: int) -> None:
        acc.balance_fen += balance_delta
        acc.frozen_fen += frozen_delta
        acc.balance_delta += balance_delta
        acc.frozen_delta += frozen_delta
        self.touched[acc.id] = acc

    def transfer(self, op: Transfer) -> OpResult:
        # The hot path of every batch: the helpers (check_amount, claim_key, account, touch) are inlined
        # where the common case allows; the checks and their order are those of the helpers.
        amount = op.amount_fen
        if type(amount) is not int or not 0 < amount <= MAX_FEN:
            amount = check_amount(amount)
        if op.debit == op.credit:
            raise SameAccount(f"account {op.debit} is on both sides")
        key = op.key
        if key is not None:
            if key in self.keys_in_batch:
                raise DuplicateKey(f"key {key!r} appears twice in one batch")
            stored = self.book.stored_postings.get(key)
            if stored is not None:
                if (stored.debit, stored.credit, stored.amount_fen) != (op.debit, op.credit, amount):
                    raise DuplicateKey(f"key {key!r} was used for a different transfer")
                self.keys_in_batch.add(key)
                return OpResult(ok=True, posting_seq=stored.seq, amount_fen=amount, replayed=True)
        accounts = self.book.accounts
        debit = accounts.get(op.debit)
        if debit is None:
            raise UnknownAccount(f"account {op.debit} does not exist")
        credit = accounts.get(op.credit)
        if credit is None:
            raise UnknownAccount(f"account {op.credit} does not exist")
        if debit.currency != credit.currency or (op.currency is not None and op.currency != debit.currency):
            raise CurrencyMismatch(
                f"transfer in {op.currency or debit.currency} between {debit.currency} account {debit.id} "
                f"and {credit.currency} account {credit.id}"
            )
        if credit.balance_fen + amount > MAX_FEN:
            raise BadAmount(f"account {credit.id} balance would exceed a signed 64-bit fen value")
        if debit.balance_fen - amount < -MAX_FEN - 1:
            raise BadAmount(f"account {debit.id} balance would fall below a signed 64-bit fen value")
        freeze = None
        if op.freeze_key is not None:
            freeze = self.freeze(op.freeze_key)
            if freeze.account_id != debit.id:
                raise FreezeAccountMismatch(f"freeze {op.freeze_key!r} is not on account {debit.id}")
            if freeze.remaining_fen < amount:
                raise InsufficientFrozen(
                    f"freeze {op.freeze_key!r} has {freeze.remaining_fen} fen left, {amount} needed"
                )
        elif not debit.allow_overdraw and debit.balance_fen - debit.frozen_fen < amount:
            raise InsufficientAvailable(
                f"account {debit.id} has {debit.available_fen} fen available, {amount} needed"
            )
        # -- every check passed: mutate --
        if key is not None:
            self.keys_in_batch.add(key)
        if freeze is not None:
            freeze.consumed_fen += amount
            self.mark_changed(freeze)
            self.touch(debit, -amount, -amount)
        else:
            debit.balance_fen -= amount
            debit.balance_delta -= amount
            self.touched[debit.id] = debit
        credit.balance_fen += amount
        credit.balance_delta += amount
        self.touched[credit.id] = credit
        result = OpResult(True, None, None, None, amount)  # ok, amount_fen (positional: half the cost of keywords)
        self.postings.append(_pending(PendingPosting, (
            debit.id, credit.id, amount, debit.currency, op.biz_type, op.ref, key, freeze,
            debit.balance_fen, credit.balance_fen, result,
        )))
        return result

    def freeze(self, key: str) -> FreezeState:
        freeze = self.book.freezes.get(key)
        if freeze is None:
            raise UnknownFreeze(f"freeze {key!r} does not exist")
        return freeze

    def mark_changed(self, freeze: FreezeState) -> None:
        if not freeze.is_new:
            freeze.dirty = True
            self.changed[freeze.key] = freeze

    def hold(self, op: Hold) -> OpResult:
        amount = check_amount(op.amount_fen)
        self.claim_key(op.key)
        existing = self.book.freezes.get(op.key)
        if existing is not None:
            if existing.is_new or (existing.account_id, existing.amount_fen) != (op.account, amount):
                raise DuplicateKey(f"freeze key {op.key!r} was used for a different hold")
            self.keys_in_batch.add(op.key)
            return OpResult(ok=True, freeze_id=existing.id, freeze_key=op.key, amount_fen=amount, replayed=True)
        acc = self.account(op.account)
        if acc.available_fen < amount:
            raise InsufficientAvailable(f"account {acc.id} has {acc.available_fen} fen available, {amount} needed")
        self.keys_in_batch.add(op.key)
        freeze = FreezeState(op.key, acc.id, amount, 0, 0, op.ref, is_new=True)
        self.book.freezes[op.key] = freeze
        self.new_freezes.append(freeze)
        self.touch(acc, 0, amount)
        return OpResult(ok=True, freeze_key=op.key, amount_fen=amount)

    def release(self, op: Release) -> OpResult:
        fingerprint = release_fingerprint(op)
        if op.key is not None:
            self.claim_key(op.key)
            stored = self.book.stored_outcomes.get(op.key)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    raise DuplicateKey(f"key {op.key!r} was used for a different release")
                self.keys_in_batch.add(op.key)
                released = self.freeze(op.freeze_key)  # the original outcome names its freeze too
                return OpResult(ok=True, freeze_id=released.id, freeze_key=op.freeze_key,
                                amount_fen=int(stored.outcome), replayed=True)
        freeze = self.freeze(op.freeze_key)
        amount = freeze.remaining_fen if op.amount_fen is None else check_amount(op.amount_fen)
        if amount <= 0 or freeze.remaining_fen < amount:
            raise InsufficientFrozen(f"freeze {op.freeze_key!r} has {freeze.remaining_fen} fen left, {amount} asked")
        acc = self.account(freeze.account_id)
        if op.key is not None:
            self.keys_in_batch.add(op.key)
        freeze.released_fen += amount
        self.mark_changed(freeze)
        self.touch(acc, 0, -amount)
        result = OpResult(ok=True, freeze_id=freeze.id, freeze_key=op.freeze_key, amount_fen=amount)
        if op.key is not None:
            self.new_outcomes.append((op.key, fingerprint, result))
        return result

    def run(self, op: Op) -> OpResult:
        if isinstance(op, Transfer):
            return self.transfer(op)
        if isinstance(op, Hold):
            return self.hold(op)
        if isinstance(op, Release):
            return self.release(op)
        raise TypeError(f"not a ledger operation: {op!r}")


def plan(book: Book, ops: list[Op], *, atomic: bool) -> Plan:
    """Decide every operation against the book. Atomic: the first refusal raises (nothing to write).
    Item by item: a refusal becomes that item's result and the rest go on."""
    if len(ops) > MAX_BATCH_OPS:
        raise BatchTooLarge(f"a batch holds at most {MAX_BATCH_OPS} operations, got {len(ops)}")
    planner = _Planner(book)
    results: list[OpResult] = []
    for index, op in enumerate(ops):
        try:
            results.append(planner.run(op))
        except LedgerError as err:
            if atomic:
                raise err.at(index) from None
            results.append(OpResult(ok=False, error=err.at(index).with_traceback(None)))  # see plan_groups
    touched = list(planner.touched.values())
    for acc in touched:
        assert acc.frozen_fen >= 0, f"account {acc.id}: negative frozen amount"
        assert acc.allow_overdraw or acc.frozen_fen <= acc.balance_fen, f"account {acc.id}: frozen above balance"
    for frz in planner.new_freezes + list(planner.changed.values()):
        assert 0 <= frz.remaining_fen <= frz.amount_fen, f"freeze {frz.key}: remaining out of range"
    return Plan(results, planner.postings, planner.new_freezes, list(planner.changed.values()), touched,
                planner.new_outcomes)


# ---------------------------------------------------------------- groups (all-or-nothing sub-batches)


@dataclass(slots=True)
class GroupResult:
    """The outcome of one group of `plan_groups`: every operation's result, or the refusal (its `.index`
    is the operation's position inside the group) and nothing of the group in the plan."""

    ok: bool
    results: list[OpResult]
    error: LedgerError | None = None


def _group_undo(planner: _Planner, ops: list[Op]):
    """What a group may change, captured before it runs, and the function that puts it back.

    The group's accounts and freezes are named by its operations (a Release's account through its
    freeze), so their fields are copied; the planner's lists only grow, so their lengths suffice."""
    book = planner.book
    accounts: dict[int, AccountState] = {}
    freezes: dict[str, FreezeState | None] = {}
    for op in ops:
        if isinstance(op, Transfer):
            for acc_id in (op.debit, op.credit):
                acc = book.accounts.get(acc_id)
                if acc is not None:
                    accounts[acc_id] = acc
            if op.freeze_key is not None:
                freezes[op.freeze_key] = book.freezes.get(op.freeze_key)
        elif isinstance(op, Hold):
            acc = book.accounts.get(op.account)
            if acc is not None:
                accounts[op.account] = acc
            freezes[op.key] = book.freezes.get(op.key)
        elif isinstance(op, Release):
            frz = book.freezes.get(op.freeze_key)
            freezes[op.freeze_key] = frz
            if frz is not None and frz.account_id in book.accounts:
                accounts[frz.account_id] = book.accounts[frz.account_id]
    saved_accounts = [(a, a.balance_fen, a.frozen_fen, a.balance_delta, a.frozen_delta, a.id in planner.touched)
                      for a in accounts.values()]
    saved_freezes = [(key, f, None if f is None else (f.consumed_fen, f.released_fen, f.dirty, key in planner.changed))
                     for key, f in freezes.items()]
    lengths = (len(planner.postings), len(planner.new_freezes), len(planner.new_outcomes))
    keys_before = set(planner.keys_in_batch) if any(
        getattr(op, "key", None) is not None for op in ops) else None

    def undo() -> None:
        for acc, balance, frozen, d_balance, d_frozen, was_touched in saved_accounts:
            acc.balance_fen, acc.frozen_fen, acc.balance_delta, acc.frozen_delta = balance, frozen, d_balance, d_frozen
            if not was_touched:
                planner.touched.pop(acc.id, None)
        for key, frz, fields in saved_freezes:
            if frz is None:
                book.freezes.pop(key, None)  # a hold of this group created it
            else:
                frz.consumed_fen, frz.released_fen, frz.dirty, was_changed = fields
                if not was_changed:
                    planner.changed.pop(key, None)
        del planner.postings[lengths[0]:]
        del planner.new_freezes[lengths[1]:]
        del planner.new_outcomes[lengths[2]:]
        if keys_before is not None:
            planner.keys_in_batch.intersection_update(keys_before)

    return undo


def plan_groups(book: Book, groups: list[list[Op]], *,
                stop_at_refusal: bool = False) -> tuple[Plan, list[GroupResult | None]]:
    """Decide groups of operations in order, each all-or-nothing: a refused group leaves no trace in the
    plan or the book (its account, freeze and key changes are undone) and the next groups see the book
    as if it had never been asked. The plan holds the accepted groups' postings; `Plan.results` lists
    their results group after group. At most MAX_BATCH_OPS operations in all.

    `stop_at_refusal`: for a caller that writes nothing when any group is refused (it plans again
    without that group): no undo is prepared, the first refusal ends the planning, and the groups
    after it are not decided (None). The plan and the book are then not to be written or reused.
    Preparing the undo cost ~10 % of a trade batch's CPU, for refusals the trade rules almost always
    catch before the ledger."""
    total = sum(len(g) for g in groups)
    if total > MAX_BATCH_OPS:
        raise BatchTooLarge(f"a batch holds at most {MAX_BATCH_OPS} operations, got {total}")
    planner = _Planner(book)
    out: list[GroupResult | None] = []
    accepted: list[OpResult] = []
    for position, ops in enumerate(groups):
        undo = None if stop_at_refusal else _group_undo(planner, ops)
        results: list[OpResult] = []
        try:
            for index, op in enumerate(ops):
                try:
                    results.append(planner.run(op))
                except LedgerError as err:
                    raise err.at(index) from None
        except LedgerError as err:
            # kept without its traceback: that holds this frame, which holds `out` (a cycle that kept the
            # caller's whole batch alive until the garbage collector ran)
            out.append(GroupResult(False, [], err.with_traceback(None)))
            if undo is None:
                out.extend([None] * (len(groups) - position - 1))
                return Plan(accepted, planner.postings, planner.new_freezes, list(planner.changed.values()),
                            list(planner.touched.values()), planner.new_outcomes), out
            undo()
            continue
        accepted.extend(results)
        out.append(GroupResult(True, results))
    touched = list(planner.touched.values())
    for acc in touched:
        assert acc.frozen_fen >= 0, f"account {acc.id}: negative frozen amount"
        assert acc.allow_overdraw or acc.frozen_fen <= acc.balance_fen, f"account {acc.id}: frozen above balance"
    for frz in planner.new_freezes + list(planner.changed.values()):
        assert 0 <= frz.remaining_fen <= frz.amount_fen, f"freeze {frz.key}: remaining out of range"
    return Plan(accepted, planner.postings, planner.new_freezes, list(planner.changed.values()), touched,
                planner.new_outcomes), out
