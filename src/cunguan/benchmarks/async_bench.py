"""ASYNC_TRANSACTION throughput end to end (`cunguan bench async`): HTTP in, ledger, NOTIFY out.

The real server path: the app (`create_app`) served by uvicorn in a subprocess on 127.0.0.1, with its
own runner thread(s) and notification delivery worker; clients that sign and submit batches
concurrently with the LanmaoClient; a local receiver that verifies and counts every NOTIFY. The
target (custody.md "Capacity") is 3,000,000 details in ≤ 5 minutes on SQLite on a 2-core machine.

Stages, each timed from the first submission: `accept` (the last batch answered SUCCESS), `apply`
(no detail left PENDING, polled from the database), `notify` (the last NOTIFY received). The rate
is details / notify time. The server's memory is sampled from /proc/<pid>/status (VmRSS, and
VmHWM for the peak). At the end the server is stopped and the ledger is audited (`audit_ok`), and
every detail's outcome in the NOTIFYs is checked against what the mix expects (`outcomes_ok`).
Then, on the same database with the server gone, the ledger benchmark's raw batched baseline
(`benchmarks/ledger.raw_batched_rate`: hand-written SQL, 1,000 transfers a transaction) writes
`BASELINE_TRANSFERS`; `ratio_to_baseline` is the run's postings per second over its transfers per
second — how much of what this database can write at all the whole path (HTTP, signatures, trade
rules, freezes, NOTIFY) delivers.

THE ONE PLACE TO CHANGE THE WORKLOAD is `prepare` + `detail_mix` below: the product claim's mix —
70 % TENDER releases of prepared bids (1-3 TENDER details + COMMISSION each) and 30 % REPAYMENTs from
borrowers' prepared repayment freezes, ~3 % refused (100014 / 100008) — executed by the runner's
default executor, the batched trade executor (`custody/trade_batch`). Preparation (users, projects,
freezes, shares, created in bulk) is timed separately (`prepare_s`) and not counted in the rate.
The server is `cunguan serve`'s own shape (`benchmarks/server.py`): `http_workers` HTTP processes
accept, the supervisor process runs the runner and the NOTIFY delivery. `--profile FILE` makes the
runner's process profile its chunks with cProfile (`CUNGUAN_BENCH_PROFILE`), dump the stats to FILE
(for `python -m pstats FILE`) and the report names the top entries by own time (`profile_top`): the
issue's "CPU profile's top entries". Profiling slows the runner (≈ 1.5-2×), so a profiled run's rate
is not the benchmark's figure.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from cunguan.benchmarks import server as bench_server
from cunguan.benchmarks.ledger import engine_of, raw_batched_rate, scratch_database
from cunguan.benchmarks.sync_bench import sign_ms
from cunguan.client import LanmaoClient, signing
from cunguan.client import client as client_module
from cunguan.client import form as form_codec
from cunguan.clock import BEIJING, Clock
from cunguan.custody import platforms, user_store
from cunguan.custody.async_batches import MAX_DETAILS_PER_BATCH
from cunguan.db import ledger_store
from cunguan.db.engine import create_engine
from cunguan.db.ledger_audit import audit
from cunguan.db.migrate import upgrade
from cunguan.db.tables.custody_async import custody_async_batches
from cunguan.db.tables.ledger import postings
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Hold, Transfer
from cunguan.settings import Settings

PLATFORM_NO = "6900000001"
DEFAULT_DETAILS = 100_000
DEFAULT_USERS = 2_000
DEFAULT_CONCURRENCY = 4
STALL_TIMEOUT_S = 120.0
"""The run fails if no stage makes progress for this long."""
POLL_S = 0.25
LEDGER_CHUNK = 1_000


# ---------------------------------------------------------------- THE WORKLOAD (switch here)

TENDER_TRADES_PER_PROJECT = 50
BIDS_CYCLE = (1, 2, 3, 1, 2, 1, 3, 2, 1, 1)
"""TENDER details per TENDER trade, cycling (17 bids per 10 trades: 50 % one bid, 30 % two, 20 % three)."""
BIDS_PREFIX = tuple(sum(BIDS_CYCLE[:k]) for k in range(len(BIDS_CYCLE) + 1))
HOLDERS_PER_PROJECT = 100
REPAYMENTS_PER_HOLDER = 3
BORROWERS = 500
TENDER_REFUSAL_EVERY = 37
REPAYMENT_REFUSAL_EVERY = 41
PREP_TRADES = 2_000
"""TENDER trades prepared per transaction (≤ 6,000 ledger holds: one ledger batch)."""


def _tender_counts(details: int) -> tuple[int, int]:
    """(TENDER trades, REPAYMENT trades): detail i is TENDER when i % 10 < 7."""
    tenders = details // 10 * 7 + min(details % 10, 7)
    return tenders, details - tenders


def _bid_start(t: int) -> int:
    return t // 10 * BIDS_PREFIX[-1] + BIDS_PREFIX[t % 10]


def _bid_fen(b: int) -> int:
    return 10_000 + (b * 7_919) % 90_000


def _principal_fen(rp: int, h: int) -> int:
    return 10_000 + (rp * 131 + h * 17) % 50_000


@dataclass
class Workload:
    """The prepared world the mix refers to (everything derives from the detail index)."""

    platform_no: str
    investors: list[str]
    tenders: int
    repayments: int
    holders: int = HOLDERS_PER_PROJECT
    """Holders per REPAYING project (fewer when there are fewer investors: a holder holds one share)."""

    @property
    def details(self) -> int:
        return self.tenders + self.repayments

    def tender_investor(self, b: int) -> str:
        return self.investors[(b * 7919) % len(self.investors)]

    def holder(self, rp: int, h: int) -> str:
        return self.investors[(rp * 101 + h) % len(self.investors)]

    def repayment(self, r: int) -> tuple[int, str, int, int, bool]:
        """(project, holder, amount, income, refused) of the r-th REPAYMENT trade."""
        per_project = self.holders * REPAYMENTS_PER_HOLDER
        rp, h = r // per_project, r % self.holders
        principal = _principal_fen(rp, h)
        income = principal // 10
        refused = r % REPAYMENT_REFUSAL_EVERY == REPAYMENT_REFUSAL_EVERY - 1
        if refused:  # above the holder's whole share (never grows): refused in any order (100008)
            principal = REPAYMENTS_PER_HOLDER * principal + 1
        return rp, self.holder(rp, h), principal + income, income, refused


def _borrower(kind: str, project: int) -> str:
    return f"{kind}{project % BORROWERS:04d}"


def _create_users(engine: Engine, platform_no: str, numbers: list[str], roles: dict[str, str],
                  funds: dict[str, int]) -> None:
    now = platforms.now_us(Clock())
    for start in range(0, len(numbers), LEDGER_CHUNK):
        part = numbers[start:start + LEDGER_CHUNK]

        def create(conn, part=part) -> None:
            cash = platforms.get_platform(conn, platform_no).custody_account_id
            ops = []
            for no in part:
                user = user_store.create_user(
                    conn, now, platform_no=platform_no, platform_user_no=no, user_type="PERSONAL",
                    user_role=roles.get(no, "INVESTOR"), name=None, id_card_type=None, id_card_no=None,
                    personal_id_unique=False, mobile=None, bankcard_no=None, bankcode=None, access_type="FULL_CHECKED",
                    audit_status="PASSED", active_status="ACTIVATED", request_no=None)
                if funds.get(no):
                    ops.append(Transfer(cash, user.ledger_account_id, funds[no], "BENCH_FUNDING", f"fund:{no}"))
            if ops:
                ledger_store.apply(conn, ops, atomic=True)

        run_in_transaction(engine, create)


def _project_row(platform_no: str, no: str, borrower: str, amount: int, now: int, *, repaying: bool) -> dict:
    return dict(platform_no=platform_no, project_no=no, borrower_user_no=borrower, project_name=f"标的{no}",
                project_description=None, project_type="STANDARDPOWDER", project_period=90,
                annual_interest_rate="0.12", repayment_way="ONE_TIME_SERVICING", project_properties="NEW",
                exchange_asset=False, extend_json=None, status="REPAYING" if repaying else "COLLECTING",
                ever_repaying=repaying, project_amount_fen=amount, loan_fen=amount if repaying else 0,
                tender_frozen_fen=0 if repaying else amount, repaid_principal_fen=0, income_fen=0, compensated_fen=0,
                compensation_repaid_fen=0, request_no=f"EST-{no}", created_us=now, updated_us=now)


def _order_row(platform_no: str, no: str, user: str, biz: str, project: str, amount: int, now: int) -> dict:
    return dict(platform_no=platform_no, request_no=no, service_name="USER_AUTO_PRE_TRANSACTION", platform_user_no=user,
                biz_type=biz, project_no=project, amount_fen=amount, consumed_fen=0, released_fen=0,
                pre_marketing_fen=0, marketing_spent=False, share_fen=0, share_bought_fen=0,
                creditsale_request_no=None, original_recharge_no=None, remark=None, status="FREEZED",
                created_us=now, updated_us=now)


def prepare(engine: Engine, platform_no: str, users: int, details: int) -> Workload:
    """Create the world of the mix, in bulk (not counted in the rate): `users` investors, 500 + 500
    borrowers, COLLECTING projects with the investors' TENDER bids frozen (one freeze order per TENDER
    detail), REPAYING projects whose holders hold shares and whose borrower froze the repayments
    (one REPAYMENT freeze per project, shared by its 300 repayments). Rows go straight into the tables
    and the freezes through `ledger_store.apply` (Holds, ≤ 6,000 per transaction) — the state the
    services would have left, without their per-request cost."""
    from cunguan.custody.trade_common import pre_key
    from cunguan.db.tables.custody_trades import custody_pre_transactions, custody_projects, custody_shares

    investors = [f"BU{i:07d}" for i in range(users)]
    tenders, repayments = _tender_counts(details)
    work = Workload(platform_no, investors, tenders, repayments, min(HOLDERS_PER_PROJECT, users))
    bids = _bid_start(tenders)
    funds: dict[str, int] = {}
    for b in range(bids):
        inv = work.tender_investor(b)
        funds[inv] = funds.get(inv, 0) + _bid_fen(b)
    per_project = work.holders * REPAYMENTS_PER_HOLDER
    repay_projects = -(-repayments // per_project)
    repay_freeze: dict[int, int] = {}
    for r in range(repayments):
        rp, _holder, amount, _income, _refused = work.repayment(r)
        repay_freeze[rp] = repay_freeze.get(rp, 0) + amount
    roles = {}
    for rp, amount in repay_freeze.items():
        borrower = _borrower("RB", rp)
        funds[borrower] = funds.get(borrower, 0) + amount
    borrowers = [f"{k}{i:04d}" for k in ("TB", "RB") for i in range(BORROWERS)]
    roles.update(dict.fromkeys(borrowers, "BORROWERS"))
    _create_users(engine, platform_no, investors + borrowers, roles, funds)
    accounts = _account_ids(engine, platform_no, investors + borrowers)
    now = platforms.now_us(Clock())

    for first in range(0, tenders, PREP_TRADES):  # TENDER projects, one transaction per PREP_TRADES trades
        def tender_part(conn, first=first) -> None:
            last = min(tenders, first + PREP_TRADES)
            holds, orders, totals = [], [], {}
            for b in range(_bid_start(first), _bid_start(last)):
                t = _trade_of_bid(b)
                tp = t // TENDER_TRADES_PER_PROJECT
                inv, amount = work.tender_investor(b), _bid_fen(b)
                no = f"BD{b:08d}"
                holds.append(Hold(accounts[inv], amount, pre_key(platform_no, no), f"BENCH_BID:{no}"))
                orders.append(_order_row(platform_no, no, inv, "TENDER", f"TP{tp:06d}", amount, now))
                totals[tp] = totals.get(tp, 0) + amount
            ledger_store.apply(conn, holds, atomic=True)
            conn.execute(custody_pre_transactions.insert(), orders)
            _add_tender_projects(conn, platform_no, totals, now, custody_projects)

        run_in_transaction(engine, tender_part)

    for first in range(0, repay_projects, 20):  # REPAYING projects: shares and the borrower's freeze
        def repay_part(conn, first=first) -> None:
            holds, orders, projects_, shares_ = [], [], [], []
            for rp in range(first, min(repay_projects, first + 20)):
                borrower, no, project_no = _borrower("RB", rp), f"RF{rp:06d}", f"RP{rp:06d}"
                holds.append(Hold(accounts[borrower], repay_freeze[rp], pre_key(platform_no, no), f"BENCH_REPAY:{no}"))
                orders.append(_order_row(platform_no, no, borrower, "REPAYMENT", project_no, repay_freeze[rp], now))
                loan = 0
                for h in range(work.holders):
                    share = REPAYMENTS_PER_HOLDER * _principal_fen(rp, h)
                    loan += share
                    shares_.append(dict(platform_no=platform_no, project_no=project_no, holder_user_no=work.holder(rp, h),
                                        principal_fen=share, locked_fen=0, created_us=now, updated_us=now))
                projects_.append(_project_row(platform_no, project_no, borrower, loan, now, repaying=True))
            ledger_store.apply(conn, holds, atomic=True)
            conn.execute(custody_pre_transactions.insert(), orders)
            conn.execute(custody_projects.insert(), projects_)
            conn.execute(custody_shares.insert(), shares_)

        run_in_transaction(engine, repay_part)
    return work


def _trade_of_bid(b: int) -> int:
    cycle, rest = divmod(b, BIDS_PREFIX[-1])
    k = max(i for i in range(len(BIDS_CYCLE)) if BIDS_PREFIX[i] <= rest)
    return cycle * 10 + k


def _add_tender_projects(conn, platform_no: str, totals: dict[int, int], now: int, table) -> None:
    """Insert the projects first seen in this part; add to those a previous part started."""
    from sqlalchemy import select, update

    nos = {f"TP{tp:06d}": amount for tp, amount in totals.items()}
    existing = {r[0]: r[1] for r in conn.execute(select(table.c.project_no, table.c.id)
                                                  .where(table.c.platform_no == platform_no,
                                                         table.c.project_no.in_(sorted(nos))))}
    for no, amount in nos.items():
        if no in existing:
            conn.execute(update(table).where(table.c.id == existing[no]).values(
                project_amount_fen=table.c.project_amount_fen + amount,
                tender_frozen_fen=table.c.tender_frozen_fen + amount))
    new = [_project_row(platform_no, no, _borrower("TB", int(no[2:])), amount, now, repaying=False)
           for no, amount in nos.items() if no not in existing]
    if new:
        conn.execute(table.insert(), new)


def _account_ids(engine: Engine, platform_no: str, numbers: list[str]) -> dict[str, int]:
    codes = {user_store.ledger_code(platform_no, n): n for n in numbers}
    with engine.connect() as conn:
        out: dict[str, int] = {}
        keys = sorted(codes)
        for start in range(0, len(keys), 900):
            for code, acc in ledger_store.account_ids(conn, keys[start:start + 900]).items():
                out[codes[code]] = acc
    return out


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


def detail_mix(i: int, work: Workload) -> tuple[dict[str, Any], bool]:
    """The i-th bizDetail and whether it should succeed. Seven in ten are TENDER releases of prepared
    bids (1-3 TENDER details + the borrower's 1 % COMMISSION; every 37th asks one fen more than a bid
    holds: FAIL 100014), three in ten REPAYMENTs of one holder from the borrower's repayment freeze
    (principal + 10 % interest; every 41st above the holder's whole share: FAIL 100008). Every
    outcome is the same in any execution order (batches run concurrently)."""
    request_no = f"AB{i:09d}"
    if i % 10 < 7:
        t = i // 10 * 7 + i % 10
        tp = t // TENDER_TRADES_PER_PROJECT
        borrower = _borrower("TB", tp)
        refused = t % TENDER_REFUSAL_EVERY == TENDER_REFUSAL_EVERY - 1
        details, total = [], 0
        for b in range(_bid_start(t), _bid_start(t + 1)):
            amount = _bid_fen(b) + (1 if refused and not details else 0)
            total += amount
            details.append({"bizType": "TENDER", "freezeRequestNo": f"BD{b:08d}",
                            "sourcePlatformUserNo": work.tender_investor(b), "targetPlatformUserNo": borrower,
                            "amount": _yuan(amount)})
        details.append({"bizType": "COMMISSION", "sourcePlatformUserNo": borrower, "amount": _yuan(max(1, total // 100))})
        return {"requestNo": request_no, "tradeType": "TENDER", "projectNo": f"TP{tp:06d}", "details": details}, \
            not refused
    r = i // 10 * 3 + i % 10 - 7
    rp, holder, amount, income, refused = work.repayment(r)
    return {"requestNo": request_no, "tradeType": "REPAYMENT", "projectNo": f"RP{rp:06d}", "details": [
        {"bizType": "REPAYMENT", "freezeRequestNo": f"RF{rp:06d}", "sourcePlatformUserNo": _borrower("RB", rp),
         "targetPlatformUserNo": holder, "amount": _yuan(amount), "income": _yuan(income)}]}, not refused


SIGN_PROCESSES = 2
STAMP_AHEAD_S = 240
"""Presigned requests carry a timestamp this far ahead of the signing time: the server accepts ±600 s,
so the batches stay valid from 6 minutes before to 14 minutes after signing, which covers signing
3,000,000 details and submitting them all."""


def _sign_part(args: tuple[Workload, str, str, int, int, int]) -> tuple[list[bytes], dict[str, str]]:
    """Worker-process job: the signed form bodies of batches [first, last) and each detail's expected status."""
    work, key_pem, stamp, first, last, batch_size = args
    client = LanmaoClient("http://bench.invalid", work.platform_no, key_pem, signing.public_key_pem(
        signing.load_private_key(key_pem)))
    bodies, expected = [], {}
    try:
        for n in range(first, last):
            items = []
            for i in range(n * batch_size, min(work.details, (n + 1) * batch_size)):
                item, ok = detail_mix(i, work)
                items.append(item)
                expected[item["requestNo"]] = "SUCCESS" if ok else "FAIL"
            fields = client.build_form("ASYNC_TRANSACTION", {"batchNo": f"BATCH{n:07d}", "bizDetails": items,
                                                           "timestamp": stamp})
            bodies.append(form_codec.encode(fields.items()))
    finally:
        client.close()
    return bodies, expected


def presign(work: Workload, key_pem: str, details: int, batch_size: int,
            progress: Callable[[int], None] | None = None) -> tuple[list[bytes], dict[str, str]]:
    """Every batch built, signed and form-encoded BEFORE the clock starts (decision: the platform's cost
    of building and signing 3,000 large requests is the client's, not the server's, and the client
    shares the 2 cores; the sync benchmark does the same). Returns the bodies in batch order and each
    detail's expected status."""
    assert work.details == details
    stamp = (dt.datetime.now(BEIJING) + dt.timedelta(seconds=STAMP_AHEAD_S)).strftime("%Y%m%d%H%M%S")
    batches = -(-details // batch_size)
    step = max(1, min(50, batches // (SIGN_PROCESSES * 4) or 1))
    jobs = [(work, key_pem, stamp, first, min(batches, first + step), batch_size) for first in range(0, batches, step)]
    bodies: list[bytes] = []
    expected: dict[str, str] = {}
    with ProcessPoolExecutor(SIGN_PROCESSES) as pool:
        for part_bodies, part_expected in pool.map(_sign_part, jobs):
            bodies.extend(part_bodies)
            expected.update(part_expected)
            if progress:
                progress(len(part_expected))
    return bodies, expected


class Receiver:
    """The platform's notify URL: verifies each NOTIFY's signature, records every detail's status."""

    def __init__(self, bank_public_key_pem: str) -> None:
        self.key = signing.load_public_key(bank_public_key_pem)
        self.statuses: dict[str, str] = {}
        self.notifies = 0
        self.bad_signatures = 0
        self.last_us = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(form_codec.decode(self.rfile.read(length)))
                receiver.take(form)
                body = b"SUCCESS"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, name="bench-receiver", daemon=True).start()

    def take(self, form: dict[str, str]) -> None:
        resp = form.get("respData", "")
        ok = signing.verify(self.key, resp.encode("utf-8"), form.get("sign", ""))
        data = json.loads(resp) if ok else {}
        with self.lock:
            if not ok:
                self.bad_signatures += 1
                return
            if form.get("serviceName") == "ASYNC_TRANSACTION":
                self.notifies += 1
                for d in data.get("details", []):
                    self.statuses[d["asyncRequestNo"]] = d["status"]
                self.last_us = time.perf_counter()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- the run


@dataclass
class Result:
    details: int
    seconds: float
    rate_per_s: float
    max_rss_mib: float
    audit_ok: bool
    outcomes_ok: bool
    engine: str
    batches: int
    batch_size: int
    concurrency: int
    runner_threads: int
    http_workers: int
    users: int
    prepare_s: float
    presign_s: float
    stages_s: dict[str, float] = field(default_factory=dict)
    accept_p50_ms: float = 0.0
    accept_max_ms: float = 0.0
    succeeded: int = 0
    failed: int = 0
    postings: int = 0
    postings_per_s: float = 0.0
    baseline_rate_per_s: float = 0.0
    ratio_to_baseline: float = 0.0
    cpu_ms_per_detail: dict[str, float] = field(default_factory=dict)
    """CPU the run cost per detail, by role (`bench_server.CpuByRole`), from the first submission to
    the last NOTIFY: `http` (acceptance), `runner`, `supervisor` (NOTIFY delivery), `database`
    (PostgreSQL on this host; SQLite works inside the others), `total`."""
    sign_ms: float = 0.0
    """One RSA-2048 response signature on this machine (`sync_bench.sign_ms`): how fast its cores are
    (the issue's reference machine: ≈ 0.33 ms), so runs on different machines can be compared."""
    profile_top: list[dict[str, Any]] = field(default_factory=list)
    """`--profile` only: the runner's `PROFILE_TOP` functions by own time (`function`, `calls`, `own_s`,
    `cumulative_s`), from the cProfile stats of every chunk."""
    workload: str = "70 % TENDER releases (1-3 bids + COMMISSION), 30 % REPAYMENT (see detail_mix)"

    def line(self) -> str:
        s = self.stages_s
        return (f"{self.engine}: {self.details:,} details in {self.batches:,} batches of ≤{self.batch_size} "
                f"({self.concurrency} clients, {self.http_workers} HTTP worker(s), {self.runner_threads} runner thread(s)): {self.seconds:.1f} s, "
                f"{self.rate_per_s:,.0f} details/s | accept {s.get('accept', 0):.1f} s (p50 {self.accept_p50_ms:.0f} ms,"
                f" max {self.accept_max_ms:.0f} ms), apply {s.get('apply', 0):.1f} s, notify {s.get('notify', 0):.1f} s"
                f" | success {self.succeeded:,} fail {self.failed:,} | server max RSS {self.max_rss_mib:.0f} MiB"
                f" | audit {'ok' if self.audit_ok else 'FAILED'}, outcomes {'ok' if self.outcomes_ok else 'WRONG'}"
                f" | {self.postings:,} postings, {self.postings_per_s:,.0f}/s = {self.ratio_to_baseline:.2f} of the raw"
                f" batched baseline's {self.baseline_rate_per_s:,.0f} transfers/s"
                f" | CPU ms/detail: {', '.join(f'{k} {v:.3f}' for k, v in self.cpu_ms_per_detail.items())}"
                f" | prepare {self.prepare_s:.1f} s, presign {self.presign_s:.1f} s | sign {self.sign_ms:.2f} ms"
                + "".join(f"\n  profile: {e['own_s']:8.3f} s own {e['cumulative_s']:8.3f} s cum {e['calls']:>10,} calls  "
                          f"{e['function']}" for e in self.profile_top))


PROFILE_TOP = 15
"""Entries of the runner's profile the report names."""


def profile_top(path: str, n: int = PROFILE_TOP) -> list[dict[str, Any]]:
    """The `n` functions of a cProfile stats file with the most own time, most first."""
    import pstats

    stats = pstats.Stats(path).stats  # {(file, line, name): (primitive calls, calls, own, cumulative, callers)}
    top = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:n]
    return [{"function": pstats.func_std_string(func), "calls": calls, "own_s": round(own, 3),
             "cumulative_s": round(cum, 3)} for func, (_prim, calls, own, cum, _callers) in top]


def _pending(engine: Engine) -> int:
    """Details not yet applied, from the batch rows' counters (one row per 1,000 details): counting the
    PENDING detail rows scanned an index of millions of entries every poll — ~0.8 s each at 3M details,
    a whole core of the 2-core machine taken from the server being measured."""
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_deferred=True)  # a reader: never queue for the write lock
        b = custody_async_batches.c
        return int(conn.execute(select(func.coalesce(func.sum(b.detail_count - b.done_count), 0))).scalar_one())


BASELINE_TRANSFERS = 60_000
"""Transfers the ledger's raw batched baseline writes after the run, on the run's database."""


def _last_posting(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(postings.c.seq), 0))).scalar_one())


def _database_pids(engine: Engine) -> Callable[[], list[int]] | None:
    """PostgreSQL: the backends serving the run's database (this benchmark's own polling one included,
    a few statements a second); SQLite: None (its work is done inside the server's processes)."""
    if engine.dialect.name != "postgresql":
        return None

    def pids() -> list[int]:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))
                        .scalars())

    return pids


def run(url: str, *, details: int, users: int, batch_size: int, concurrency: int, runner_threads: int,
        http_workers: int = 1, progress: Callable[[str, int], None] | None = None,
        baseline_transfers: int = BASELINE_TRANSFERS, profile: str | None = None) -> Result:
    assert 1 <= batch_size <= MAX_DETAILS_PER_BATCH and details >= 1 and concurrency >= 1
    engine = create_engine(url)
    upgrade(engine)
    bank_key = signing.generate_private_key()
    run_in_transaction(engine, lambda c: platforms.install_bank_key(c, signing.private_key_pem(bank_key), 0))
    platform_key = signing.generate_private_key()
    machine_sign_ms = sign_ms(platform_key)
    receiver = Receiver(signing.public_key_pem(bank_key))
    run_in_transaction(engine, lambda c: platforms.create_platform(
        c, platforms.now_us(Clock()), platform_no=PLATFORM_NO, name="bench", notify_url=receiver.url,
        public_key_pem=signing.public_key_pem(platform_key)))
    t_prep = time.perf_counter()
    work = prepare(engine, PLATFORM_NO, users, details)
    prepare_s = time.perf_counter() - t_prep
    t_sign = time.perf_counter()
    bodies, expected = presign(work, signing.private_key_pem(platform_key), details, batch_size,
                               (lambda n: progress("sign", n)) if progress else None)
    presign_s = time.perf_counter() - t_sign
    postings_before = _last_posting(engine)
    env = {"CUNGUAN_ASYNC_THREADS": str(runner_threads), "CUNGUAN_ASYNC_WORKER": "on", "CUNGUAN_NOTIFY_WORKER": "on"}
    if profile:
        env[bench_server.ENV_PROFILE] = str(profile)
    prefix = Settings.from_env().lanmao_prefix
    latencies: list[float] = []
    stages: dict[str, float] = {}
    try:
        with bench_server.server_process(url, workers=http_workers, env=env) as (proc, port):
            base = f"http://127.0.0.1:{port}"
            sampler = bench_server.RssSampler(proc.pid)
            cpu = bench_server.CpuByRole(proc.pid, _database_pids(engine))
            clients = [LanmaoClient(f"{base}{prefix}", PLATFORM_NO, platform_key, signing.public_key_pem(bank_key),
                                    timeout_s=120.0) for _ in range(concurrency)]
            local = threading.local()
            free = list(clients)
            free_lock = threading.Lock()

            def submit(n: int) -> None:
                if not hasattr(local, "client"):
                    with free_lock:
                        local.client = free.pop()
                client = local.client
                t = time.perf_counter()
                response = client.http.post(f"{client.base_url}/service", content=bodies[n], headers=client_module.FORM_HEADERS)
                result = client.read_result(response)
                latencies.append(time.perf_counter() - t)
                if result.outcome != "S":
                    raise RuntimeError(f"batch {n} refused: {result.data}")
                bodies[n] = b""  # sent: let it go
                if progress:
                    progress("accept", min(batch_size, details - n * batch_size))

            t0 = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                futures = [pool.submit(submit, n) for n in range(len(bodies))]
                for f in futures:
                    f.result()
            stages["accept"] = time.perf_counter() - t0
            applied_reported = 0
            last_change, last_seen = time.perf_counter(), (-1, -1)
            while True:
                pending = _pending(engine)
                if progress:
                    progress("apply", details - pending - applied_reported)
                    applied_reported = details - pending
                    with receiver.lock:
                        got = len(receiver.statuses)
                    progress("notify_total", got)
                if pending == 0 and "apply" not in stages:
                    stages["apply"] = time.perf_counter() - t0
                with receiver.lock:
                    received = len(receiver.statuses)
                if received >= details:
                    stages["notify"] = receiver.last_us - t0
                    # apply is seen by polling (every POLL_S); every detail was applied before its NOTIFY
                    stages["apply"] = min(stages.get("apply", stages["notify"]), stages["notify"])
                    break
                if (pending, received) != last_seen:
                    last_seen, last_change = (pending, received), time.perf_counter()
                elif time.perf_counter() - last_change > STALL_TIMEOUT_S:
                    raise RuntimeError(f"no progress for {STALL_TIMEOUT_S:.0f} s ({pending} pending, "
                                       f"{received} notified)")
                time.sleep(POLL_S)
            max_rss = sampler.stop()
            cpu_s = cpu.stop()
            for c in clients:
                c.close()
    finally:
        receiver.close()
    violations = audit(engine)
    posted = _last_posting(engine) - postings_before
    # The server is gone: the baseline has the machine and the (now full-sized) database to itself.
    baseline = raw_batched_rate(engine, baseline_transfers)
    engine.dispose()
    outcomes_ok = receiver.statuses == expected and receiver.bad_signatures == 0
    seconds = stages["notify"]
    latencies.sort()
    succeeded = sum(1 for s in receiver.statuses.values() if s == "SUCCESS")
    return Result(details=details, seconds=round(seconds, 3), rate_per_s=round(details / seconds, 1),
                  max_rss_mib=round(max_rss, 1), audit_ok=not violations, outcomes_ok=outcomes_ok,
                  engine=make_engine_name(url), batches=len(bodies), batch_size=batch_size, concurrency=concurrency,
                  runner_threads=runner_threads, http_workers=http_workers, users=users, prepare_s=round(prepare_s, 1), presign_s=round(presign_s, 1),
                  stages_s={k: round(v, 3) for k, v in stages.items()},
                  accept_p50_ms=round(1000 * latencies[len(latencies) // 2], 1),
                  accept_max_ms=round(1000 * latencies[-1], 1), succeeded=succeeded,
                  failed=len(receiver.statuses) - succeeded, postings=posted,
                  postings_per_s=round(posted / seconds, 1), baseline_rate_per_s=round(baseline, 1),
                  ratio_to_baseline=round(posted / seconds / baseline, 3),
                  cpu_ms_per_detail={role: round(1000 * v / details, 4) for role, v in sorted(cpu_s.items())},
                  sign_ms=machine_sign_ms, profile_top=profile_top(str(profile)) if profile else [])


def make_engine_name(url: str) -> str:
    return engine_of(url) or "sqlite"


def main(*, details: int = DEFAULT_DETAILS, db: str | None = None, as_json: bool = False, users: int = DEFAULT_USERS,
         batch_size: int = MAX_DETAILS_PER_BATCH, concurrency: int = DEFAULT_CONCURRENCY, runner_threads: int = 1,
         http_workers: int = 1, profile: str | None = None, echo: Callable[[str], None] = print) -> Result:
    """The CLI entry point: a scratch database (SQLite unless --db names a PostgreSQL server), one run."""
    kind = engine_of(db) or "sqlite"
    kwargs = dict(details=details, users=users, batch_size=batch_size, concurrency=concurrency,
                  runner_threads=runner_threads, http_workers=http_workers, profile=profile)
    if as_json:
        with scratch_database(kind, db) as url:
            result = run(url, **kwargs)
        echo(json.dumps(asdict(result), ensure_ascii=False))
        return result
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(highlight=False)
    with Progress(TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        tasks = {name: bar.add_task(name, total=details) for name in ("sign", "accept", "apply", "notify")}

        def progress(stage: str, n: int) -> None:
            if stage == "notify_total":
                bar.update(tasks["notify"], completed=n)
            else:
                bar.advance(tasks[stage], n)

        with scratch_database(kind, db) as url:
            result = run(url, progress=progress, **kwargs)
    console.print(result.line(), soft_wrap=True, markup=False)
    return result


