"""The streaming importer: `import_directory` reads users.csv, balances.csv, projects.csv and shares.csv
of a migration directory (formats.py) and applies them to custody in chunks of `CHUNK_ROWS` rows,
one transaction per chunk. Memory does not depend on file size: rows are read one at a time, and
nothing holds the rows of more than one chunk.

Idempotency and crashes. Each file is a *run*, keyed by (platform, kind, SHA-256 of the file). A chunk
commits its business rows (users with their ledger accounts, migration state, issues, balances with
their postings) together with the run's checkpoint (the last line done) and counters. So:
- importing the same file again finds its run DONE and changes nothing ("already imported");
- after a crash (kill -9) the run is RUNNING with the checkpoint of the last committed chunk; running
  the import again skips the lines up to the checkpoint and completes the rest, exactly once;
- a user number or ID number already on the platform (an earlier line, an earlier file, a user who
  registered normally) is rejected with the reason — never created twice;
- two importers on one run cannot both apply a chunk: the checkpoint update is conditional on the
  checkpoint it started from.

Users (cleaning.py decides accept / flag / reject) are created with the user store, a chunk at a time
(`user_store.create_users`: custody user rows + ledger accounts `U:{platform}:{user}` in a fixed number
of statements per chunk), DEACTIVATED with
`is_import_user_activate = false`, accessType NOT_AUTH and auditStatus PASSED (no review is pending
until activation; the CHECK constraint has no "not yet" value), no requestNo, no password, and a
`migration_users` row with the card's validity, quick-pay availability and the review flag.

Balances are all or nothing. Pass 1 reads the whole file without writing anything to custody tables
(a temporary table, rolled back, finds repeated users): every row must parse, name an imported user
of this platform that has no migrated balance yet, and the total must equal the platform's one
transfer to the custody account (`transfer_fen`). Any problem refuses the file (every problem goes
to the report) and nothing is written. Pass 2 credits each balance from the platform's custody cash
account (it may overdraw: the real money is on the custody account) to the user, one posting per
row (business type RECHARGE_BANK, ledger key per requestNo), with a `migration_balances` row and the
requestNo `MIG{run}-{line}` claimed in the request register. A balance row for a user who was not
imported (rejected by cleaning) therefore refuses the whole balances import: the platform completes
that user first (or moves the balance), then imports again. A zero balance is accepted and moves
nothing.

Projects and shares are parsed, validated and staged (`migration_projects`, `migration_shares`;
`staged_shares(conn, platform_no, run_id)` reads them back), then created in custody for real
(`create_projects`, after every shares file). Staging checks rows: a project needs a borrower who is a
user of the platform, an annualInterestRate and a repaymentWay; a share row needs a staged project, a
holder who is a user of the platform, one row per holder, and the project's shares may not exceed its
amount. Creation is per project, all or nothing: a project with any share row rejected for
USER_NOT_IMPORTED, DUPLICATE_SHARE or SHARES_EXCEED_PROJECT is rejected as a whole (reasonCode
PROJECT_REJECTED on its projects.csv line, so no holder silently loses a claim), as is a project with no
share at all (NO_SHARES) or whose projectNo already exists in custody (PROJECT_EXISTS); every other
project becomes a custody project (`projects.import_project`: REPAYING, projectProperties STOCK, loan =
Σ shares) with one share row per holder (`shares.import_holdings`). A project-level rejection is final
for the migration (a later share row for it, or for a project already created, is rejected
PROJECT_CLOSED). Creation streams the staged projects by id in chunks of `chunk_rows` projects, one
transaction per chunk; what is done is visible in custody itself (the project exists with request_no
`MIGP{run}-{line}`, or it has its project-level issue), so a re-run or a resumed run skips it and nothing
is created twice.

Every rejected or flagged row is a `migration_issues` row; the report CSV (`report_path`) lists them
with the reason: file, line, platformUserNo, outcome, reasonCode, reason.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, update
from sqlalchemy.engine import Connection, Engine

from cunguan.clock import Clock
from cunguan.custody import platforms, projects, requests, shares
from cunguan.custody.errors import CustodyError
from cunguan.custody.user_store import NewUser, create_users, find_user
from cunguan.db import ledger_store
from cunguan.db.tables.custody_trades import custody_projects
from cunguan.db.tables.custody_users import custody_requests, custody_users
from cunguan.db.tables.migration import (
    migration_balances,
    migration_issues,
    migration_projects,
    migration_runs,
    migration_shares,
    migration_users,
)
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer
from cunguan.migration import balances, cleaning, formats
from cunguan.migration.cleaning import REJECT, Issue, Rejected
from cunguan.money import format_yuan

CHUNK_ROWS = 1000
"""Rows per transaction (explicit limit: a chunk's rows are the only rows held in memory)."""
MAX_CHUNK_ROWS = 10_000
REASON_CHARS = 300

ProgressFn = Callable[[str, int, int, int], None]
"""progress(file_name, last line done, bytes read, file size in bytes)."""

IMPORTED, ALREADY, REFUSED, ABSENT = "IMPORTED", "ALREADY_IMPORTED", "REFUSED", "ABSENT"
KINDS = {formats.USERS_FILE: "USERS", formats.BALANCES_FILE: "BALANCES", formats.PROJECTS_FILE: "PROJECTS",
         formats.SHARES_FILE: "SHARES"}


class CannotImport(Exception):
    """The import cannot start (unknown platform, missing users.csv, bad arguments)."""


class ConcurrentImport(RuntimeError):
    """Another importer advanced this run's checkpoint first: this chunk is rolled back."""


@dataclass
class FileOutcome:
    file_name: str
    status: str  # IMPORTED / ALREADY_IMPORTED / REFUSED / ABSENT
    run_id: int | None = None
    lines: int = 0
    accepted: int = 0
    flagged: int = 0
    rejected: int = 0
    total_fen: int = 0
    message: str = ""


@dataclass
class ImportResult:
    platform_no: str
    files: list[FileOutcome] = field(default_factory=list)
    report_path: Path | None = None
    report_rows: int = 0

    @property
    def refused(self) -> bool:
        return any(f.status == REFUSED for f in self.files)

    def outcome(self, file_name: str) -> FileOutcome:
        return next(f for f in self.files if f.file_name == file_name)


class Report:
    """The report CSV, written as the import goes (one line per rejected or flagged row)."""

    HEADER = ("file", "line", "platformUserNo", "outcome", "reasonCode", "reason")

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.rows = 0
        self._fh = open(path, "w", encoding="utf-8", newline="") if path is not None else None  # noqa: SIM115
        self._writer = csv.writer(self._fh) if self._fh is not None else None
        if self._writer is not None:
            self._writer.writerow(self.HEADER)

    def write(self, file_name: str, line_no: int, user_no: str | None, outcome: str, code: str, reason: str) -> None:
        self.rows += 1
        if self._writer is not None:
            self._writer.writerow((file_name, line_no, user_no or "", outcome, code, reason))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


# ---------------------------------------------------------------- runs


def _now(clock: Clock) -> int:
    return requests.clock_us(clock)


def find_run(conn: Connection, platform_no: str, kind: str, digest: str) -> dict | None:
    table = migration_runs.c
    row = conn.execute(select(migration_runs).where(table.platform_no == platform_no, table.kind == kind,
                                                    table.file_digest == digest)).mappings().first()
    return dict(row) if row is not None else None


def _open_run(engine: Engine, clock: Clock, platform_no: str, kind: str, digest: str, name: str,
              transfer_fen: int | None = None) -> dict:
    def work(conn: Connection) -> dict:
        run = find_run(conn, platform_no, kind, digest)
        if run is None:
            conn.execute(migration_runs.insert().values(
                platform_no=platform_no, kind=kind, file_digest=digest, file_name=name[:200], status="RUNNING",
                checkpoint_line=0, accepted=0, flagged=0, rejected=0, transfer_fen=transfer_fen, total_fen=0,
                started_us=_now(clock)))
            run = find_run(conn, platform_no, kind, digest)
        assert run is not None
        return run

    return run_in_transaction(engine, work)


def _advance(conn: Connection, run: dict, from_line: int, to_line: int, *, accepted: int = 0, flagged: int = 0,
             rejected: int = 0, total_fen: int = 0) -> None:
    table = migration_runs.c
    result = conn.execute(update(migration_runs).where(table.id == run["id"], table.checkpoint_line == from_line,
                                                       table.status == "RUNNING").values(
        checkpoint_line=to_line, accepted=table.accepted + accepted, flagged=table.flagged + flagged,
        rejected=table.rejected + rejected, total_fen=table.total_fen + total_fen))
    if result.rowcount != 1:
        raise ConcurrentImport(f"run {run['id']} moved on under us (another importer?)")


def _finish(engine: Engine, clock: Clock, run_id: int) -> dict:
    def work(conn: Connection) -> dict:
        conn.execute(update(migration_runs).where(migration_runs.c.id == run_id)
                     .values(status="DONE", finished_us=_now(clock)))
        row = conn.execute(select(migration_runs).where(migration_runs.c.id == run_id)).mappings().one()
        return dict(row)

    return run_in_transaction(engine, work)


def _outcome(name: str, status: str, run: dict, message: str = "") -> FileOutcome:
    return FileOutcome(name, status, int(run["id"]), int(run["checkpoint_line"]), int(run["accepted"]),
                       int(run["flagged"]), int(run["rejected"]), int(run["total_fen"]), message)


def _chunks(rows: Iterable[formats.Row], size: int) -> Iterator[list[formats.Row]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _issue_row(run_id: int, line_no: int, user_no: str | None, issue: Issue) -> dict[str, Any]:
    return dict(run_id=run_id, line_no=line_no, platform_user_no=(user_no or None) and user_no[:50],
                outcome=issue.outcome, reason_code=issue.code, reason=issue.reason[:REASON_CHARS])


def _report_run(engine: Engine, report: Report, file_name: str, run_id: int) -> None:
    """Stream the run's issues into the report (also for a run imported earlier); project-level
    rejections are reported by `create_projects`, once per import."""
    table = migration_issues.c
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_deferred=True, stream_results=True, yield_per=CHUNK_ROWS)
        rows = conn.execute(select(table.line_no, table.platform_user_no, table.outcome, table.reason_code,
                                   table.reason).where(table.run_id == run_id,
                                                       table.reason_code.not_in(PROJECT_CODES))
                            .order_by(table.line_no, table.id))
        for line_no, user_no, outcome, code, reason in rows:
            report.write(file_name, line_no, user_no, outcome, code, reason)
        conn.rollback()


def _rows_after(path: Path, columns: tuple[str, ...], checkpoint: int,
                counter: formats.ByteCounter) -> Iterator[formats.Row]:
    for row in formats.read_rows(path, columns, counter=counter):
        if row.line_no > checkpoint:
            yield row


# ---------------------------------------------------------------- users


def _taken(conn: Connection, platform_no: str, users: list[cleaning.CleanUser]) -> tuple[set[str], dict[str, str]]:
    """What the platform already has of this chunk: user numbers, and ID numbers → their holder."""
    cu, mu = custody_users.c, migration_users.c
    user_nos = [u.platform_user_no for u in users]
    id_nos = list({u.id_card_no for u in users})
    existing = {r[0] for r in conn.execute(select(cu.platform_user_no).where(
        cu.platform_no == platform_no, cu.platform_user_no.in_(user_nos)))} if user_nos else set()
    holders: dict[str, str] = {}
    if id_nos:
        holders.update(conn.execute(select(mu.id_key, mu.platform_user_no).where(
            mu.platform_no == platform_no, mu.id_key.in_(id_nos))).all())
        holders.update(conn.execute(select(cu.personal_id_key, cu.platform_user_no).where(
            cu.platform_no == platform_no, cu.personal_id_key.in_(id_nos))).all())
    return existing, holders


def _users_chunk(conn: Connection, clock: Clock, platform_no: str, run: dict, chunk: list[formats.Row],
                 from_line: int) -> None:
    now = _now(clock)
    today = clock.beijing_date()
    issues: list[dict[str, Any]] = []
    new_users: list[NewUser] = []
    states: list[dict[str, Any]] = []
    accepted = flagged = rejected = 0
    verdicts = [(row, cleaning.clean_user(row.values, today)) for row in chunk]
    existing, holders = _taken(conn, platform_no, [v for _, v in verdicts if not isinstance(v, Rejected)])
    for row, verdict in verdicts:
        if isinstance(verdict, Rejected):
            issues.append(_issue_row(run["id"], row.line_no, verdict.platform_user_no, verdict.issue))
            rejected += 1
            continue
        user_no = verdict.platform_user_no
        if user_no in existing:
            issues.append(_issue_row(run["id"], row.line_no, user_no, Issue(
                REJECT, "USER_EXISTS", "platformUserNo already exists on this platform (earlier line, earlier "
                                       "import or a registered user): not imported again")))
            rejected += 1
            continue
        holder = holders.get(verdict.id_card_no)
        if holder is not None:
            issues.append(_issue_row(run["id"], row.line_no, user_no, Issue(
                REJECT, "DUPLICATE_ID", f"idCardNo already belongs to user {holder[:50]} of this platform "
                                        "(ID numbers are unique per platform)")))
            rejected += 1
            continue
        new_users.append(NewUser(
            platform_user_no=user_no, user_type=verdict.user_type, user_role=verdict.user_role, name=verdict.name,
            id_card_type=verdict.id_card_type, id_card_no=verdict.id_card_no,
            personal_id_unique=verdict.user_type == "PERSONAL", mobile=verdict.mobile,
            bankcard_no=verdict.bankcard_no, bankcode=verdict.bankcode, access_type="NOT_AUTH",
            audit_status="PASSED", active_status="DEACTIVATED"))
        existing.add(user_no)
        holders[verdict.id_card_no] = user_no
        states.append(dict(platform_no=platform_no, platform_user_no=user_no, run_id=run["id"],
                           line_no=row.line_no, id_key=verdict.id_card_no, card_valid=verdict.card_valid,
                           quick_pay=verdict.quick_pay, review_required=verdict.review_required, state="IMPORTED",
                           blocked=False, card_changed=False, updated_us=now))
        for flag in verdict.flags:
            issues.append(_issue_row(run["id"], row.line_no, user_no, flag))
        if verdict.flags:
            flagged += 1
        else:
            accepted += 1
    if new_users:
        ids = create_users(conn, now, platform_no, new_users, is_import_user_activate=False)
        for state in states:
            state["user_id"] = ids[state["platform_user_no"]]
        conn.execute(migration_users.insert(), states)
    if issues:
        conn.execute(migration_issues.insert(), issues)
    _advance(conn, run, from_line, chunk[-1].line_no, accepted=accepted, flagged=flagged, rejected=rejected)


def _chunked_import(engine: Engine, clock: Clock, path: Path, columns: tuple[str, ...], run: dict,
                    chunk_rows: int, progress: ProgressFn | None,
                    apply: Callable[[Connection, dict, list[formats.Row], int], None]) -> dict:
    counter = formats.ByteCounter()
    size = path.stat().st_size
    line = int(run["checkpoint_line"])
    for chunk in _chunks(_rows_after(path, columns, line, counter), chunk_rows):
        start = line
        run_in_transaction(engine, lambda conn, c=chunk, s=start: apply(conn, run, c, s))
        line = chunk[-1].line_no
        if progress is not None:
            progress(path.name, line, counter.bytes_read, size)
    if progress is not None:
        progress(path.name, line, size, size)
    return _finish(engine, clock, int(run["id"]))


def import_users(engine: Engine, clock: Clock, path: Path, platform_no: str, *, chunk_rows: int = CHUNK_ROWS,
                 progress: ProgressFn | None = None, report: Report | None = None) -> FileOutcome:
    report = report or Report(None)
    digest = formats.file_digest(path)
    run = _open_run(engine, clock, platform_no, "USERS", digest, path.name)
    if run["status"] == "DONE":
        _report_run(engine, report, path.name, int(run["id"]))
        return _outcome(path.name, ALREADY, run, "this file was already imported; nothing was changed")
    resumed = int(run["checkpoint_line"]) > 0

    def apply(conn: Connection, r: dict, chunk: list[formats.Row], start: int) -> None:
        _users_chunk(conn, clock, platform_no, r, chunk, start)

    done = _chunked_import(engine, clock, path, formats.USER_COLUMNS, run, chunk_rows, progress, apply)
    _report_run(engine, report, path.name, int(done["id"]))
    return _outcome(path.name, IMPORTED, done, f"resumed after line {run['checkpoint_line']}" if resumed else "")


# ---------------------------------------------------------------- balances

_check_meta = MetaData()
_balance_check = Table("mig_balance_check", _check_meta, Column("platform_user_no", String(50), primary_key=True),
                       Column("line_no", Integer, nullable=False), prefixes=["TEMPORARY"])


@dataclass
class BalanceCheck:
    lines: int = 0
    total_fen: int = 0
    problems: int = 0


def _in_chunks(conn: Connection, stmt_for: Callable[[list[str]], Any], keys: list[str]) -> list[Any]:
    return list(conn.execute(stmt_for(keys))) if keys else []


def check_balances(engine: Engine, path: Path, platform_no: str, *, own_run_id: int | None = None,
                   chunk_rows: int = CHUNK_ROWS, report: Report | None = None,
                   progress: ProgressFn | None = None) -> BalanceCheck:
    """Pass 1: validate the whole balances file and sum it; writes nothing (the temporary table that
    finds repeated users is dropped with the rolled-back transaction). Problems go to the report."""
    report = report or Report(None)
    out = BalanceCheck()
    counter = formats.ByteCounter()
    size = path.stat().st_size
    name = path.name
    with engine.connect() as raw:
        sqlite = raw.dialect.name == "sqlite"
        if sqlite:  # the check table goes to a temporary file, not memory: memory stays flat
            raw.connection.dbapi_connection.execute("PRAGMA temp_store=FILE")  # outside any transaction
        conn = raw.execution_options(sqlite_deferred=True)
        try:
            with conn.begin() as tx:
                _balance_check.create(conn)
                for chunk in _chunks(formats.read_rows(path, formats.BALANCE_COLUMNS, counter=counter), chunk_rows):
                    _check_balance_chunk(conn, platform_no, own_run_id, chunk, name, report, out)
                    if progress is not None:
                        progress(f"{name} (check)", chunk[-1].line_no, counter.bytes_read, size)
                tx.rollback()
        finally:
            if sqlite:
                raw.connection.dbapi_connection.execute("PRAGMA temp_store=MEMORY")
    return out


def _check_balance_chunk(conn: Connection, platform_no: str, own_run_id: int | None, chunk: list[formats.Row],
                         name: str, report: Report, out: BalanceCheck) -> None:
    def problem(row: formats.Row, user_no: str, code: str, reason: str) -> None:
        out.problems += 1
        report.write(name, row.line_no, user_no, REJECT, code, reason)

    good: dict[str, formats.Row] = {}
    for row in chunk:
        out.lines += 1
        user_no = row.get("platformUserNo")
        amount = cleaning.parse_amount(row.get("balance"), "balance", allow_zero=True)
        if not user_no or len(user_no) > cleaning.MAX_NO_LEN:
            problem(row, user_no, "MISSING_DATA" if not user_no else "INVALID_DATA", "platformUserNo is missing or "
                    "longer than 50 characters")
            continue
        if amount.fen is None:
            problem(row, user_no, "INVALID_AMOUNT", amount.problem or "balance is invalid")
            continue
        if user_no in good:
            problem(row, user_no, "DUPLICATE_BALANCE", f"a second balance for this user (first on line "
                                                       f"{good[user_no].line_no})")
            continue
        out.total_fen += amount.fen
        good[user_no] = row
    keys = list(good)
    tmp = _balance_check.c
    for user_no, line_no in _in_chunks(conn, lambda k: select(tmp.platform_user_no, tmp.line_no)
                                       .where(tmp.platform_user_no.in_(k)), keys):
        problem(good.pop(user_no), user_no, "DUPLICATE_BALANCE", f"a second balance for this user (first on line "
                                                                  f"{line_no})")
    keys = list(good)
    mu = migration_users.c
    imported = {r[0] for r in _in_chunks(conn, lambda k: select(mu.platform_user_no).where(
        mu.platform_no == platform_no, mu.platform_user_no.in_(k)), keys)}
    mb = migration_balances.c
    credited = {r[0]: r[1] for r in _in_chunks(conn, lambda k: select(mb.platform_user_no, mb.request_no).where(
        mb.platform_no == platform_no, mb.platform_user_no.in_(k),
        mb.run_id != (own_run_id if own_run_id is not None else -1)), keys)}
    for user_no, row in good.items():
        if user_no not in imported:
            problem(row, user_no, "USER_NOT_IMPORTED", "no imported user with this platformUserNo (rejected by "
                                                       "cleaning or unknown): complete the user first")
        elif user_no in credited:
            problem(row, user_no, "BALANCE_EXISTS", f"the user's balance was already migrated ({credited[user_no]})")
    if good:
        conn.execute(_balance_check.insert(), [dict(platform_user_no=u, line_no=r.line_no) for u, r in good.items()])


def _balances_chunk(conn: Connection, clock: Clock, platform_no: str, custody_id: int, run: dict,
                    chunk: list[formats.Row], from_line: int) -> None:
    now = _now(clock)
    keys = [r.get("platformUserNo") for r in chunk]
    mu, cu = migration_users.c, custody_users.c
    accounts = dict(conn.execute(select(mu.platform_user_no, cu.ledger_account_id).join_from(
        migration_users, custody_users, mu.user_id == cu.id).where(mu.platform_no == platform_no,
                                                                     mu.platform_user_no.in_(keys))).all())
    ops: list[Transfer] = []
    rows: list[dict[str, Any]] = []
    claims: list[dict[str, Any]] = []
    total = 0
    for row in chunk:
        user_no = row.get("platformUserNo")
        amount = cleaning.parse_amount(row.get("balance"), "balance", allow_zero=True)
        assert amount.fen is not None and user_no in accounts, "pass 1 checked every row"
        if amount.fen == 0:
            continue
        request_no = balances.request_no_for(int(run["id"]), row.line_no)
        ops.append(Transfer(debit=custody_id, credit=int(accounts[user_no]), amount_fen=amount.fen,
                            biz_type=balances.BIZ_TYPE, ref=request_no, key=balances.ledger_key(platform_no, request_no)))
        rows.append(dict(platform_no=platform_no, request_no=request_no, run_id=run["id"], line_no=row.line_no,
                         platform_user_no=user_no, amount_fen=amount.fen, created_us=now))
        claims.append(dict(platform_no=platform_no, request_no=request_no, service_name=balances.SERVICE_NAME,
                           platform_user_no=user_no, created_us=now, outcome=json.dumps(
                               {"amount": format_yuan(amount.fen), "rechargeWay": balances.RECHARGE_WAY,
                                "status": "SUCCESS"}, sort_keys=True)))
        total += amount.fen
    if rows:
        conn.execute(custody_requests.insert(), claims)  # the requestNo register: MIG… numbers are taken
        conn.execute(migration_balances.insert(), rows)
        ledger_store.apply(conn, ops, atomic=True)
    _advance(conn, run, from_line, chunk[-1].line_no, accepted=len(chunk), total_fen=total)


def import_balances(engine: Engine, clock: Clock, path: Path, platform_no: str, transfer_fen: int | None, *,
                    chunk_rows: int = CHUNK_ROWS, progress: ProgressFn | None = None,
                    report: Report | None = None) -> FileOutcome:
    report = report or Report(None)
    digest = formats.file_digest(path)
    with engine.connect() as conn:
        run = find_run(conn.execution_options(sqlite_deferred=True), platform_no, "BALANCES", digest)
        conn.rollback()
    if run is not None and run["status"] == "DONE":
        return _outcome(path.name, ALREADY, run, "this file was already imported; nothing was changed")
    if transfer_fen is None:
        return FileOutcome(path.name, REFUSED, message="--transfer-amount (the platform's transfer to the custody "
                                                       "account) is required to import balances")
    if run is not None and run["transfer_fen"] != transfer_fen:
        return FileOutcome(path.name, REFUSED, int(run["id"]), message=(
            f"this file's interrupted import was started with transfer {format_yuan(run['transfer_fen'])}, "
            f"not {format_yuan(transfer_fen)}"))
    check = check_balances(engine, path, platform_no, own_run_id=run["id"] if run else None,
                           chunk_rows=chunk_rows, report=report, progress=progress)
    if check.problems:
        return FileOutcome(path.name, REFUSED, lines=check.lines, rejected=check.problems, total_fen=check.total_fen,
                           message=f"{check.problems} balance row(s) cannot be imported (see the report); "
                                   "nothing was written")
    if check.total_fen != transfer_fen:
        report.write(path.name, 0, None, REJECT, "TOTAL_MISMATCH",
                     f"the balances total {format_yuan(check.total_fen)} yuan but the platform transferred "
                     f"{format_yuan(transfer_fen)} yuan")
        return FileOutcome(path.name, REFUSED, lines=check.lines, total_fen=check.total_fen, message=(
            f"the balances total {format_yuan(check.total_fen)} yuan, not the transfer of "
            f"{format_yuan(transfer_fen)} yuan; nothing was written"))
    run = _open_run(engine, clock, platform_no, "BALANCES", digest, path.name, transfer_fen)
    with engine.connect() as conn:
        account = ledger_store.find_account(conn, platforms.custody_account_code(platform_no))
        conn.rollback()
    assert account is not None, "a platform has a custody cash account"
    custody_id = int(account["id"])
    resumed = int(run["checkpoint_line"]) > 0

    def apply(conn: Connection, r: dict, chunk: list[formats.Row], start: int) -> None:
        _balances_chunk(conn, clock, platform_no, custody_id, r, chunk, start)

    done = _chunked_import(engine, clock, path, formats.BALANCE_COLUMNS, run, chunk_rows, progress, apply)
    with engine.connect() as conn:
        credited = conn.execute(select(func.coalesce(func.sum(migration_balances.c.amount_fen), 0)).where(
            migration_balances.c.run_id == done["id"])).scalar_one()
        conn.rollback()
    assert int(credited) == transfer_fen == int(done["total_fen"]), "migrated balances equal the transfer"
    return _outcome(path.name, IMPORTED, done, f"resumed after line {run['checkpoint_line']}" if resumed else "")


# ---------------------------------------------------------------- projects and shares


def _rate_problem(rate: str | None) -> str | None:
    """Why custody would not take this annualInterestRate (the same rule as ESTABLISH_PROJECT)."""
    try:
        projects.parse_rate(rate, "annualInterestRate")
    except CustodyError as exc:
        return exc.message
    return None


def _projects_chunk(conn: Connection, platform_no: str, run: dict, chunk: list[formats.Row], from_line: int) -> None:
    issues: list[dict[str, Any]] = []
    accepted = rejected = 0
    mp = migration_projects.c
    for row in chunk:
        verdict = cleaning.clean_project(row.values)
        user_no = row.get("borrowerPlatformUserNo") or None
        if isinstance(verdict, Issue):
            issues.append(_issue_row(run["id"], row.line_no, user_no, verdict))
            rejected += 1
            continue
        problem = None
        if find_user(conn, platform_no, verdict.borrower_user_no) is None:
            problem = Issue(REJECT, "USER_NOT_IMPORTED", "the borrower is not a user of this platform")
        elif conn.execute(select(mp.id).where(mp.platform_no == platform_no,
                                              mp.project_no == verdict.project_no)).first() is not None:
            problem = Issue(REJECT, "DUPLICATE_PROJECT", "projectNo was already staged for this platform")
        elif verdict.annual_rate is None or verdict.repayment_way is None:
            problem = Issue(REJECT, "MISSING_DATA", "annualInterestRate and repaymentWay are required to create the "
                                                    "custody project")
        elif _rate_problem(verdict.annual_rate) is not None:
            problem = Issue(REJECT, "INVALID_DATA", _rate_problem(verdict.annual_rate) or "")
        if problem is not None:
            issues.append(_issue_row(run["id"], row.line_no, user_no, problem))
            rejected += 1
            continue
        conn.execute(migration_projects.insert().values(
            platform_no=platform_no, run_id=run["id"], line_no=row.line_no, project_no=verdict.project_no,
            borrower_user_no=verdict.borrower_user_no, project_name=verdict.project_name,
            project_amount_fen=verdict.amount_fen, annual_rate=verdict.annual_rate,
            repayment_way=verdict.repayment_way, project_period=verdict.period))
        accepted += 1
    if issues:
        conn.execute(migration_issues.insert(), issues)
    _advance(conn, run, from_line, chunk[-1].line_no, accepted=accepted, rejected=rejected)


def _shares_chunk(conn: Connection, platform_no: str, run: dict, chunk: list[formats.Row], from_line: int) -> None:
    """Stage a chunk of share rows with a fixed number of reads (projects, closed projects, holders,
    staged holdings and totals of the chunk's projects) and one insert, checking rows in file order
    against what the chunk has accepted so far. A row that passes every own check but belongs to a
    project already created or refused (also by an earlier line of this file) is PROJECT_CLOSED."""
    issues: list[dict[str, Any]] = []
    accepted = rejected = 0
    mp, ms, mi, cp, cu = (migration_projects.c, migration_shares.c, migration_issues.c, custody_projects.c,
                          custody_users.c)
    verdicts = [(row, cleaning.clean_share(row.values)) for row in chunk]
    good = [v for _, v in verdicts if not isinstance(v, Issue)]
    nos = list({v.project_no for v in good})
    holders = list({v.holder_user_no for v in good})
    staged = {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in conn.execute(select(
        mp.project_no, mp.project_amount_fen, mp.run_id, mp.line_no).where(
        mp.platform_no == platform_no, mp.project_no.in_(nos)))} if nos else {}
    closed: set[str] = set()
    if staged:
        closed.update(r[0] for r in conn.execute(select(cp.project_no).where(cp.platform_no == platform_no,
                                                                            cp.project_no.in_(list(staged)))))
        pairs = {(run_id, line_no): no for no, (_, run_id, line_no) in staged.items()}
        closed.update(pairs[(int(r[0]), int(r[1]))] for r in conn.execute(select(mi.run_id, mi.line_no).where(
            mi.run_id.in_({k[0] for k in pairs}), mi.line_no.in_({k[1] for k in pairs}),
            mi.reason_code.in_(PROJECT_CODES))) if (int(r[0]), int(r[1])) in pairs)
    users = {r[0] for r in conn.execute(select(cu.platform_user_no).where(
        cu.platform_no == platform_no, cu.platform_user_no.in_(holders)))} if holders else set()
    taken = {(r[0], r[1]) for r in conn.execute(select(ms.project_no, ms.holder_user_no).where(
        ms.platform_no == platform_no, ms.project_no.in_(list(staged)), ms.holder_user_no.in_(holders)))} \
        if staged and holders else set()
    held = {r[0]: int(r[1]) for r in conn.execute(select(ms.project_no, func.sum(ms.share_fen)).where(
        ms.platform_no == platform_no, ms.project_no.in_(list(staged))).group_by(ms.project_no))} if staged else {}
    inserts: list[dict[str, Any]] = []
    for row, verdict in verdicts:
        user_no = row.get("platformUserNo") or None
        if isinstance(verdict, Issue):
            issues.append(_issue_row(run["id"], row.line_no, user_no, verdict))
            rejected += 1
            continue
        project = staged.get(verdict.project_no)
        total = held.get(verdict.project_no, 0) + verdict.share_fen
        problem = None
        if project is None:
            problem = Issue(REJECT, "UNKNOWN_PROJECT", "projectNo is not a staged project of this platform")
        elif verdict.holder_user_no not in users:
            problem = Issue(REJECT, "USER_NOT_IMPORTED", "the holder is not a user of this platform")
        elif (verdict.project_no, verdict.holder_user_no) in taken:
            problem = Issue(REJECT, "DUPLICATE_SHARE", "this holder already has a staged share of the project")
        elif total > project[0]:
            problem = Issue(REJECT, "SHARES_EXCEED_PROJECT", (
                f"shares would total {format_yuan(total)} yuan, above the project amount "
                f"{format_yuan(project[0])} yuan"))
        elif verdict.project_no in closed:
            problem = Issue(REJECT, "PROJECT_CLOSED", "the project was already created in custody or refused (see "
                                                      "its projects.csv line): its shares cannot change any more")
        if problem is not None:
            issues.append(_issue_row(run["id"], row.line_no, user_no, problem))
            rejected += 1
            if project is not None and problem.code in BLOCKING_SHARE_CODES and verdict.project_no not in closed:
                _block_project(conn, project[1], project[2], verdict.project_no, (
                    f"share line {row.line_no} ({problem.code}) was rejected: the project is not imported"))
                closed.add(verdict.project_no)
            continue
        inserts.append(dict(platform_no=platform_no, run_id=run["id"], line_no=row.line_no,
                            project_no=verdict.project_no, holder_user_no=verdict.holder_user_no,
                            share_fen=verdict.share_fen))
        taken.add((verdict.project_no, verdict.holder_user_no))
        held[verdict.project_no] = total
        accepted += 1
    if inserts:
        conn.execute(migration_shares.insert(), inserts)
    if issues:
        conn.execute(migration_issues.insert(), issues)
    _advance(conn, run, from_line, chunk[-1].line_no, accepted=accepted, rejected=rejected)


def _import_staged(engine: Engine, clock: Clock, path: Path, platform_no: str, kind: str,
                   columns: tuple[str, ...], chunk_fn: Callable[..., None], chunk_rows: int,
                   progress: ProgressFn | None, report: Report) -> FileOutcome:
    digest = formats.file_digest(path)
    run = _open_run(engine, clock, platform_no, kind, digest, path.name)
    if run["status"] == "DONE":
        _report_run(engine, report, path.name, int(run["id"]))
        return _outcome(path.name, ALREADY, run, "this file was already imported; nothing was changed")

    def apply(conn: Connection, r: dict, chunk: list[formats.Row], start: int) -> None:
        chunk_fn(conn, platform_no, r, chunk, start)

    done = _chunked_import(engine, clock, path, columns, run, chunk_rows, progress, apply)
    _report_run(engine, report, path.name, int(done["id"]))
    return _outcome(path.name, IMPORTED, done)


# ---------------------------------------------------------------- custody projects from the staged rows

BLOCKING_SHARE_CODES = ("USER_NOT_IMPORTED", "DUPLICATE_SHARE", "SHARES_EXCEED_PROJECT")
PROJECT_CODES = ("PROJECT_REJECTED", "NO_SHARES", "PROJECT_EXISTS")
"""Project-level rejections, recorded on the project's projects.csv line: final for the migration."""
CUSTODY_PROJECTS = "custody projects"
"""The FileOutcome name of the creation phase (it reads no file)."""


def project_request_no(run_id: int, line_no: int) -> str:
    """The request_no recorded on a migrated custody project (not a platform requestNo)."""
    return f"MIGP{run_id}-{line_no}"


def _project_issue(conn: Connection, run_id: int, line_no: int) -> str | None:
    mi = migration_issues.c
    return conn.execute(select(mi.reason_code).where(mi.run_id == run_id, mi.line_no == line_no,
                                                     mi.reason_code.in_(PROJECT_CODES)).limit(1)).scalar()


def _block_project(conn: Connection, run_id: int, line_no: int, project_no: str, reason: str) -> None:
    if _project_issue(conn, run_id, line_no) is None:
        conn.execute(migration_issues.insert().values(_issue_row(run_id, line_no, None, Issue(
            REJECT, "PROJECT_REJECTED", f"project {project_no[:50]}: {reason}"))))


@dataclass
class _Creation:
    created: int = 0
    rejected: int = 0
    loan_fen: int = 0


def _create_chunk(conn: Connection, clock: Clock, platform_no: str, staged: list[dict[str, Any]],
                  out: _Creation) -> None:
    now = _now(clock)
    nos = [p["project_no"] for p in staged]
    cp, mi, ms = custody_projects.c, migration_issues.c, migration_shares.c
    existing = dict(conn.execute(select(cp.project_no, cp.request_no).where(cp.platform_no == platform_no,
                                                                            cp.project_no.in_(nos))).all())
    closed = {(int(r[0]), int(r[1])) for r in conn.execute(select(mi.run_id, mi.line_no).where(
        mi.run_id.in_({p["run_id"] for p in staged}), mi.line_no.in_({p["line_no"] for p in staged}),
        mi.reason_code.in_(PROJECT_CODES)))}
    holdings: dict[str, dict[str, int]] = {}
    for project_no, holder, share_fen in conn.execute(select(ms.project_no, ms.holder_user_no, ms.share_fen).where(
            ms.platform_no == platform_no, ms.project_no.in_(nos))):
        holdings.setdefault(project_no, {})[holder] = int(share_fen)
    issues: list[dict[str, Any]] = []
    for p in staged:
        run_id, line_no, project_no = int(p["run_id"]), int(p["line_no"]), p["project_no"]
        request_no = project_request_no(run_id, line_no)
        if (run_id, line_no) in closed or existing.get(project_no) == request_no:
            continue  # decided by an earlier chunk, run or crash-interrupted pass
        held = holdings.get(project_no, {})
        problem = None
        if project_no in existing:
            problem = Issue(REJECT, "PROJECT_EXISTS", f"project {project_no[:50]} already exists in custody "
                                                      "(established through the API): not imported")
        elif not held:
            problem = Issue(REJECT, "NO_SHARES", f"project {project_no[:50]} has no valid share in shares.csv: "
                                                 "nothing is held, nothing to import")
        elif p["repayment_way"] is None or _rate_problem(p["annual_rate"]) is not None:
            problem = Issue(REJECT, "PROJECT_REJECTED", f"project {project_no[:50]}: a valid annualInterestRate "
                                                        "and repaymentWay are required (staged by an older importer)")
        if problem is not None:
            issues.append(_issue_row(run_id, line_no, p["borrower_user_no"], problem))
            out.rejected += 1
            continue
        loan = sum(held.values())
        assert loan <= int(p["project_amount_fen"]), "staging keeps a project's shares within its amount"
        projects.import_project(
            conn, now, platform_no=platform_no, project_no=project_no, borrower_user_no=p["borrower_user_no"],
            project_name=p["project_name"] or project_no, project_amount_fen=int(p["project_amount_fen"]),
            loan_fen=loan, annual_interest_rate=p["annual_rate"], repayment_way=p["repayment_way"],
            project_period=p["project_period"], request_no=request_no)
        shares.import_holdings(conn, platform_no, project_no, held, now)
        out.created += 1
        out.loan_fen += loan
    if issues:
        conn.execute(migration_issues.insert(), issues)


def _report_projects(engine: Engine, platform_no: str, staged: list[dict[str, Any]], report: Report) -> tuple[int, int]:
    """Write the project-level rejections of a chunk of staged projects (new or from an earlier run:
    every run's report lists them once) and count (created by migration, rejected) of the chunk."""
    mi, cp = migration_issues.c, custody_projects.c
    by_pair = {(int(p["run_id"]), int(p["line_no"])): p for p in staged}
    with engine.connect() as conn:
        rows = conn.execute(select(mi.run_id, mi.line_no, mi.platform_user_no, mi.outcome, mi.reason_code, mi.reason)
                            .where(mi.run_id.in_({k[0] for k in by_pair}), mi.line_no.in_({k[1] for k in by_pair}),
                                   mi.reason_code.in_(PROJECT_CODES)).order_by(mi.line_no, mi.id)).all()
        requests_nos = dict(conn.execute(select(cp.project_no, cp.request_no).where(
            cp.platform_no == platform_no, cp.project_no.in_([p["project_no"] for p in staged]))).all())
        conn.rollback()
    rejected = 0
    for run_id, line_no, user_no, outcome, code, reason in rows:
        p = by_pair.get((int(run_id), int(line_no)))
        if p is not None:
            report.write(p["file_name"], int(line_no), user_no, outcome, code, reason)
            rejected += 1
    created = sum(1 for (run_id, line_no), p in by_pair.items()
                  if requests_nos.get(p["project_no"]) == project_request_no(run_id, line_no))
    return created, rejected


def create_projects(engine: Engine, clock: Clock, platform_no: str, *, chunk_rows: int = CHUNK_ROWS,
                    progress: ProgressFn | None = None, report: Report | None = None) -> FileOutcome:
    """Create in custody every staged project of the platform not yet created nor rejected, with its
    holders' shares (module docstring). One transaction per chunk of `chunk_rows` projects. The
    outcome counts every migrated project of the platform: accepted = in custody, rejected = refused
    at project level; status ALREADY_IMPORTED when this pass decided nothing new."""
    report = report or Report(None)
    mp, mr = migration_projects.c, migration_runs.c
    new = _Creation()
    created = rejected = 0
    last_id = 0
    while True:
        with engine.connect() as conn:
            staged = [dict(r) for r in conn.execute(
                select(mp.id, mp.run_id, mp.line_no, mp.project_no, mp.borrower_user_no, mp.project_name,
                       mp.project_amount_fen, mp.annual_rate, mp.repayment_way, mp.project_period,
                       mr.file_name).join_from(migration_projects, migration_runs, mr.id == mp.run_id)
                .where(mp.platform_no == platform_no, mp.id > last_id).order_by(mp.id).limit(chunk_rows)).mappings()]
            conn.rollback()
        if not staged:
            break
        attempt = _Creation()

        def work(conn: Connection, chunk: list[dict[str, Any]] = staged, acc: _Creation = attempt) -> None:
            acc.created = acc.rejected = acc.loan_fen = 0  # a retried transaction starts over
            _create_chunk(conn, clock, platform_no, chunk, acc)

        run_in_transaction(engine, work)
        new.created += attempt.created
        new.rejected += attempt.rejected
        new.loan_fen += attempt.loan_fen
        c, r = _report_projects(engine, platform_no, staged, report)
        created += c
        rejected += r
        last_id = int(staged[-1]["id"])
        if progress is not None:
            progress(CUSTODY_PROJECTS, int(staged[-1]["line_no"]), 0, 0)
    status = IMPORTED if new.created or new.rejected or not (created or rejected) else ALREADY
    return FileOutcome(CUSTODY_PROJECTS, status, accepted=created, rejected=rejected, total_fen=new.loan_fen,
                       message=(f"{new.created} project(s) created in custody now ({created} in all), "
                                f"{new.rejected} rejected now ({rejected} in all)"))


@dataclass(frozen=True)
class StagedShare:
    project_no: str
    borrower_user_no: str
    project_amount_fen: int
    holder_user_no: str
    share_fen: int
    line_no: int


def staged_shares(conn: Connection, platform_no: str, run_id: int) -> Iterator[StagedShare]:
    """The valid shares staged by a SHARES run, with their project, in file order (streamed)."""
    mp, ms = migration_projects.c, migration_shares.c
    rows = conn.execution_options(yield_per=CHUNK_ROWS).execute(
        select(ms.project_no, mp.borrower_user_no, mp.project_amount_fen, ms.holder_user_no, ms.share_fen, ms.line_no)
        .join_from(migration_shares, migration_projects, (mp.platform_no == ms.platform_no) &
                   (mp.project_no == ms.project_no))
        .where(ms.platform_no == platform_no, ms.run_id == run_id).order_by(ms.id))
    for r in rows:
        yield StagedShare(r[0], r[1], int(r[2]), r[3], int(r[4]), int(r[5]))


# ---------------------------------------------------------------- the directory


def import_directory(engine: Engine, clock: Clock, directory: Path, platform_no: str, *,
                     transfer_fen: int | None = None, report_path: Path | None = None,
                     chunk_rows: int = CHUNK_ROWS, progress: ProgressFn | None = None) -> ImportResult:
    """Import users, then balances, then projects and shares, then create the staged projects in
    custody (when a shares.csv is present). A refused balances file does not stop the projects (they
    do not depend on it); everything refused is in the result and the report."""
    assert 1 <= chunk_rows <= MAX_CHUNK_ROWS, "chunk_rows out of range"
    directory = Path(directory)
    users_path = directory / formats.USERS_FILE
    if not users_path.is_file():
        raise CannotImport(f"{users_path} does not exist (users.csv is required)")
    if transfer_fen is not None and transfer_fen <= 0:
        raise CannotImport("the transfer amount must be positive")
    with engine.connect() as conn:
        platform = platforms.find_platform(conn.execution_options(sqlite_deferred=True), platform_no)
        conn.rollback()
    if platform is None:
        raise CannotImport(f"platform {platform_no[:32]!r} is not registered")
    result = ImportResult(platform_no, report_path=report_path)
    report = Report(report_path)
    try:
        result.files.append(import_users(engine, clock, users_path, platform_no, chunk_rows=chunk_rows,
                                         progress=progress, report=report))
        balances_path = directory / formats.BALANCES_FILE
        if balances_path.is_file():
            result.files.append(import_balances(engine, clock, balances_path, platform_no, transfer_fen,
                                                chunk_rows=chunk_rows, progress=progress, report=report))
        elif transfer_fen is not None:
            result.files.append(FileOutcome(formats.BALANCES_FILE, REFUSED,
                                            message="a transfer amount was given but there is no balances.csv"))
        for name, kind, columns, fn in (
                (formats.PROJECTS_FILE, "PROJECTS", formats.PROJECT_COLUMNS, _projects_chunk),
                (formats.SHARES_FILE, "SHARES", formats.SHARE_COLUMNS, _shares_chunk)):
            path = directory / name
            if path.is_file():
                result.files.append(_import_staged(engine, clock, path, platform_no, kind, columns, fn, chunk_rows,
                                                   progress, report))
        if (directory / formats.SHARES_FILE).is_file():
            result.files.append(create_projects(engine, clock, platform_no, chunk_rows=chunk_rows, progress=progress,
                                                report=report))
    finally:
        report.close()
        result.report_rows = report.rows
    return result
