"""Group commit for concurrent requests of one kind: the requests that meet here are applied by ONE
transaction of a batched executor, and each caller gets its own outcome back.

Why: on PostgreSQL a single request's cost is the statements it sends (~55 µs of client CPU each in
psycopg, plus SQLAlchemy and the server's share), not the work in them: a SYNC_TRANSACTION sends
about fifteen, a bid about ten. The batched executors (`custody.trade_batch`, `custody.bid_batch`)
apply many with about a dozen statements in all. Measured on the sync benchmark's world, business
CPU per request, without HTTP, signing and authentication: a one-detail trade 1.85 ms alone, 0.64 ms
in batches of 4, 0.48 ms in batches of 8 (0.4 ms MORE than alone in a batch of one — so a lone
request takes the single path); a bid 1.1 ms alone, 0.60 ms in batches of 4, 0.32 ms in batches of 8.
`cunguan bench sync` on PostgreSQL (one worker, 32 service threads): 292 requests/s before, 607/s
with both services combined.

How (leader and followers, as in a database's own group commit): a caller queues its item; if no
batch is running it leads — it takes everything queued (up to `max_items`), runs it, hands each
caller its outcome, and passes the lead to the first caller that queued meanwhile, if any. So a batch
forms exactly while the previous one runs, nobody waits for a timer, and at low load every request
runs alone as before. A caller's thread is busy until its own outcome is there, never longer.

Failures: the batch is one `run_in_transaction` (lock conflicts and deadlocks retry the whole batch).
Any other error of the batch as a whole — a bug, a lost connection — is not allowed to decide the
other callers' fate: each item then runs alone on the single path, as if no batch had formed. An
item's own refusal is its outcome (the executor returns it as an exception; it is raised to that
caller only). Nothing is answered before the commit returned.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.engine import Connection, Engine

from cunguan.db.tx import run_in_transaction

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

logger = logging.getLogger(__name__)

MAX_ITEMS = 64
"""Items per batch: bounds a batch's transaction (its locks and its latency)."""


_PENDING = object()


class _Slot(Generic[Item, Outcome]):
    __slots__ = ("item", "outcome", "ready", "leads")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.outcome: Outcome | BaseException | object = _PENDING
        self.ready = threading.Event()
        self.leads = False


class GroupCommit(Generic[Item, Outcome]):
    """See the module docstring. `run_one(item)`: the single path, in a transaction of its own;
    `run_batch(conn, items)`: one outcome (a value, or the refusal as an exception) per item, in order,
    inside the given transaction."""

    def __init__(self, engine: Engine, run_one: Callable[[Item], Outcome],
                 run_batch: Callable[[Connection, Sequence[Item]], Sequence[Outcome | BaseException]], *,
                 max_items: int = MAX_ITEMS) -> None:
        assert max_items >= 2
        self._engine = weakref.ref(engine)  # held weakly: a registry keyed by the engine must not keep it alive
        self.run_one, self.run_batch, self.max_items = run_one, run_batch, max_items
        self._lock = threading.Lock()
        self._queue: list[_Slot[Item, Outcome]] = []
        self._busy = False
        self.batches = 0
        """Batches of two or more run so far (tests and benchmarks read it)."""

    def queued(self) -> int:
        """Callers waiting for the next batch (tests and benchmarks read it)."""
        with self._lock:
            return len(self._queue)

    def submit(self, item: Item) -> Outcome:
        """The item's outcome; its refusal is raised."""
        slot: _Slot[Item, Outcome] = _Slot(item)
        with self._lock:
            self._queue.append(slot)
            slot.leads = not self._busy
            self._busy = True
        if not slot.leads:
            slot.ready.wait()
        if slot.leads:  # first in, or handed the lead: our own item is at the head of the queue
            self._lead()
        outcome = slot.outcome
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome  # type: ignore[return-value]

    def submit_all(self, items: Sequence[Item]) -> list[Outcome | BaseException]:
        """The outcomes of items that arrive together (an event-loop batch of requests), in order,
        each refusal as its exception: they queue as one run, so they meet in a batch of their own or
        join the one forming behind a running batch. The lead passes in queue order, so a run split
        by `max_items` is led on, slot by slot, by this same caller."""
        slots: list[_Slot[Item, Outcome]] = [_Slot(item) for item in items]
        with self._lock:
            self._queue.extend(slots)
            slots[0].leads = not self._busy
            self._busy = True
        for slot in slots:
            if not slot.leads:
                slot.ready.wait()
            if slot.leads and slot.outcome is _PENDING:
                self._lead()
        return [slot.outcome for slot in slots]  # type: ignore[misc]

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue[:self.max_items], self._queue[self.max_items:]
        try:
            self._run(batch)
        finally:
            with self._lock:
                following = self._queue[0] if self._queue else None
                self._busy = following is not None
            for slot in batch:
                if slot.outcome is _PENDING:  # _run itself failed (e.g. interrupted): never leave a caller waiting
                    slot.outcome = RuntimeError("the group commit did not finish")
                slot.ready.set()
            if following is not None:
                following.leads = True
                following.ready.set()

    def _run(self, batch: list[_Slot[Item, Outcome]]) -> None:
        if len(batch) > 1:
            try:
                engine = self._engine()
                assert engine is not None, "the engine of a group commit in use"
                outcomes = run_in_transaction(engine, lambda conn: self.run_batch(conn, [s.item for s in batch]))
            except Exception:  # noqa: BLE001 - the batch as a whole failed: each item alone decides its own fate
                logger.exception("a group commit of %d items failed; each runs alone", len(batch))
                outcomes = None
            else:
                assert len(outcomes) == len(batch), "one outcome per item"
                self.batches += 1
            if outcomes is not None:
                for slot, outcome in zip(batch, outcomes, strict=True):
                    slot.outcome = outcome
                return
        for slot in batch:
            try:
                slot.outcome = self.run_one(slot.item)
            except Exception as exc:  # noqa: BLE001 - handed to its caller
                slot.outcome = exc
