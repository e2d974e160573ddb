"""The single-request path under load (`cunguan bench sync`): USER_AUTO_PRE_TRANSACTION and one-detail
SYNC_TRANSACTION, signed, from concurrent clients, against the real server.

Target (issue 5 §3): 32 concurrent clients, ≥ 1,000 requests/s with p99 ≤ 50 ms on SQLite, ≥ 800/s on
PostgreSQL, on the 2-core machine that also runs the clients.

The server: `cunguan serve`'s own shape in a subprocess on 127.0.0.1 (`benchmarks/server.py`): `--workers
N` HTTP processes on one database (the bank key comes from the database, so every worker signs with
the same key) beside the supervisor running the background workers.

The workload: every client worker owns a stream of pairs, each one a bid and its release —
1. USER_AUTO_PRE_TRANSACTION TENDER 1.00 yuan by an investor (who granted TENDER) on a project;
2. SYNC_TRANSACTION tradeType TENDER with ONE detail, consuming that bid's freeze: investor → borrower
   (放款 of one bid). Real trade-core work: project lock, freeze consumption, share row, trade + detail
   rows, project accumulators.
Investors rotate over `investors`; projects over `projects` (each worker keeps to one project so that
its bid and release meet the same row); each project has a borrower of its own, as loans do. (Decision:
with one borrower owning every project, every release credits that one account and PostgreSQL runs them
one at a time on its row lock: measured 224 requests/s there, the lock held from the ledger step to
the commit. A platform's concurrent releases are of different loans.)

Signing (decision): each request's `sign` is the client's cost, not the server's, and the client runs on
the same 2 cores. By default (`presign`) every request is built and signed BEFORE the clock starts (a
budget of `seconds × PRESIGN_RATE_PER_S` requests; the run ends early if they run out) and the timed
phase only sends them; with `sign_live=True` (`--sign-live`) each worker signs in the timed phase, as a
real platform would, and the server gets that much less CPU. Both are honest; the report says which.
Every response's `sign` header is verified with the bank public key in both modes (cheap: RSA verify).

The client: asyncio, one keep-alive HTTP/1.1 connection per worker, raw requests on a socket (httpx costs
more CPU per request than the server's own work here). Latency is client wall time per request, send to
last byte. An error is any answer that is not HTTP 200 + verified `sign` + `code` "0" + `status` SUCCESS.

Baselines in the same run, same server, same clients: `baseline` = QUERY_USER_INFORMATION of
SYS_GENERATE_000 (signed request, a one-row read, signed response: the pipe with no business write);
`commit_rate_per_s` = durable one-row insert+commit on one connection of the same database (the raw
write floor); `sign_ms` = one RSA-2048 SHA1withRSA signature of a response-sized body in this process
(the per-response CPU the bank cannot avoid; the issue's reference machine signed in ≈ 0.33 ms, a
machine seen in stop 17 in 0.72 ms, so the same code reaches different rates on them). `ratio` = rate /
baseline rate.
At the end the server stops and the ledger is audited (`audit_ok`); the business rows are counted
against the successes (`rows_ok`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from cunguan.benchmarks import server as bench_server
from cunguan.benchmarks.ledger import engine_of, scratch_database
from cunguan.client import signing, wire
from cunguan.clock import BEIJING, Clock
from cunguan.custody import authorizations, platforms, projects, user_store
from cunguan.db import ledger_store
from cunguan.db.engine import create_engine
from cunguan.db.ledger_audit import audit
from cunguan.db.migrate import upgrade
from cunguan.db.tables.custody_trades import custody_pre_transactions, custody_trades
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer
from cunguan.settings import Settings

PLATFORM_NO = "6900000002"
DEFAULT_CLIENTS = 32
DEFAULT_SECONDS = 20.0
DEFAULT_INVESTORS = 2_000
DEFAULT_PROJECTS = 32
BID_YUAN = "1.00"
USER_FUNDS_FEN = 100_000_000  # 1,000,000 yuan per investor: never the limit
PROJECT_YUAN = 100_000_000  # never oversubscribed in a run
PRESIGN_RATE_PER_S = 1_600
"""Requests signed ahead per second of `seconds` (above any rate this machine reaches)."""
WARMUP_PAIRS = 2
BASELINE_SECONDS_MAX = 5.0
REQUEST_TIMEOUT_S = 30.0
CHUNK = 1_000


# ---------------------------------------------------------------- prepare


@dataclass(frozen=True)
class World:
    platform_key_pem: str
    bank_public_pem: str
    investors: list[str]
    projects: list[str]


def prepare(engine: Engine, *, investors: int, projects_n: int) -> World:
    """A platform, `investors` funded investors with a TENDER authorization (no cap), and `projects_n`
    COLLECTING projects, each of its own borrower (`borrower_of`); the bank key installed (its public half is what
    the clients verify with)."""
    bank = signing.generate_private_key()
    platform_key = signing.generate_private_key()
    clock = Clock()
    now = platforms.now_us(clock)
    run_in_transaction(engine, lambda c: platforms.install_bank_key(c, signing.private_key_pem(bank), now))
    run_in_transaction(engine, lambda c: platforms.create_platform(
        c, now, platform_no=PLATFORM_NO, name="bench-sync", notify_url="http://127.0.0.1:9/notify",
        public_key_pem=signing.public_key_pem(platform_key)))
    nos = [f"SI{i:07d}" for i in range(investors)]

    def make_user(conn, no: str, role: str):
        return user_store.create_user(
            conn, now, platform_no=PLATFORM_NO, platform_user_no=no, user_type="PERSONAL", user_role=role,
            name=None, id_card_type=None, id_card_no=None, personal_id_unique=False, mobile=None, bankcard_no=None,
            bankcode=None, access_type="FULL_CHECKED", audit_status="PASSED", active_status="ACTIVATED",
            request_no=None)

    terms = authorizations.AuthTerms(("TENDER",), None, None)
    for start in range(0, investors, CHUNK):
        part = nos[start:start + CHUNK]

        def create(conn, part=part) -> None:
            cash = platforms.get_platform(conn, PLATFORM_NO).custody_account_id
            ops = []
            for no in part:
                user = make_user(conn, no, "INVESTOR")
                authorizations.grant(conn, user, terms, f"AUTH-{no}", now)
                ops.append(Transfer(cash, user.ledger_account_id, USER_FUNDS_FEN, "BENCH_FUNDING", f"fund:{no}"))
            ledger_store.apply(conn, ops, atomic=True)

        run_in_transaction(engine, create)
    project_nos = [f"SP{i:05d}" for i in range(projects_n)]
    for no in project_nos:
        run_in_transaction(engine, lambda c, no=no: make_user(c, borrower_of(no), "BORROWERS"))
        req = {"requestNo": f"EST-{no}", "platformUserNo": borrower_of(no), "projectNo": no,
               "projectAmount": str(PROJECT_YUAN), "projectName": f"bench {no}", "projectType": "STANDARDPOWDER",
               "annnualInterestRate": "0.10", "repaymentWay": "ONE_TIME_SERVICING", "projectPeriod": 90}
        run_in_transaction(engine, lambda c, req=req: projects.establish_project(c, clock, PLATFORM_NO, req))
    return World(signing.private_key_pem(platform_key), signing.public_key_pem(bank), nos, project_nos)


def borrower_of(project_no: str) -> str:
    return f"SB{project_no[2:]}"


# ---------------------------------------------------------------- the requests


def pair_data(worker: int, i: int, world_investors: int, project_no: str, stamp: str) -> tuple[dict, dict]:
    """The i-th (bid, release) of a worker, as reqData dicts."""
    investor = f"SI{(worker + i * 7919) % world_investors:07d}"
    bid_no = f"B{worker:03d}-{i:07d}"
    bid = {"requestNo": bid_no, "platformUserNo": investor, "bizType": "TENDER", "amount": BID_YUAN,
           "projectNo": project_no, "timestamp": stamp}
    release = {"requestNo": f"T{worker:03d}-{i:07d}", "tradeType": "TENDER", "projectNo": project_no,
               "details": [{"bizType": "TENDER", "freezeRequestNo": bid_no, "sourcePlatformUserNo": investor,
                            "targetPlatformUserNo": borrower_of(project_no),
                            "amount": BID_YUAN}],
               "timestamp": stamp}
    return bid, release


def form_body(key, service: str, data: dict) -> bytes:
    req_data = wire.dumps(data)
    return urlencode({"serviceName": service, "platformNo": PLATFORM_NO, "reqData": req_data, "keySerial": "1",
                      "sign": signing.sign(key, req_data.encode("utf-8"))}).encode("ascii")


def _sign_range(args: tuple[str, int, int, int, int, str, str]) -> list[tuple[bytes, bytes]]:
    """Worker-process job: sign pairs [start, stop) of one client worker."""
    pem, worker, start, stop, investors, project_no, stamp = args
    key = signing.cached_private_key(pem)
    out = []
    for i in range(start, stop):
        bid, release = pair_data(worker, i, investors, project_no, stamp)
        out.append((form_body(key, "USER_AUTO_PRE_TRANSACTION", bid), form_body(key, "SYNC_TRANSACTION", release)))
    return out


def presign(world: World, clients: int, pairs_per_worker: int, stamp: str) -> list[list[tuple[bytes, bytes]]]:
    jobs = [(world.platform_key_pem, w, 0, pairs_per_worker, len(world.investors),
             world.projects[w % len(world.projects)], stamp) for w in range(clients)]
    with ProcessPoolExecutor(max(1, min(2, os.cpu_count() or 1))) as pool:
        return list(pool.map(_sign_range, jobs))


def beijing_stamp() -> str:
    return dt.datetime.now(BEIJING).strftime("%Y%m%d%H%M%S")


# ---------------------------------------------------------------- the server subprocess


# ---------------------------------------------------------------- the client


class Conn:
    """One keep-alive HTTP/1.1 connection sending pre-built form POSTs."""

    def __init__(self, port: int, path: str) -> None:
        self.port, self.path = port, path
        self.head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ").encode("ascii")
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def post(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(self.head + str(len(body)).encode("ascii") + b"\r\n\r\n" + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        data = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


@dataclass
class Tally:
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    first_errors: list[str] = field(default_factory=list)
    by_service: dict[str, int] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(what[:300])


def check_answer(bank_key, status: int, headers: dict[str, str], body: bytes) -> str | None:
    """None when the answer is a verified SUCCESS, else why not."""
    if status != 200:
        return f"HTTP {status}"
    sign = headers.get("sign")
    if sign is None or not signing.verify(bank_key, body, sign):
        return "response signature missing or wrong"
    try:
        parsed = json.loads(body)
    except ValueError:
        return "response is not JSON"
    if parsed.get("code") != "0" or parsed.get("status") != "SUCCESS":
        return f"{parsed.get('errorCode')} {parsed.get('errorMessage')}"
    return None


async def _drive(port: int, path: str, bank_pem: str, streams: list[Callable[[int], bytes | None]],
                 seconds: float, warmup: int, tally: Tally, services: tuple[str, ...],
                 progress: Callable[[int], None] | None) -> float:
    """Run every stream in its own connection: `stream(n)` is the n-th body to send (None: exhausted).
    The first `warmup` requests of each stream are untimed; returns the timed phase's wall seconds."""
    bank_key = signing.load_public_key(bank_pem)
    conns = [Conn(port, path) for _ in streams]
    for c in conns:
        await c.open()
    warm = asyncio.Barrier(len(streams) + 1)
    state = {"t0": 0.0, "stop": 0.0, "last": 0.0}

    async def one(conn: Conn, stream: Callable[[int], bytes | None]) -> None:
        n = 0
        while n < warmup:
            body = stream(n)
            if body is None:
                break
            await conn.post(body)
            n += 1
        await warm.wait()
        while time.perf_counter() < state["stop"]:
            body = stream(n)
            if body is None:
                break
            t = time.perf_counter()
            try:
                status, headers, data = await asyncio.wait_for(conn.post(body), REQUEST_TIMEOUT_S)
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                tally.error(f"transport: {type(exc).__name__}")
                await conn.close()
                n += 1
                continue
            done = time.perf_counter()
            tally.latencies_s.append(done - t)
            state["last"] = max(state["last"], done)
            service = services[n % len(services)]
            tally.by_service[service] = tally.by_service.get(service, 0) + 1
            why = check_answer(bank_key, status, headers, data)
            if why is not None:
                tally.error(f"{service}: {why}")
            if progress is not None:
                progress(1)
            n += 1

    tasks = [asyncio.create_task(one(c, s)) for c, s in zip(conns, streams, strict=True)]
    await warm.wait()
    state["t0"] = time.perf_counter()
    state["stop"] = state["t0"] + seconds
    await asyncio.gather(*tasks)
    for c in conns:
        await c.close()
    return max(state["last"], state["t0"]) - state["t0"]


# ---------------------------------------------------------------- the run


@dataclass
class Result:
    engine: str
    requests: int
    seconds: float
    rate_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    clients: int
    workers: int
    signing: str
    baseline_requests: int
    baseline_rate_per_s: float
    baseline_p50_ms: float
    baseline_p99_ms: float
    ratio: float
    commit_rate_per_s: float
    sign_ms: float
    audit_ok: bool
    rows_ok: bool
    meets_target: bool
    target: str
    by_service: dict[str, int] = field(default_factory=dict)
    first_errors: list[str] = field(default_factory=list)
    prepare_s: float = 0.0
    server_cpu_ms_per_request: float = 0.0
    """Server CPU (all its processes) in the timed phase (+ warm-up) per request: the figure the machine's
    other load does not move."""
    baseline_server_cpu_ms_per_request: float = 0.0
    client_cpu_ms_per_request: float = 0.0
    """This process's CPU (the clients: sending, reading, verifying; signing too with --sign-live)."""
    investors: int = 0
    projects: int = 0
    workload: str = ("USER_AUTO_PRE_TRANSACTION TENDER 1.00 + SYNC_TRANSACTION TENDER one detail consuming that "
                     "bid's freeze (investor → borrower)")

    def line(self) -> str:
        return (f"{self.engine}: {self.requests:,} requests in {self.seconds:.1f} s = {self.rate_per_s:,.0f}/s "
                f"p50 {self.p50_ms:.1f} ms p99 {self.p99_ms:.1f} ms max {self.max_ms:.0f} ms, errors {self.errors} "
                f"({self.clients} clients, {self.workers} server worker(s), {self.signing}) | baseline "
                f"QUERY_USER_INFORMATION {self.baseline_rate_per_s:,.0f}/s p99 {self.baseline_p99_ms:.1f} ms, "
                f"ratio {self.ratio:.2f} | durable commit {self.commit_rate_per_s:,.0f}/s | sign "
                f"{self.sign_ms:.2f} ms | audit "
                f"{'ok' if self.audit_ok else 'FAILED'}, rows {'ok' if self.rows_ok else 'WRONG'} | target "
                f"{self.target}: {'met' if self.meets_target else 'NOT met'} | server CPU {self.server_cpu_ms_per_request:.2f} "
                f"ms/request (baseline {self.baseline_server_cpu_ms_per_request:.2f})")


def _pct(sorted_s: list[float], q: float) -> float:
    if not sorted_s:
        return 0.0
    return round(1000 * sorted_s[min(len(sorted_s) - 1, max(0, math.ceil(q * len(sorted_s)) - 1))], 2)


def sign_ms(key, *, rounds: int = 5, per_round: int = 40) -> float:
    """The best round's mean time of one response signature (`signing.sign`) with `key`."""
    body = b"x" * 400
    best = math.inf
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(per_round):
            signing.sign(key, body)
        best = min(best, (time.perf_counter() - t0) / per_round)
    return round(1000 * best, 3)


def commit_rate(engine: Engine, seconds: float = 1.0) -> float:
    """Durable one-row insert + commit on one connection of the engine, for `seconds`."""
    ddl = ("CREATE TABLE IF NOT EXISTS bench_commit (id INTEGER PRIMARY KEY, v BIGINT NOT NULL)"
           if engine.dialect.name == "sqlite" else
           "CREATE TABLE IF NOT EXISTS bench_commit (id BIGSERIAL PRIMARY KEY, v BIGINT NOT NULL)")
    with engine.begin() as conn:
        conn.exec_driver_sql(ddl)
    n = 0
    with engine.connect() as conn:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            with conn.begin():
                conn.execute(text("INSERT INTO bench_commit (v) VALUES (:v)"), {"v": n})
            n += 1
        elapsed = time.perf_counter() - t0
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE bench_commit")
    return round(n / elapsed, 1)


def _run_loop(coro):
    """asyncio.run in a thread of its own: the caller may already run an event loop (a test process
    with a browser fixture, a notebook)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="bench-sync-clients")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _target(kind: str) -> tuple[str, float, float | None]:
    return ("≥1000/s p99≤50ms", 1000.0, 50.0) if kind == "sqlite" else ("≥800/s", 800.0, None)


def run(url: str, *, clients: int = DEFAULT_CLIENTS, seconds: float = DEFAULT_SECONDS, workers: int = 1,
        investors: int = DEFAULT_INVESTORS, projects_n: int = DEFAULT_PROJECTS, sign_live: bool = False,
        baseline_seconds: float | None = None, progress: Callable[[str, int], None] | None = None) -> Result:
    assert clients >= 1 and seconds > 0 and workers >= 1
    kind = engine_of(url) or "sqlite"
    engine = create_engine(url)
    upgrade(engine)
    t_prep = time.perf_counter()
    world = prepare(engine, investors=investors, projects_n=projects_n)
    stamp = beijing_stamp()
    pairs_per_worker = WARMUP_PAIRS + math.ceil(seconds * PRESIGN_RATE_PER_S / 2 / clients) + 1
    presigned = None if sign_live else presign(world, clients, pairs_per_worker, stamp)
    platform_key = signing.load_private_key(world.platform_key_pem)
    query_body = form_body(platform_key, "QUERY_USER_INFORMATION",
                           {"platformUserNo": "SYS_GENERATE_000", "timestamp": stamp})
    prepare_s = time.perf_counter() - t_prep
    commit_per_s = commit_rate(engine)
    sign_cost_ms = sign_ms(platform_key)

    def stream_of(w: int) -> Callable[[int], bytes | None]:
        project_no = world.projects[w % len(world.projects)]
        if presigned is not None:
            pairs = presigned[w]

            def pre(n: int) -> bytes | None:
                return pairs[n // 2][n % 2] if n // 2 < len(pairs) else None
            return pre

        cache: dict[int, tuple[dict, dict]] = {}

        def live(n: int) -> bytes | None:
            i = n // 2
            if i not in cache:
                cache.clear()
                cache[i] = pair_data(w, i, len(world.investors), project_no, beijing_stamp())
            service = ("USER_AUTO_PRE_TRANSACTION", "SYNC_TRANSACTION")[n % 2]
            return form_body(platform_key, service, cache[i][n % 2])
        return live

    path = Settings.from_env().lanmao_prefix + "/service"
    main_tally, base_tally = Tally(), Tally()
    base_s = min(seconds, BASELINE_SECONDS_MAX) if baseline_seconds is None else baseline_seconds
    with bench_server.server_process(url, workers=workers) as (proc, port):
        cpu0, client0 = bench_server.cpu_s(proc.pid), time.process_time()
        main_s = _run_loop(_drive(
            port, path, world.bank_public_pem, [stream_of(w) for w in range(clients)], seconds, 2 * WARMUP_PAIRS,
            main_tally, ("USER_AUTO_PRE_TRANSACTION", "SYNC_TRANSACTION"),
            (lambda n: progress("main", n)) if progress else None))
        cpu1, client1 = bench_server.cpu_s(proc.pid), time.process_time()
        base_run_s = _run_loop(_drive(
            port, path, world.bank_public_pem, [lambda n: query_body] * clients, base_s, 2, base_tally,
            ("QUERY_USER_INFORMATION",), (lambda n: progress("baseline", n)) if progress else None))
        cpu2 = bench_server.cpu_s(proc.pid)
    violations = audit(engine)
    with engine.connect() as conn:
        bids = conn.execute(select(func.count()).select_from(custody_pre_transactions)
                            .where(custody_pre_transactions.c.platform_no == PLATFORM_NO)).scalar_one()
        trades_n = conn.execute(select(func.count()).select_from(custody_trades)
                                .where(custody_trades.c.platform_no == PLATFORM_NO)).scalar_one()
    engine.dispose()
    # every bid sent (warm-up included) that answered SUCCESS left a row; likewise every release
    warm = clients * WARMUP_PAIRS
    rows_ok = (main_tally.errors > 0 or
               (bids == warm + main_tally.by_service.get("USER_AUTO_PRE_TRANSACTION", 0)
                and trades_n == warm + main_tally.by_service.get("SYNC_TRANSACTION", 0)))
    lat = sorted(main_tally.latencies_s)
    blat = sorted(base_tally.latencies_s)
    requests = len(lat)
    rate = requests / main_s if main_s > 0 else 0.0
    base_rate = len(blat) / base_run_s if base_run_s > 0 else 0.0
    target, min_rate, max_p99 = _target(kind)
    p99 = _pct(lat, 0.99)
    meets = rate >= min_rate and main_tally.errors == 0 and (max_p99 is None or p99 <= max_p99)
    return Result(engine=kind, requests=requests, seconds=round(main_s, 3), rate_per_s=round(rate, 1),
                  p50_ms=_pct(lat, 0.50), p99_ms=p99, max_ms=_pct(lat, 1.0), errors=main_tally.errors,
                  clients=clients, workers=workers, signing="live" if sign_live else "presigned",
                  baseline_requests=len(blat), baseline_rate_per_s=round(base_rate, 1),
                  baseline_p50_ms=_pct(blat, 0.5), baseline_p99_ms=_pct(blat, 0.99),
                  ratio=round(rate / base_rate, 3) if base_rate else 0.0, commit_rate_per_s=commit_per_s,
                  sign_ms=sign_cost_ms,
                  audit_ok=not violations, rows_ok=bool(rows_ok), meets_target=meets, target=target,
                  by_service=main_tally.by_service, first_errors=main_tally.first_errors + base_tally.first_errors,
                  prepare_s=round(prepare_s, 1), investors=investors, projects=projects_n,
                  server_cpu_ms_per_request=round(1000 * (cpu1 - cpu0) / max(1, requests + 2 * warm), 3),
                  baseline_server_cpu_ms_per_request=round(1000 * (cpu2 - cpu1) / max(1, len(blat) + 2 * clients), 3),
                  client_cpu_ms_per_request=round(1000 * (client1 - client0) / max(1, requests + 2 * warm), 3))


def main(*, clients: int = DEFAULT_CLIENTS, seconds: float = DEFAULT_SECONDS, db: str | None = None,
         workers: int = 1, sign_live: bool = False, investors: int = DEFAULT_INVESTORS,
         projects_n: int = DEFAULT_PROJECTS, as_json: bool = False, echo: Callable[[str], None] = print) -> Result:
    """The CLI entry point: a scratch database (SQLite unless --db names a PostgreSQL server), one run."""
    kind = engine_of(db) or "sqlite"
    kwargs = dict(clients=clients, seconds=seconds, workers=workers, sign_live=sign_live, investors=investors,
                  projects_n=projects_n)
    if as_json:
        with scratch_database(kind, db) as url:
            result = run(url, **kwargs)
        echo(json.dumps(asdict(result), ensure_ascii=False))
        return result
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(highlight=False)
    with Progress(TextColumn("{task.description:<9}"), BarColumn(), TextColumn("{task.completed:,.0f} requests"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        tasks = {"main": bar.add_task("bid+sync", total=None), "baseline": bar.add_task("baseline", total=None)}

        def progress(stage: str, n: int) -> None:
            bar.advance(tasks[stage], n)

        with scratch_database(kind, db) as url:
            result = run(url, progress=progress, **kwargs)
    console.print(result.line(), soft_wrap=True, markup=False)
    if result.first_errors:
        console.print("first errors: " + "; ".join(result.first_errors), soft_wrap=True, markup=False)
    return result

