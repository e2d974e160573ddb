"""Ledger write throughput against a raw baseline, on SQLite and PostgreSQL (`cunguan bench ledger`).

What is measured is the real path: `run_in_transaction` + `ledger_store.apply` with `Transfer` ops that
carry idempotency keys, on an engine from `create_engine`, on a schema made by `migrate.upgrade`.

The baseline makes the same writes with minimal hand-written SQL on the same engine, durability and
database: per transfer one journal insert (unique key) and two balance updates, the balance check in
SQL; for PostgreSQL batches, array-bound statements (unnest) and account locks taken in id order. It
runs on one connection of the same engine held for the run (as a server's pooled connection would
be), through `exec_driver_sql` with tuples, the layer the ledger uses too: the ratio is what the ledger
adds (planning, the hash chain, idempotency look-ups, richer rows and indexes, and a connection per
transaction from the engine). A third side runs the same SQL on the bare DBAPI connection; its rate is
reported alongside (`driver_rate_per_s`, `driver_ratio`) as the floor of what Python can do.

All sides get the same transfer stream and the same key shape (time-ordered request numbers), and
run interleaved in rounds so that drift in the machine or in the database files (WAL growth,
checkpoints, autovacuum) lands on every side alike.

The ratio is the figure that matters: rates move with the machine, the ratio much less. The target is
that batched ledger throughput is at least `TARGET_RATIO` of the baseline, uniform and hot.
After each case and each engine the benchmark checks that all sides wrote the same totals and the same
balances; a mismatch raises `BenchMismatch` (a benchmark of a wrong ledger is worthless).
"""

from __future__ import annotations

import gc
import json
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from cunguan.db import ledger_store
from cunguan.db.engine import create_engine, normalize_url
from cunguan.db.migrate import upgrade
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer

ENGINES = ("sqlite", "postgresql")
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_RATIO = 0.60
ACCOUNTS = 10_000
FUND_FEN = 10**12
"""Each account's opening balance: far above what a run can move, so no transfer is refused."""
MAX_AMOUNT_FEN = 10_000
BIZ_TYPE = "BENCH"
SEED = 20261123


class BenchMismatch(AssertionError):
    """The ledger and the baseline did not write the same thing for the same stream."""


@dataclass(frozen=True, slots=True)
class Case:
    batch: int
    mode: str  # "uniform" (random accounts) or "hot" (one account on every transfer)
    transfers: int

    @property
    def name(self) -> str:
        size = "single" if self.batch == 1 else f"batch{self.batch}"
        return f"{size}-{self.mode}"


def cases(quick: bool = False, scale: float = 1.0) -> list[Case]:
    """The case list. `scale` shrinks the transfer counts (tests use a tiny run)."""
    counts = {1: 600, 100: 6_000, 1000: 12_000} if quick else {1: 3_000, 100: 30_000, 1000: 60_000}
    out = []
    for batch, n in counts.items():
        n = max(batch, int(n * scale) // batch * batch)
        for mode in ("uniform", "hot"):
            out.append(Case(batch, mode, n))
    return out


@dataclass(slots=True)
class CaseResult:
    engine: str
    case: str
    batch: int
    mode: str
    transfers: int
    rate_per_s: float
    baseline_rate_per_s: float
    ratio: float
    seconds: float
    baseline_seconds: float
    total_fen: int
    baseline_total_fen: int
    driver_rate_per_s: float
    driver_ratio: float
    target_ratio: float | None
    meets_target: bool | None

    def line(self) -> str:
        verdict = "" if self.meets_target is None else ("  ok" if self.meets_target else "  BELOW TARGET")
        return (f"{self.engine:<10} {self.case:<17} transfers={self.transfers:<6d} "
                f"ledger {self.rate_per_s:>9,.0f}/s  raw {self.baseline_rate_per_s:>9,.0f}/s  "
                f"ratio {self.ratio:5.2f}{verdict}   (bare DBAPI {self.driver_rate_per_s:,.0f}/s, "
                f"ratio {self.driver_ratio:.2f})")

    def json(self) -> str:
        return json.dumps(asdict(self), sort_keys=False)


# ---------------------------------------------------------------- the transfer stream

Row = tuple[int, int, int, str]  # (debit index, credit index, amount_fen, key); indexes 0..accounts-1


class KeyMaker:
    """Time-ordered request numbers, the shape platforms send: a timestamp prefix plus a counter."""

    def __init__(self) -> None:
        self.prefix = "BENCH:T:" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"{self.prefix}{self.n:010d}"


def stream(case: Case, accounts: int, rng: random.Random, keys: KeyMaker) -> list[Row]:
    rows: list[Row] = []
    for _ in range(case.transfers):
        if case.mode == "hot":
            debit, credit = 0, rng.randrange(1, accounts)
        else:
            debit = rng.randrange(accounts)
            credit = rng.randrange(accounts - 1)
            credit += credit >= debit
        rows.append((debit, credit, rng.randint(1, MAX_AMOUNT_FEN), keys.next()))
    return rows


def _batches(rows: list[Row], size: int) -> list[list[Row]]:
    return [rows[i:i + size] for i in range(0, len(rows), size)]


# ---------------------------------------------------------------- the ledger side


class LedgerSide:
    """The real path: one `run_in_transaction` + `ledger_store.apply` per batch."""

    def __init__(self, engine: Engine, accounts: int) -> None:
        self.engine = engine
        self.ids = self._open(accounts)

    def _open(self, accounts: int) -> list[int]:
        def work(conn) -> list[int]:
            world = ledger_store.open_account(conn, "bench:world", owner_type="BANK", owner_ref="bench",
                                              allow_overdraw=True)
            ids = [ledger_store.open_account(conn, f"bench:{i}", owner_type="USER", owner_ref=str(i))
                   for i in range(accounts)]
            ops = [Transfer(world, a, FUND_FEN, "BENCH_FUND", "fund") for a in ids]
            if not all(r.ok for r in ledger_store.apply(conn, ops)):
                raise BenchMismatch("funding the benchmark accounts failed")
            return ids

        return run_in_transaction(self.engine, work)

    def prepare(self, batches: list[list[Row]], ref: str) -> list[list[Transfer]]:
        ids = self.ids
        return [[Transfer(ids[d], ids[c], amt, BIZ_TYPE, ref, key=key) for d, c, amt, key in batch]
                for batch in batches]

    def run(self, batch: list[Transfer]) -> None:
        results = run_in_transaction(self.engine, lambda conn: ledger_store.apply(conn, batch))
        if len(results) != len(batch) or not all(r.ok and not r.replayed for r in results):
            raise BenchMismatch("the ledger refused or replayed a benchmark transfer")

    def totals(self, ref: str) -> tuple[int, int]:
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT count(*), coalesce(sum(amount_fen), 0) FROM postings WHERE ref = :r"),
                               {"r": ref}).one()
        return int(row[0]), int(row[1])

    def balances(self) -> list[int]:
        with self.engine.connect() as conn:
            got = {int(i): int(b) for i, b in conn.execute(text("SELECT id, balance_fen FROM accounts"))}
        return [int(got[i]) for i in self.ids]


# ---------------------------------------------------------------- the raw baseline

_RAW_SCHEMA_SQLITE = (
    "CREATE TABLE {t}_accounts (id INTEGER PRIMARY KEY, balance_fen BIGINT NOT NULL CHECK (balance_fen >= 0))",
    "CREATE TABLE {t}_journal (id INTEGER PRIMARY KEY, idem_key TEXT NOT NULL UNIQUE, "
    "debit BIGINT NOT NULL, credit BIGINT NOT NULL, amount_fen BIGINT NOT NULL CHECK (amount_fen > 0), "
    "ref TEXT NOT NULL, created_us BIGINT NOT NULL)",
)
_RAW_SCHEMA_PG = (
    "CREATE TABLE {t}_accounts (id BIGINT PRIMARY KEY, balance_fen BIGINT NOT NULL CHECK (balance_fen >= 0))",
    "CREATE TABLE {t}_journal (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "idem_key TEXT NOT NULL UNIQUE, debit BIGINT NOT NULL, credit BIGINT NOT NULL, "
    "amount_fen BIGINT NOT NULL CHECK (amount_fen > 0), ref TEXT NOT NULL, created_us BIGINT NOT NULL)",
)


class RawSide:
    """Minimal hand-written SQL on one connection of the same engine (same pragmas, same durability),
    held for the run like a server's pooled connection. Raw account ids are the stream's indexes + 1.

    `driver=False` (the baseline): statements go through SQLAlchemy's `exec_driver_sql` with tuples,
    the layer the ledger itself uses, so the ratio measures what the ledger adds. `driver=True`: the
    same SQL straight on the DBAPI connection, the floor of what Python can do (reported alongside)."""

    def __init__(self, engine: Engine, accounts: int, *, driver: bool = False) -> None:
        self.pg = engine.dialect.name == "postgresql"
        self.driver = driver
        self.t = "bench_drv" if driver else "bench_raw"
        if driver:
            self._pool_conn = engine.raw_connection()
            self.dbapi = self._pool_conn.driver_connection
        else:
            self.sa = engine.connect()
        self._tx = None
        schema = _RAW_SCHEMA_PG if self.pg else _RAW_SCHEMA_SQLITE
        self._begin()
        for table in ("journal", "accounts"):  # left over from an earlier run on the same database
            self._exec(f"DROP TABLE IF EXISTS {self.t}_{table}", ())
        for stmt in schema:
            self._exec(stmt.format(t=self.t), ())
        self._exec(self._sql(f"INSERT INTO {self.t}_accounts (id, balance_fen) VALUES (?, ?)"),  # noqa: S608
                   [(i + 1, FUND_FEN) for i in range(accounts)], many=True)
        self._commit()

    # -- the connection, either way

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.pg else sql

    def _begin(self) -> None:
        if not self.driver:
            self._tx = self.sa.begin()  # SQLite: BEGIN IMMEDIATE, from the engine's begin hook
        elif not self.pg:
            self.dbapi.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        if not self.driver:
            self._tx.commit()
        elif self.pg:
            self.dbapi.commit()
        else:
            self.dbapi.execute("COMMIT")

    def _rollback(self) -> None:
        if not self.driver:
            self._tx.rollback()
        elif self.pg:
            self.dbapi.rollback()
        else:
            self.dbapi.execute("ROLLBACK")

    def _exec(self, sql: str, params, *, many: bool = False) -> int:
        if not self.driver:
            return self.sa.exec_driver_sql(sql, params).rowcount
        cur = self.dbapi.cursor()
        try:
            if many:
                cur.executemany(sql, params)
            else:
                cur.execute(sql, params)
            return cur.rowcount
        finally:
            cur.close()

    def _query(self, sql: str, params) -> list:
        if not self.driver:
            with self.sa.begin():
                return list(self.sa.exec_driver_sql(sql, params).fetchall())
        cur = self.dbapi.cursor()
        try:
            cur.execute(sql, params)
            return cur.fetchall()
        finally:
            cur.close()
            if self.pg:
                self.dbapi.rollback()

    def close(self) -> None:
        if self.driver:
            self._pool_conn.close()
        else:
            self.sa.close()

    # -- the writes

    def prepare(self, batches: list[list[Row]], ref: str) -> list[tuple[str, list[Row]]]:
        return [(ref, batch) for batch in batches]

    def run(self, item: tuple[str, list[Row]]) -> None:
        ref, batch = item
        now = time.time_ns() // 1000
        self._begin()
        try:
            if self.pg and len(batch) > 1:
                self._batch_pg(ref, batch, now)
            else:
                self._one_by_one(ref, batch, now)
            self._commit()
        except BaseException:
            self._rollback()
            raise

    def _one_by_one(self, ref: str, batch: list[Row], now: int) -> None:
        """Statement by statement, so each transfer's balance check is its own (a failed one is known)."""
        t, q = self.t, self._sql
        insert = q(f"INSERT INTO {t}_journal (idem_key, debit, credit, amount_fen, ref, created_us) "  # noqa: S608
                   "VALUES (?, ?, ?, ?, ?, ?)")
        debit = q(f"UPDATE {t}_accounts SET balance_fen = balance_fen - ? WHERE id = ? AND balance_fen >= ?")  # noqa: S608
        credit = q(f"UPDATE {t}_accounts SET balance_fen = balance_fen + ? WHERE id = ?")  # noqa: S608
        for d, c, amt, key in batch:
            self._exec(insert, (key, d + 1, c + 1, amt, ref, now))
            if self._exec(debit, (amt, d + 1, amt)) != 1:
                raise BenchMismatch("raw baseline: insufficient balance")
            self._exec(credit, (amt, c + 1))

    def _batch_pg(self, ref: str, batch: list[Row], now: int) -> None:
        """Array-bound statements; account locks in id order; the CHECK (balance_fen >= 0) is the check."""
        t = self.t
        debits = [d + 1 for d, _c, _a, _k in batch]
        credits = [c + 1 for _d, c, _a, _k in batch]
        amounts = [a for _d, _c, a, _k in batch]
        self._exec(f"SELECT id FROM {t}_accounts WHERE id = ANY(%s) ORDER BY id FOR UPDATE",  # noqa: S608
                   (sorted(set(debits) | set(credits)),))
        self._exec(f"INSERT INTO {t}_journal (idem_key, debit, credit, amount_fen, ref, created_us) "  # noqa: S608
                   "SELECT k, d, c, a, %s, %s FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::bigint[]) "
                   "AS x(k, d, c, a)", (ref, now, [k for *_x, k in batch], debits, credits, amounts))
        for ids, sign in ((debits, -1), (credits, 1)):
            self._exec(f"UPDATE {t}_accounts a SET balance_fen = a.balance_fen + %s * s.amt "  # noqa: S608
                       "FROM (SELECT id, sum(amt) AS amt FROM unnest(%s::bigint[], %s::bigint[]) AS x(id, amt) "
                       "GROUP BY id) s WHERE a.id = s.id", (sign, ids, amounts))

    # -- checks

    def totals(self, ref: str) -> tuple[int, int]:
        rows = self._query(self._sql(f"SELECT count(*), coalesce(sum(amount_fen), 0) FROM {self.t}_journal "  # noqa: S608
                                     "WHERE ref = ?"), (ref,))
        return int(rows[0][0]), int(rows[0][1])

    def balances(self) -> list[int]:
        rows = self._query(f"SELECT id, balance_fen FROM {self.t}_accounts ORDER BY id", ())  # noqa: S608
        return [int(b) for _i, b in rows]


def raw_batched_rate(engine: Engine, transfers: int, batch: int = 1000, *, seed: int = SEED) -> float:
    """The raw batched baseline alone, transfers per second, on `engine`'s database: what another
    benchmark (the ASYNC one) divides its own posting rate by. Uniform random accounts, `batch`
    transfers a transaction, in its own tables; checked like a case."""
    raw = RawSide(engine, ACCOUNTS)
    try:
        ref = "bench-raw-alone"
        rows = stream(Case(batch, "uniform", transfers), ACCOUNTS, random.Random(seed), KeyMaker())
        items = raw.prepare(_batches(rows, batch), ref)
        start = time.perf_counter()
        for item in items:
            raw.run(item)
        seconds = time.perf_counter() - start
        if raw.totals(ref) != (len(rows), sum(r[2] for r in rows)):
            raise BenchMismatch("raw baseline: the journal does not hold the stream")
        return len(rows) / seconds
    finally:
        raw.close()


# ---------------------------------------------------------------- running

Progress = Callable[[Case, int], None]
"""Called with a case and the number of transfers (ledger + baseline) just done."""


def _timed(side, items: Sequence, case: Case, progress: Progress | None) -> float:
    start = time.perf_counter()
    for item in items:
        side.run(item)
        if progress is not None:
            progress(case, len(item[1]) if isinstance(item, tuple) else len(item))
    return time.perf_counter() - start


ROUNDS = 8
"""Each case is cut into this many rounds; every round runs a slice on each side, in rotating order."""


def run_case(ledger: LedgerSide, raw: RawSide, driver: RawSide, engine_kind: str, case: Case, rows: list[Row],
             progress: Progress | None = None) -> CaseResult:
    """Run one case, interleaved: the batches are cut into rounds and each round runs a slice on the
    baseline, the bare DBAPI and the ledger, in rotating order, so that a burst of load on a shared
    machine (or a checkpoint) lands on every side alike. Then check that every side wrote the same."""
    ref = f"bench-{case.name}"
    batches = _batches(rows, case.batch)
    rounds = max(1, min(ROUNDS, len(batches)))
    slices = [batches[i * len(batches) // rounds:(i + 1) * len(batches) // rounds] for i in range(rounds)]
    sides = (raw, driver, ledger)
    work = {side: [side.prepare(sl, ref) for sl in slices] for side in sides}
    secs = dict.fromkeys(sides, 0.0)
    # The harness's own objects (the stream, every side's prepared work) would otherwise sit in the
    # collector's oldest generation, and each full collection, triggered by whichever side happens to
    # allocate, would rescan them all: tens of ms charged to one side at random. Freeze them, as a
    # server freezes what it loaded at start; each side's own garbage is still collected and timed.
    gc.collect()
    gc.freeze()
    try:
        for r in range(rounds):
            for k in range(len(sides)):
                side = sides[(r + k) % len(sides)]
                secs[side] += _timed(side, work[side][r], case, progress)
    finally:
        gc.unfreeze()
    expected = (len(rows), sum(r[2] for r in rows))
    got = [side.totals(ref) for side in sides]
    if any(g != expected for g in got):
        raise BenchMismatch(f"{case.name}: baseline, bare DBAPI and ledger wrote {got}, the stream {expected}")
    rate, base, bare = (len(rows) / secs[side] for side in (ledger, raw, driver))
    ratio = rate / base
    batched = case.batch > 1
    return CaseResult(engine_kind, case.name, case.batch, case.mode, len(rows), round(rate, 1), round(base, 1),
                      round(ratio, 3), round(secs[ledger], 4), round(secs[raw], 4), got[2][1], got[0][1],
                      round(bare, 1), round(rate / bare, 3),
                      TARGET_RATIO if batched else None, (ratio >= TARGET_RATIO) if batched else None)


def run_engine(engine_kind: str, url: str, case_list: Sequence[Case], *, accounts: int = ACCOUNTS,
               progress: Progress | None = None, on_result: Callable[[CaseResult], None] | None = None,
               seed: int = SEED) -> list[CaseResult]:
    """All cases on one (fresh, empty) database at `url`; the schema is made here by `upgrade`."""
    engine = create_engine(url)
    raw = driver = None
    try:
        upgrade(engine)
        ledger = LedgerSide(engine, accounts)
        raw = RawSide(engine, accounts)
        driver = RawSide(engine, accounts, driver=True)
        rng, keys = random.Random(seed), KeyMaker()
        results = []
        for case in case_list:
            result = run_case(ledger, raw, driver, engine_kind, case, stream(case, accounts, rng, keys), progress)
            results.append(result)
            if on_result is not None:
                on_result(result)
        if not (ledger.balances() == raw.balances() == driver.balances()):
            raise BenchMismatch(f"{engine_kind}: account balances differ between the ledger and the baseline")
        return results
    finally:
        for side in (raw, driver):
            if side is not None:
                side.close()
        engine.dispose()


@contextmanager
def scratch_database(engine_kind: str, db: str | None = None) -> Iterator[str]:
    """A fresh database for one run, removed afterwards.

    PostgreSQL: `cunguan_bench_<random>` created on the server of `db` (default `DEFAULT_PG_URL`) and
    dropped at the end. SQLite: a temporary file, or the file `db` names if that does not exist yet."""
    if engine_kind == "postgresql":
        admin_url = normalize_url(db or DEFAULT_PG_URL)
        name = f"cunguan_bench_{uuid.uuid4().hex[:10]}"
        admin = sa_create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()
        return
    if engine_kind != "sqlite":
        raise ValueError(f"unknown engine {engine_kind!r} (use sqlite or postgresql)")
    if db:
        path = Path(make_url(db).database or "")
        if not path.name or path.exists():
            raise ValueError(f"the SQLite benchmark needs a new file, {str(path)!r} exists or is empty")
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    tmp = Path(tempfile.mkdtemp(prefix="cunguan_bench_"))
    try:
        yield f"sqlite:///{tmp / 'bench.sqlite3'}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def engine_of(db: str | None) -> str | None:
    if not db:
        return None
    backend = make_url(normalize_url(db)).get_backend_name()
    return backend if backend in ENGINES else None


def main(engine: str | None = None, db: str | None = None, quick: bool = False, as_json: bool = False,
         echo: Callable[[str], None] = print) -> list[CaseResult]:
    """Run the benchmark and print one line (or one JSON object) per case; the CLI entry point."""
    if engine is not None and engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (use sqlite or postgresql)")
    kinds = [engine] if engine else ([engine_of(db)] if engine_of(db) else list(ENGINES))
    case_list = cases(quick)
    results: list[CaseResult] = []

    def emit(result: CaseResult) -> None:
        results.append(result)
        out(result.json() if as_json else result.line())

    if as_json:
        out = echo
        for kind in kinds:
            with scratch_database(kind, db if engine_of(db) == kind else None) as url:
                run_engine(kind, url, case_list, on_result=emit)
        return results

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(highlight=False)
    def out(line: str) -> None:
        console.print(line, soft_wrap=True, markup=False)

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        for kind in kinds:
            setup = bar.add_task(f"{kind}: setup ({ACCOUNTS:,} accounts)", total=None)
            tasks = {c: bar.add_task(f"{kind}: {c.name}", total=3 * c.transfers, visible=False) for c in case_list}

            def advance(case: Case, n: int, tasks=tasks, setup=setup) -> None:
                if not bar.tasks[tasks[case]].visible:
                    bar.update(setup, visible=False)
                    bar.update(tasks[case], visible=True)
                bar.advance(tasks[case], n)

            def done(result: CaseResult, tasks=tasks) -> None:
                for c, t in tasks.items():
                    if c.name == result.case:
                        bar.update(t, visible=False)
                emit(result)

            with scratch_database(kind, db if engine_of(db) == kind else None) as url:
                run_engine(kind, url, case_list, progress=advance, on_result=done)
    return results
