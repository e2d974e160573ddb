"""ASYNC_TRANSACTION (批量交易, protocol §2.5): accept a batch of trades now, settle each later.

Acceptance (this module) validates the batch, stores the batch row and one PENDING row per bizDetail
in ONE transaction, and answers SUCCESS; the background runner (`custody.async_runner`) executes the
details in chunks and queues the NOTIFY with one result per detail. Decisions where the spec is
silent:

- **Batch size**: at most `MAX_DETAILS_PER_BATCH` = 1,000 bizDetails (more → 100002, field
  `bizDetails`). A 1,000-detail batch is ~0.3-0.5 MB of reqData (under the 4 MiB body limit) and its
  NOTIFY stays under the outbox's 1,000,000-character respData limit even with long error messages,
  so a batch's NOTIFY is never split: one batch, one NOTIFY, every detail in it. 3,000,000 details a
  day are 3,000 such batches.
- **What acceptance checks** (any failure refuses the whole batch, nothing is stored): `batchNo`
  S50, new for the platform (else 100013, field `batchNo`); `bizDetails` a non-empty list of objects;
  each `requestNo` S50, unique within the batch and not used before on the platform — neither in the
  platform's requestNo register (`custody/requests.py`) nor by a detail of an earlier batch (100013,
  field `bizDetails[i].requestNo`); `tradeType` in §3.6; `projectNo`/`saleRequestNo` S50 when given;
  `details` a list of objects when given. Everything else about a trade (users, amounts, freezes,
  projects) is the trade executor's to judge, per detail, at execution: a refusal there is that
  detail's FAIL in the NOTIFY, not a refusal of the batch.
- **When a detail's requestNo is claimed**: at execution, by the trade executor, in the platform
  register, inside the chunk's transaction. Acceptance only checks it is free, and the unique key
  (platform, requestNo) on detail rows reserves it among ASYNC details for ever. So a detail is
  applied at most once: a second batch cannot carry it, and if a SYNC request takes the same
  requestNo between acceptance and execution, the detail's claim fails and the detail is FAIL 100013
  (nothing applied twice). Claiming at acceptance would take 1,000 register rows per request on the
  accept path and leave the executor unable to tell a claim of its own from a real duplicate.
- `batchNo` lives in its own namespace (unique per platform among batches), not in the requestNo
  register: it names a batch, not a trade.
- The response is the envelope (`code 0`, `status SUCCESS`) plus `batchNo` and `detailCount`
  (extra keys are ignored by clients, §1.4).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from cunguan.clock import Clock
from cunguan.custody import errors as E
from cunguan.custody.errors import CustodyError
from cunguan.custody.fields import opt, opt_text, req_text
from cunguan.custody.trade_rules import AUTO_TRADE_TYPES, EXTENSION_TRADE_TYPES, TradeRequest, parse_trade
from cunguan.custody.trade_rules import Detail as TradeDetail
from cunguan.custody.user_errors import CustodyUserError, InvalidField
from cunguan.db import pg_arrays
from cunguan.db.bulk import insert_rows
from cunguan.db.prepared import in_list, run_sql
from cunguan.db.tables.custody_async import custody_async_batches, custody_async_details
from cunguan.db.tx import run_in_transaction
from cunguan.notify.payload import PayloadError, dumps_resp_data

SERVICE_NAME = "ASYNC_TRANSACTION"
MAX_DETAILS_PER_BATCH = 1_000
LOOKUP_CHUNK = 500
"""requestNos per `IN (...)` look-up (well under SQLite's and PostgreSQL's parameter limits)."""

TRADE_TYPES: tuple[str, ...] = (
    "TENDER", "REPAYMENT", "CREDIT_ASSIGNMENT", "COMPENSATORY", "INDIRECT_COMPENSATORY",
    "PLATFORM_INDEPENDENT_PROFIT", "MARKETING", "PLATFORM_SERVICE_DEDUCT", "FUNDS_TRANSFER",
    "INTELLIGENT_APPEND", "APPEND_FREEZE", "COMPEN_FREEZE", "AUTO_COMPENSATORY", "AUTO_INDIRECT_COMPENSATORY",
    "AUTO_TENDER", "AUTO_CREDIT_ASSIGNMENT", "AUTO_REPAYMENT",
)
"""§3.6, the newer-doc values included: which of them a platform may use is the executor's call."""

PENDING, SUCCESS, FAIL = "PENDING", "SUCCESS", "FAIL"
PROCESSING, DONE = "PROCESSING", "DONE"


class DuplicateBatchNo(CustodyUserError):
    """The batchNo was already used by a batch of this platform (100013)."""

    code = E.DUPLICATE_REQUEST_NO
    reason = "DUPLICATE_BATCH_NO"


class DuplicateDetailRequestNo(CustodyUserError):
    """A bizDetail's requestNo repeats inside the batch or was used before on the platform (100013)."""

    code = E.DUPLICATE_REQUEST_NO
    reason = "DUPLICATE_REQUEST_NO"


@dataclass(frozen=True)
class Detail:
    request_no: str
    trade_type: str
    req_data: str
    """Compact JSON of the bizDetail without requestNo (what the executor gets back as a dict)."""


@dataclass(frozen=True)
class BatchRequest:
    batch_no: str
    details: tuple[Detail, ...]


@dataclass(frozen=True)
class Accepted:
    batch_id: int
    batch_no: str
    detail_count: int

    def wire(self) -> dict[str, Any]:
        return {"batchNo": self.batch_no, "detailCount": self.detail_count}


def now_us(clock: Clock) -> int:
    now = clock.now()
    return int(now.timestamp()) * 1_000_000 + now.microsecond


_DEC_MARK = "\x00\x01cgdec:"
_DEC_RE = re.compile(r'"\\u0000\\u0001cgdec:(-?[0-9]+(?:\.[0-9]+)?)"')


def _mark_decimal(value: object) -> str:
    if isinstance(value, Decimal) and value.is_finite():
        return _DEC_MARK + format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps_trade(trade: Mapping[str, Any]) -> str:
    """Compact JSON, amounts (Decimal) as the JSON numbers they arrived as; read back with `loads_trade`.

    The C encoder does the work (a batch of 1,000 details costs ~5 ms instead of ~25 ms with the
    outbox's pure-Python writer): each Decimal becomes a marked string, then the marks are replaced by
    the bare number. The mark starts with NUL, which no wire string can hold (reqData refuses NUL)."""
    text = json.dumps(trade, default=_mark_decimal, ensure_ascii=False, separators=(",", ":"), check_circular=False)
    if "\\u0000" not in text:
        return text
    text = _DEC_RE.sub(r"\1", text)
    if "\\u0000" in text:  # a NUL of the caller's own: fall back to the strict writer
        return dumps_resp_data(trade)
    return text


_DECODER = json.JSONDecoder(parse_float=Decimal)


def loads_trade(text: str) -> dict[str, Any]:
    return _DECODER.decode(text)


# ---------------------------------------------------------------- validation (pure)


def parse_batch(req: Mapping[str, Any]) -> BatchRequest:
    """The whole request checked before anything is read or written; the first fault is reported
    with its field (`bizDetails[7].tradeType`)."""
    batch_no = req_text(req.get("batchNo"), "batchNo")
    items = req.get("bizDetails")
    if opt(items) is None:
        raise InvalidField("bizDetails is required", field="bizDetails")
    if not isinstance(items, list):
        raise InvalidField("bizDetails must be a JSON array", field="bizDetails")
    if not items:
        raise InvalidField("bizDetails must not be empty", field="bizDetails")
    if len(items) > MAX_DETAILS_PER_BATCH:
        raise InvalidField(f"bizDetails has {len(items)} entries; at most {MAX_DETAILS_PER_BATCH} per batch",
                           field="bizDetails")
    seen: dict[str, int] = {}
    details = []
    for i, item in enumerate(items):
        where = f"bizDetails[{i}]"
        if not isinstance(item, dict):
            raise InvalidField(f"{where} must be a JSON object", field=where)
        request_no = req_text(item.get("requestNo"), f"{where}.requestNo")
        if request_no in seen:
            raise DuplicateDetailRequestNo(f"{where}.requestNo {request_no!r} repeats bizDetails[{seen[request_no]}]",
                                           field=f"{where}.requestNo")
        seen[request_no] = i
        trade_type = req_text(item.get("tradeType"), f"{where}.tradeType", max_len=64)
        if trade_type not in TRADE_TYPES:
            raise InvalidField(f"{where}.tradeType must be a trade type of §3.6 (got {trade_type[:32]!r})",
                               field=f"{where}.tradeType")
        opt_text(item.get("projectNo"), f"{where}.projectNo")
        opt_text(item.get("saleRequestNo"), f"{where}.saleRequestNo")
        inner = item.get("details")
        if opt(inner) is not None and (not isinstance(inner, list)
                                       or not all(isinstance(d, dict) for d in inner)):
            raise InvalidField(f"{where}.details must be a JSON array of objects", field=f"{where}.details")
        trade = {k: v for k, v in item.items() if k != "requestNo"}
        trade["tradeType"] = trade_type
        try:
            text = stored_form(request_no, trade_type, trade)
        except PayloadError as exc:
            raise InvalidField(f"{where} cannot be stored ({exc})", field=where) from None
        details.append(Detail(request_no, trade_type, text))
    return BatchRequest(batch_no, tuple(details))


# ---------------------------------------------------------------- what a detail row stores

_PARSED, _REFUSED = "P", "R"


class StoredRefusal(CustodyError):
    """A detail the trade rules refused when the batch was accepted: reported FAIL with this code and
    message when its turn comes, without running."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message=message)
        self.code = code


def stored_form(request_no: str, trade_type: str, trade: Mapping[str, Any]) -> str:
    """The `req_data` of a detail row. A trade the batched executor runs is parsed here, at acceptance
    (`trade_rules.parse_trade`, pure), and stored parsed — `["P", tradeType, projectNo, saleRequestNo,
    [[bizType, freezeRequestNo, source, target, amount_fen, income_fen, share_fen, customDefine,
    remark], ...]]` — or, when the rules refuse it, as `["R", code, message]`: the edge validates, and
    the runner (the bottleneck of ASYNC throughput, on a core of its own) no longer parses. The
    trades that `trades.execute` runs alone (AUTO_* and the plans' types) keep the bizDetail as sent
    (`dumps_trade`, a JSON object)."""
    if trade_type in EXTENSION_TRADE_TYPES or trade_type in AUTO_TRADE_TYPES:
        return dumps_trade(trade)
    try:
        req = parse_trade(request_no, trade)
    except CustodyError as refusal:
        return json.dumps([_REFUSED, refusal.code, refusal.message], ensure_ascii=False)
    return _COMPACT([_PARSED, req.trade_type, req.project_no, req.sale_request_no, [
        [d.biz_type, d.freeze_request_no, d.source, d.target, d.amount_fen, d.income_fen, d.share_fen, d.custom_define,
         d.remark] for d in req.details]])


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""The parsed form's writer, built once (`json.dumps` with options builds an encoder a call)."""


def stored_trade(request_no: str, text: str) -> Mapping[str, Any] | TradeRequest | StoredRefusal:
    """A detail row's `req_data` back (`stored_form`): the parsed trade, the refusal, or the bizDetail."""
    if not text.startswith("["):
        return loads_trade(text)
    data = json.loads(text)
    if data[0] == _REFUSED:
        return StoredRefusal(data[1], data[2])
    _kind, trade_type, project_no, sale_no, details = data
    return TradeRequest(request_no, trade_type, project_no, sale_no,
                        tuple(TradeDetail(i, *d) for i, d in enumerate(details)))


# ---------------------------------------------------------------- storage


def _used_request_nos(conn: Connection, platform_no: str, request_nos: Sequence[str]) -> set[str]:
    """The requestNos already taken on the platform, by a request or by a detail of an earlier batch."""
    used: set[str] = set()
    if conn.dialect.name == "postgresql":  # one join on the array (`IN` of 1,000 parameters is slow to plan)
        nos, param = pg_arrays.texts(list(request_nos))
        for table in ("custody_requests", "custody_async_details"):
            used.update(r for (r,) in run_sql(conn, (
                f"SELECT t.request_no FROM unnest({nos}) AS k(no) JOIN {table} t "  # noqa: S608
                "ON t.platform_no = %s AND t.request_no = k.no"), [param, platform_no]))
        return used
    for start in range(0, len(request_nos), LOOKUP_CHUNK):
        in_nos, params = in_list(conn, request_nos[start:start + LOOKUP_CHUNK])
        for table in ("custody_requests", "custody_async_details"):
            used.update(r for (r,) in run_sql(conn, f"SELECT request_no FROM {table} "  # noqa: S608
                                                    f"WHERE platform_no = ? AND request_no {in_nos}",
                                              [platform_no, *params]))
    return used


_DETAIL_COLUMNS = ("batch_id", "platform_no", "request_no", "trade_type", "req_data", "status", "created_us")


def store_batch(conn: Connection, clock: Clock, platform_no: str, key_serial: str,
                batch: BatchRequest) -> Accepted:
    """Insert the batch and all its details in the caller's transaction, or raise a typed duplicate.

    Two statements of substance whatever the batch size: one batch insert, one multi-row detail
    insert (plus the duplicate look-ups, 2 per 500 requestNos)."""
    exists = conn.execute(select(custody_async_batches.c.id).where(
        custody_async_batches.c.platform_no == platform_no, custody_async_batches.c.batch_no == batch.batch_no)).first()
    if exists is not None:
        raise DuplicateBatchNo(f"batchNo {batch.batch_no!r} was already used", field="batchNo")
    request_nos = [d.request_no for d in batch.details]
    used = _used_request_nos(conn, platform_no, request_nos)
    if used:
        i = next(i for i, r in enumerate(request_nos) if r in used)
        raise DuplicateDetailRequestNo(f"bizDetails[{i}].requestNo {request_nos[i]!r} was already used",
                                       field=f"bizDetails[{i}].requestNo")
    now = now_us(clock)
    try:
        (batch_id,) = conn.execute(custody_async_batches.insert().values(
            platform_no=platform_no, batch_no=batch.batch_no, key_serial=key_serial,
            detail_count=len(batch.details), done_count=0, status=PROCESSING, created_us=now,
        ).returning(custody_async_batches.c.id)).one()
        insert_rows(conn, custody_async_details, _DETAIL_COLUMNS,
                    [(batch_id, platform_no, d.request_no, d.trade_type, d.req_data, PENDING, now)
                     for d in batch.details])
    except IntegrityError:
        # Only a concurrent batch can get here (the look-ups above saw nothing): on PostgreSQL the
        # transaction is retried by run_in_transaction and the retry reports the precise duplicate.
        if conn.dialect.name == "postgresql":
            raise
        raise DuplicateDetailRequestNo("batchNo or a bizDetails requestNo was already used",
                                       field="bizDetails") from None
    return Accepted(int(batch_id), batch.batch_no, len(batch.details))


class AcceptGate:
    """Acceptances in flight in this process, so the runner can step aside for them.

    On SQLite one writer holds the lock at a time, and a runner that starts its next chunk right after
    committing the last one would win the lock again and again over a waiting acceptance (SQLite's
    busy handler sleeps between tries): the platform would wait seconds for its SUCCESS. The runner
    (same process) waits for `idle()` — bounded — before claiming a chunk."""

    def __init__(self) -> None:
        self._count = 0
        self._cond = threading.Condition()

    @contextmanager
    def entered(self) -> Iterator[None]:
        with self._cond:
            self._count += 1
        try:
            yield
        finally:
            with self._cond:
                self._count -= 1
                self._cond.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._count == 0, timeout_s)


ACCEPT_GATE = AcceptGate()


def accept(engine: Engine, clock: Clock, platform_no: str, key_serial: str, req: Mapping[str, Any]) -> Accepted:
    """Validate, then store in one transaction. A refused batch writes nothing."""
    batch = parse_batch(req)
    with ACCEPT_GATE.entered():
        return run_in_transaction(engine, lambda conn: store_batch(conn, clock, platform_no, key_serial, batch))
