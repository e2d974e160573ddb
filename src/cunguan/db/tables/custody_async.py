"""ASYNC_TRANSACTION batches (protocol §2.5): the accepted batch and one row per bizDetail.

A detail row is the unit of work of the background runner: `PENDING` until a chunk transaction
executes it, then `SUCCESS` or `FAIL` with the error code and message it will be notified with.
- (platform_no, request_no) is unique: a detail's requestNo can be in one batch only, ever.
- the partial index on PROCESSING batches keeps the runner's first look an index range scan over
  work still to do (3,000,000 finished rows do not slow it); a batch's pending details are then read
  through the batch index (at most `MAX_DETAILS_PER_BATCH` rows). The partial index on PENDING
  details that served an older claim was dropped (migration 0017): no query used it, every detail
  paid an entry for it at acceptance, and on PostgreSQL its predicate made every status update a
  non-HOT one.
- `req_data` is the detail's compact JSON (requestNo removed: it is its own column), amounts as JSON
  numbers exactly as received.
- the batch keeps a done counter, bumped by each chunk under the batch row's lock: exactly one
  chunk sees it reach `detail_count` and queues the NOTIFY.
"""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from cunguan.db.tables.base import Id64, metadata

custody_async_batches = Table(
    "custody_async_batches",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("batch_no", String(50), nullable=False),
    Column("key_serial", String(32), nullable=False),  # the NOTIFY goes out under the request's key serial
    Column("detail_count", Integer, nullable=False),
    Column("done_count", Integer, nullable=False),
    Column("status", String(12), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("finished_us", BigInteger, nullable=True),
    Column("notify_id", BigInteger, nullable=True),  # the outbox row of the batch's NOTIFY
    CheckConstraint("detail_count > 0 AND done_count >= 0 AND done_count <= detail_count", name="counts_sane"),
    CheckConstraint("status IN ('PROCESSING', 'DONE')", name="status_known"),
    CheckConstraint("(status = 'DONE') = (done_count = detail_count)", name="done_when_counted"),
    UniqueConstraint("platform_no", "batch_no", name="uq_custody_async_batches_platform_batch"),
)

custody_async_details = Table(
    "custody_async_details",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("batch_id", Id64, ForeignKey("custody_async_batches.id"), nullable=False),
    Column("platform_no", String(32), nullable=False),
    Column("request_no", String(50), nullable=False),
    Column("trade_type", String(40), nullable=False),
    Column("req_data", Text, nullable=False),
    Column("status", String(8), nullable=False),
    Column("error_code", String(6), nullable=True),
    Column("error_message", String(300), nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("done_us", BigInteger, nullable=True),
    CheckConstraint("status IN ('PENDING', 'SUCCESS', 'FAIL')", name="status_known"),
    CheckConstraint("(status = 'FAIL') = (error_code IS NOT NULL)", name="fail_has_code"),
    CheckConstraint("(status = 'PENDING') = (done_us IS NULL)", name="done_has_time"),
    UniqueConstraint("platform_no", "request_no", name="uq_custody_async_details_platform_request"),
)

# (batch_id, id): the claim reads a batch's pending details in id order with a LIMIT; on (batch_id) alone
# PostgreSQL's generic plan of that prepared statement walked the primary key instead (36 ms, not 0.3 ms).
Index("ix_custody_async_details_batch", custody_async_details.c.batch_id, custody_async_details.c.id)
Index("ix_custody_async_batches_processing", custody_async_batches.c.id,
      sqlite_where=text("status = 'PROCESSING'"), postgresql_where=text("status = 'PROCESSING'"))
