"""The ASYNC_TRANSACTION runner: executes accepted details in chunks and queues each batch's NOTIFY.

One chunk = one transaction (`run_chunk`):
1. claim up to `chunk_size` PENDING details of one platform, oldest first. SQLite: the transaction
   began IMMEDIATE, so the claim already holds the single write lock. PostgreSQL: the runner first
   takes the platform's transaction-scoped advisory lock (`pg_try_advisory_xact_lock`, skipping
   platforms another runner holds), and only then reads the platform's pending details. So concurrent
   runners, threads or processes, never share a detail, and one platform's chunks run one at a time: a
   platform's trades share accounts (borrowers, system accounts), and two chunks locking them in
   detail order deadlock over and over (measured: 4 runners on 12 accounts exhausted the retries).
   Runners work in parallel across platforms — the unit the data shards by (DESIGN "Storage");
2. hand them, grouped by batch, to the chunk executor, which returns one `DetailOutcome` each;
3. write every detail's status, error and time with one multi-row UPDATE;
4. add the chunk's count to each touched batch (`done_count`, under the batch row's lock, in batch-id
   order); the chunk that brings a batch to `detail_count` marks it DONE and queues its NOTIFY
   (`notify.outbox.enqueue`) — still in the same transaction.
The background threads size each chunk to take about `TARGET_CHUNK_S` (at most `chunk_size`) —
`UNCONTENDED_CHUNK_S` after a chunk that no other writer waited for — and, on SQLite, step aside while an acceptance of this process waits for the write lock, so the platform's SUCCESS is never
stuck behind a long chunk. So a crash loses at most the chunk in flight, which rolls back entirely (ledger postings, requestNo
claims, statuses) and is claimed again after restart; nothing in memory is needed to resume, and no
detail is executed twice: its status leaves PENDING in the very transaction that applies it.

The executor is a parameter. `execute_chunk` (the default) is the batched trade executor
(`cunguan.custody.trade_batch`): the whole run of one batch's details in a constant number of SQL
statements, each detail all-or-nothing, with the rules and results of `trades.execute`; the batch's
batchNo reaches it through `CURRENT_BATCH_NO` (a context variable, so that executors keep the plain
`(conn, clock, platform_no, items)` signature) and is written on the trade rows.
`execute_chunk_per_detail` is the former default — `trades.execute` per detail, each in its own
SAVEPOINT — kept as the reference the batched executor is tested against. A detail's outcome:
- the trade executor returns → SUCCESS;
- it raises a typed refusal (`.code` six digits, `.message`) → FAIL with that code and message;
- it raises a database conflict (lock, deadlock, serialization) → the whole chunk is retried;
- an untranslated ledger refusal or amount error → FAIL 100014 / 100008 / 100002;
- anything else (a bug) → FAIL 100001 with a correlation id, logged with its traceback, so one
  poisoned detail cannot stall every batch behind it.

The NOTIFY (respData, one per batch, never split: see `custody.async_batches`): `code "0"`,
`status "SUCCESS"`, `batchNo`, `details[]` in bizDetails order, each `asyncRequestNo`, `bizType`
(= that detail's tradeType), `bizOrigin "DISPERSION"`, `createTime` (acceptance), `transactionTime`
(execution), `status` SUCCESS/FAIL, and on FAIL `errorCode` + `errorMessage`.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import gc
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Integer, bindparam, case, func, literal, literal_column, select, update
from sqlalchemy.engine import Connection, Engine

from cunguan.clock import UTC, Clock
from cunguan.custody import platforms
from cunguan.custody.async_batches import (
    ACCEPT_GATE,
    DONE,
    FAIL,
    PENDING,
    PROCESSING,
    SERVICE_NAME,
    SUCCESS,
    now_us,
    stored_trade,
)
from cunguan.custody.errors import BAD_JSON, INSUFFICIENT_BALANCE, REFUSED, SYSTEM_ERROR, describe
from cunguan.db.bulk import update_rows
from cunguan.db.engine import writers_waiting
from cunguan.db.prepared import Prepared
from cunguan.db.tables.custody_async import custody_async_batches, custody_async_details
from cunguan.db.tx import is_retryable, run_in_transaction
from cunguan.ledger.errors import LedgerError
from cunguan.money import AmountError
from cunguan.notify import outbox

log = logging.getLogger("cunguan.async")

DEFAULT_CHUNK = 1_000
"""Details per chunk of `run_chunk` / `run_until_idle` (the CLI), which size nothing by time."""
MAX_CHUNK = 5_000
"""The most details per chunk, and the background runner's default cap (`CUNGUAN_ASYNC_CHUNK`): its
chunks are sized by time (`next_chunk_size`)."""
MAX_THREADS = 8
MAX_ERROR_MESSAGE = 200
ACCEPT_PRIORITY_MAX_WAIT_S = 2.0
"""How long a runner thread steps aside for acceptances in flight before taking its next chunk."""
BIZ_ORIGIN = "DISPERSION"
_VENDOR_CODE = re.compile(r"1000[0-9]{2}")


@dataclass(frozen=True, slots=True)
class DetailOutcome:
    ok: bool
    error_code: str | None = None
    error_message: str | None = None

    @staticmethod
    def success() -> DetailOutcome:
        return _SUCCESS

    @staticmethod
    def failure(code: str, message: str) -> DetailOutcome:
        assert _VENDOR_CODE.fullmatch(code), code
        return DetailOutcome(False, code, (message or describe(code))[:MAX_ERROR_MESSAGE])


_SUCCESS = DetailOutcome(True)
Item = tuple[str, dict[str, Any]]
"""(requestNo, trade): the bizDetail without requestNo."""
ChunkExecutor = Callable[[Connection, Clock, str, list[Item]], list[DetailOutcome]]


def outcome_of_error(exc: BaseException, request_no: str) -> DetailOutcome | None:
    """The detail's FAIL for a refusal or a bug; None for a database conflict (retry the chunk)."""
    if is_retryable(exc):
        return None
    code, message = getattr(exc, "code", None), getattr(exc, "message", None)
    if isinstance(code, str) and _VENDOR_CODE.fullmatch(code) and isinstance(message, str):
        return DetailOutcome.failure(code, message)
    if isinstance(exc, AmountError):  # an amount the executor parsed without wrapping the error
        return DetailOutcome.failure(BAD_JSON, describe(BAD_JSON, str(exc)))
    if isinstance(exc, LedgerError):  # a ledger refusal the executor did not translate
        mapped = INSUFFICIENT_BALANCE if exc.code in ("INSUFFICIENT_AVAILABLE", "INSUFFICIENT_FROZEN") else REFUSED
        return DetailOutcome.failure(mapped, describe(mapped, exc.message))
    cid = uuid.uuid4().hex[:12]
    log.error("async detail %s failed unexpectedly [cid=%s]", request_no, cid, exc_info=exc)
    return DetailOutcome.failure(SYSTEM_ERROR, describe(SYSTEM_ERROR, f"参考号 {cid}"))


def run_items(conn: Connection, items: list[Item],
              execute_one: Callable[[str, dict[str, Any]], object]) -> list[DetailOutcome]:
    """Run `execute_one(request_no, trade)` per item, each in its own SAVEPOINT (shared by executors)."""
    outcomes = []
    for request_no, trade in items:
        try:
            with conn.begin_nested():
                execute_one(request_no, trade)
        except Exception as exc:  # noqa: BLE001 - sorted by outcome_of_error; conflicts re-raised
            outcome = outcome_of_error(exc, request_no)
            if outcome is None:
                raise
            outcomes.append(outcome)
        else:
            outcomes.append(DetailOutcome.success())
    return outcomes


CURRENT_BATCH_NO: contextvars.ContextVar[str | None] = contextvars.ContextVar("cunguan_async_batch_no",
                                                                               default=None)
"""The batchNo of the run of details the runner hands to the executor (set around each call)."""


def execute_chunk_per_detail(conn: Connection, clock: Clock, platform_no: str,
                             items: list[Item]) -> list[DetailOutcome]:
    """The reference executor: `cunguan.custody.trades.execute` per detail, one savepoint each."""
    from cunguan.custody import trades  # lazily: the trade executor is another room's module

    batch_no = CURRENT_BATCH_NO.get()
    return run_items(conn, items, lambda request_no, trade: trades.execute(
        conn, clock, platform_no, request_no, trade, batch_no=batch_no, service_name=SERVICE_NAME))


def execute_chunk(conn: Connection, clock: Clock, platform_no: str, items: list[Item]) -> list[DetailOutcome]:
    """The default chunk executor: the batched trade executor (`custody.trade_batch.execute_trades`)."""
    from cunguan.custody import trade_batch

    results = trade_batch.execute_trades(conn, clock, platform_no, items, batch_no=CURRENT_BATCH_NO.get(),
                                         service_name=SERVICE_NAME)
    outcomes = []
    for (request_no, _trade), result in zip(items, results, strict=True):
        if not isinstance(result, BaseException):
            outcomes.append(DetailOutcome.success())
            continue
        outcome = outcome_of_error(result, request_no)
        if outcome is None:  # pragma: no cover - conflicts are raised by the executor, never returned
            raise result
        outcomes.append(outcome)
    return outcomes


# ---------------------------------------------------------------- one chunk


@dataclass
class ChunkStats:
    details: int = 0
    succeeded: int = 0
    failed: int = 0
    batches_done: list[int] = field(default_factory=list)
    writers_waiting: bool | None = None
    """At the chunk's end, before its commit: whether another transaction waited for this one
    (`db.engine.writers_waiting`; None when the chunk found nothing)."""


ADVISORY_LOCK_CLASS = 0x43475341
"""First key of the runner's PostgreSQL advisory locks ("CGSA"); the second is hashtext(platformNo)."""
PLATFORM_CANDIDATES = 32


def _platform_to_run(conn: Connection) -> str | None:
    """The platform whose details this chunk takes: the one with the oldest unfinished batch that no
    other runner is working on (PostgreSQL: a transaction-scoped advisory lock per platform; SQLite:
    the write lock already makes this transaction the only runner)."""
    candidates = [no for (no,) in _CANDIDATES.execute(conn)]
    if conn.dialect.name != "postgresql":
        return candidates[0] if candidates else None
    for platform_no in candidates:
        if _TRY_PLATFORM_LOCK.first(conn, {"platform_no": platform_no})[0]:
            return platform_no
    return None


CLAIM_BATCHES = 64
"""Unfinished batches a chunk looks at (each claim reads at most this many batch rows)."""


def _claim(conn: Connection, chunk_size: int) -> list[Any]:
    """Up to `chunk_size` PENDING details of one platform: its oldest unfinished batches first, each in
    bizDetails order, read batch by batch through the batch's own index. The executor takes one run
    of a batch at a time: batches accepted concurrently interleave their detail ids (each row takes
    the sequence's next value on PostgreSQL), and in id order a chunk fell into hundreds of runs of a
    few details (3,000 statements a chunk instead of 25). Reading per batch also keeps a claim away
    from the platform's older, settled details.

    No row locks (PostgreSQL): the platform's advisory lock, taken before this read in the same
    transaction, already excludes every other runner of the platform, and the status UPDATE checks
    that each claimed detail is still PENDING. `FOR UPDATE` wrote a lock into every claimed row (one
    WAL record and a dirtied page per detail) only for the UPDATE to rewrite it moments later."""
    platform_no = _platform_to_run(conn)
    if platform_no is None:
        return []
    batches = _UNFINISHED_BATCHES.execute(conn, {"platform_no": platform_no}).fetchall()
    claimed: list[_Claimed] = []
    for batch_id, batch_no in batches:
        claimed.extend(_Claimed(detail_id, batch_id, platform_no, request_no, req_data, batch_no)
                       for detail_id, request_no, req_data in PENDING_OF_BATCH.execute(
                           conn, {"batch_id": batch_id, "limit": chunk_size - len(claimed)}))
        if len(claimed) >= chunk_size:
            break
    return claimed


_b, _d = custody_async_batches.c, custody_async_details.c
_CANDIDATES = Prepared(select(_b.platform_no).where(_b.status == PROCESSING).group_by(_b.platform_no)
                       .order_by(func.min(_b.id)).limit(PLATFORM_CANDIDATES))
_TRY_PLATFORM_LOCK = Prepared(select(func.pg_try_advisory_xact_lock(ADVISORY_LOCK_CLASS,
                                                                    func.hashtext(bindparam("platform_no")))))
_UNFINISHED_BATCHES = Prepared(select(_b.id, _b.batch_no).where(_b.platform_no == bindparam("platform_no"),
                                                                _b.status == PROCESSING)
                               .order_by(_b.id).limit(CLAIM_BATCHES))
PENDING_OF_BATCH = Prepared(select(_d.id, _d.request_no, _d.req_data)
                            .where(_d.batch_id == bindparam("batch_id"), _d.status == PENDING)
                            .order_by(_d.id + literal_column("0")).limit(bindparam("limit", type_=Integer)))
"""A batch's next PENDING details in bizDetails (id) order: read through (batch_id, id) on every plan.
The order is by `id + 0`, which no index yields, so the rows come from the batch's index range and a
sort of at most `MAX_DETAILS_PER_BATCH` rows. Ordered by a plain id (or by batch_id, id: the same
key once batch_id is fixed), PostgreSQL's generic plan — which assumes an unknown LIMIT takes a
tenth of the rows — could walk the whole primary key in order and filter on batch_id, which costs
a claim the table's size (36 ms instead of 0.3 ms in a 100,000-detail run). It did now and then
once the details' pages were left half empty (migration 0018)."""


class _Claimed(NamedTuple):
    id: int
    batch_id: int
    platform_no: str
    request_no: str
    req_data: str
    batch_no: str


def _us_to_wire(us: int, cache: dict[int, str]) -> str:
    """T format (Beijing) of a UTC-microsecond time; one conversion per distinct second of a batch."""
    second = us // 1_000_000
    text = cache.get(second)
    if text is None:
        text = cache[second] = platforms.beijing_timestamp(dt.datetime.fromtimestamp(second, UTC))
    return text


def notify_resp_data(batch_no: str, rows: Iterable[Any]) -> dict[str, Any]:
    """The NOTIFY respData of a finished batch from its detail rows (`DoneDetail`s, in bizDetails order)."""
    details = []
    cache: dict[int, str] = {}
    for row in rows:
        item: dict[str, Any] = {"asyncRequestNo": row.request_no, "bizType": row.trade_type, "bizOrigin": BIZ_ORIGIN,
                                "createTime": _us_to_wire(row.created_us, cache),
                                "transactionTime": _us_to_wire(row.done_us, cache), "status": row.status}
        if row.status == FAIL:
            item["errorCode"] = row.error_code
            item["errorMessage"] = row.error_message
        details.append(item)
    return {"code": "0", "status": "SUCCESS", "batchNo": batch_no, "details": details}


class DoneDetail(NamedTuple):
    """A finished detail as its batch's NOTIFY reports it."""

    request_no: str
    trade_type: str
    created_us: int
    done_us: int
    status: str
    error_code: str | None
    error_message: str | None


_BATCH = Prepared(select(_b.platform_no, _b.batch_no, _b.key_serial).where(_b.id == bindparam("b_id")))
_DONE_DETAILS = Prepared(select(*(_d[name] for name in DoneDetail._fields))
                         .where(_d.batch_id == bindparam("b_id")).order_by(_d.id))
_FINISHED = Prepared(update(custody_async_batches).where(_b.id == bindparam("b_id"))
                     .values(notify_id=bindparam("notify_id"), finished_us=bindparam("now")))


def _finish_batch(conn: Connection, clock: Clock, batch_id: int, now: int) -> int:
    platform_no, batch_no, key_serial = _BATCH.first(conn, {"b_id": batch_id})
    rows = list(map(DoneDetail._make, _DONE_DETAILS.execute(conn, {"b_id": batch_id})))
    assert rows and all(r.status != PENDING for r in rows), f"batch {batch_id} finished with pending details"
    platform = platforms.get_platform(conn, platform_no)
    notify_id = outbox.enqueue(conn, platform_no=platform_no, service_name=SERVICE_NAME,
                               notify_url=platform.notify_url, resp_data=notify_resp_data(batch_no, rows),
                               key_serial=key_serial, clock=clock, biz_ref=batch_no)
    _FINISHED.rowcount(conn, {"b_id": batch_id, "notify_id": notify_id, "now": now})
    return notify_id


_COUNT_DONE = Prepared(update(custody_async_batches).where(_b.id == bindparam("b_id")).values(
    done_count=_b.done_count + bindparam("n"),
    status=case((_b.done_count + bindparam("n") == _b.detail_count, literal(DONE)), else_=literal(PROCESSING)))
    .returning(_b.done_count, _b.detail_count))
"""Adds a chunk's details to its batch's count (under the row's lock); DONE once all are counted."""


def process_chunk(conn: Connection, clock: Clock, executor: ChunkExecutor, chunk_size: int) -> ChunkStats:
    """Steps 1-4 of the module docstring inside the caller's transaction."""
    assert 1 <= chunk_size <= MAX_CHUNK, chunk_size
    claimed = _claim(conn, chunk_size)
    stats = ChunkStats()
    if not claimed:
        return stats
    updates: list[tuple[Any, ...]] = []
    per_batch: dict[int, int] = {}
    start = 0
    while start < len(claimed):  # runs of one batch (one platform each), in claim order
        end = start
        batch_id = claimed[start].batch_id
        while end < len(claimed) and claimed[end].batch_id == batch_id:
            end += 1
        run = claimed[start:end]
        token = CURRENT_BATCH_NO.set(run[0].batch_no)
        try:
            outcomes = executor(conn, clock, run[0].platform_no, [(r.request_no, stored_trade(r.request_no, r.req_data))
                                                                  for r in run])
        finally:
            CURRENT_BATCH_NO.reset(token)
        assert len(outcomes) == len(run), "the executor returns one outcome per detail"
        done = now_us(clock)
        for row, outcome in zip(run, outcomes, strict=True):
            updates.append((SUCCESS if outcome.ok else FAIL, outcome.error_code, outcome.error_message, done, row.id))
            stats.succeeded += outcome.ok
            stats.failed += not outcome.ok
        per_batch[batch_id] = per_batch.get(batch_id, 0) + len(run)
        start = end
    changed = update_rows(conn, custody_async_details, "id", ("status", "error_code", "error_message", "done_us"),
                          updates, only_if=("status", PENDING))
    assert changed in (len(updates), -1), "claimed details were still pending"
    stats.details = len(updates)
    now = now_us(clock)
    for batch_id in sorted(per_batch):  # batch rows locked in id order
        done_count, detail_count = _COUNT_DONE.first(conn, {"b_id": batch_id, "n": per_batch[batch_id]})
        if done_count == detail_count:
            _finish_batch(conn, clock, batch_id, now)
            stats.batches_done.append(batch_id)
    stats.writers_waiting = writers_waiting(conn)
    return stats


def run_chunk(engine: Engine, clock: Clock, *, executor: ChunkExecutor = execute_chunk,
              chunk_size: int = DEFAULT_CHUNK) -> ChunkStats:
    """Process one chunk in one transaction (retried whole on a database conflict)."""
    with gc_paused():
        return run_in_transaction(engine, lambda conn: process_chunk(conn, clock, executor, chunk_size))


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for one chunk. A chunk builds ~100 objects a detail (rows,
    plans, states), freed by reference counting when it ends, but their number alone set off a
    collection every 700 allocations, each walking every young object: measured 25 % of the runner's
    time. Cycles a chunk leaves (a refusal's traceback) are found by the next collection after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_until_idle(engine: Engine, clock: Clock, *, executor: ChunkExecutor = execute_chunk,
                   chunk_size: int = DEFAULT_CHUNK, max_chunks: int | None = None) -> ChunkStats:
    """Chunks until nothing is pending (or `max_chunks`); the totals."""
    total = ChunkStats()
    chunks = 0
    while max_chunks is None or chunks < max_chunks:
        stats = run_chunk(engine, clock, executor=executor, chunk_size=chunk_size)
        chunks += 1
        if not stats.details:
            break
        total.details += stats.details
        total.succeeded += stats.succeeded
        total.failed += stats.failed
        total.batches_done += stats.batches_done
    return total


# ---------------------------------------------------------------- status


def counts(conn: Connection) -> dict[str, int]:
    """Details by status and batches by status, for operators (`cunguan async status`)."""
    d, b = custody_async_details.c, custody_async_batches.c
    out = {f"details_{s.lower()}": 0 for s in (PENDING, SUCCESS, FAIL)}
    out.update({f"batches_{s.lower()}": 0 for s in (PROCESSING, DONE)})
    for status, n in conn.execute(select(d.status, func.count()).group_by(d.status)):
        out[f"details_{status.lower()}"] = int(n)
    for status, n in conn.execute(select(b.status, func.count()).group_by(b.status)):
        out[f"batches_{status.lower()}"] = int(n)
    return out


# ---------------------------------------------------------------- the background worker

TARGET_CHUNK_S = 0.15
"""A background chunk aims at this duration while other writers wait for it: its transaction holds
the SQLite write lock (PostgreSQL: the accounts' row locks) throughout, and an acceptance or a SYNC
request waits behind it (from another process since the runner has its own, `api.server`). Measured
when the trade core took ~2-4 ms a detail: a fixed 500-detail chunk held the lock 1-2 s and batches
waited up to 8 s for their SUCCESS."""
UNCONTENDED_CHUNK_S = 0.6
"""What a chunk aims at when, at the end of the last one, no other transaction was waiting for it
(`ChunkStats.writers_waiting`). SQLite: a backlog drained while acceptances have stopped (they queue
for the writer gate). PostgreSQL: acceptances never wait for the runner (they write other rows), a
SYNC request touching the chunk's accounts or the ledger chain's head does. A chunk
costs a fixed part besides its details (its statements, its commit, and the accounts, shares and
projects it writes once however many of its details touch them), so longer chunks cost less a
detail. Measured, `cunguan bench async --details 100000` on SQLite, a machine 2.4-3x slower than the
issue's reference: the runner's CPU was 0.434 ms a detail with 0.15 s chunks (~270 details), 0.349
with ~1,000 and 0.312 with 5,000; but 5,000-detail chunks throughout doubled the acceptance stage
(37 s instead of 20, acceptance p50 1.3 s). The first writer to arrive during such a chunk waits for
it once; the next chunk is short again. With this rule (same command and machine, runs interleaved):
43.9-50.4 s and 0.348-0.393 ms a detail in 3 runs, against 51.4-54.7 s and 0.412-0.447 ms in 5 runs
before it; acceptance p50 452-644 ms, as before (438-650): while batches arrive, every chunk ended
with one waiting. PostgreSQL, same command with `--db postgresql+psycopg://...`, runs interleaved:
58.3, 59.3 and 58.3 s (runner 0.256-0.262 ms a detail, its backend 0.384-0.391) against 64.8, 76.4
and 69.4 s (0.294-0.348, 0.401-0.470) with 0.15 s chunks throughout."""
MIN_CHUNK = 16


def chunk_target_s(last_waiting: bool | None) -> float:
    """The next chunk's duration: short unless the last chunk ended with nobody waiting for it."""
    return UNCONTENDED_CHUNK_S if last_waiting is False else TARGET_CHUNK_S


def next_chunk_size(per_detail_s: float, max_chunk: int, target_s: float = TARGET_CHUNK_S) -> int:
    """The chunk size that the last chunk's speed says will take about `target_s`."""
    if per_detail_s <= 0:
        return max_chunk
    return max(min(MIN_CHUNK, max_chunk), min(max_chunk, int(target_s / per_detail_s)))


_wake = threading.Event()


def wake() -> None:
    """Tell this process's runner threads that work arrived (acceptance calls it after commit)."""
    _wake.set()


def start_background(engine: Engine, clock: Clock, *, threads: int = 1, executor: ChunkExecutor = execute_chunk,
                     chunk_size: int = DEFAULT_CHUNK, poll_interval_s: float = 0.5,
                     error_pause_s: float = 2.0) -> Callable[[], None]:
    """Run `threads` runner threads until `stop()` (which lets the chunk in hand finish and commit).

    A thread that finds nothing waits for `wake()` or `poll_interval_s` (work accepted by another
    process is seen within that); a database failure pauses it `error_pause_s` instead of killing it."""
    assert 1 <= threads <= MAX_THREADS, threads
    assert poll_interval_s > 0 and error_pause_s > 0
    stop_event = threading.Event()

    single_writer = engine.dialect.name == "sqlite"

    def loop() -> None:
        size = min(chunk_size, MIN_CHUNK * 4)  # start small; grow to what the target duration allows
        while not stop_event.is_set():
            if single_writer:
                ACCEPT_GATE.wait_idle(ACCEPT_PRIORITY_MAX_WAIT_S)  # let waiting acceptances write first
            started, asked = time.perf_counter(), size
            try:
                stats = run_chunk(engine, clock, executor=executor, chunk_size=asked)
            except Exception:  # noqa: BLE001 - a runner must outlive a database hiccup
                log.exception("async runner chunk failed; pausing %.1fs", error_pause_s)
                stop_event.wait(error_pause_s)
                continue
            if stats.details:
                per_detail_s = (time.perf_counter() - started) / stats.details
                size = next_chunk_size(per_detail_s, chunk_size, chunk_target_s(stats.writers_waiting))
            if stats.details < asked:  # nothing more right now: wait for work
                _wake.wait(poll_interval_s)
                _wake.clear()

    workers = [threading.Thread(target=loop, name=f"cunguan-async-{i}", daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()

    def stop(timeout_s: float = 60.0) -> None:
        stop_event.set()
        _wake.set()
        for worker in workers:
            worker.join(timeout_s)

    return stop
