"""The ledger on storage: load and lock what a batch touches, run the pure planner, write the result.

Runs inside the caller's transaction (`conn`), so a business operation commits its postings together
with its own rows, its idempotency record and its outbox row. Locking:
- SQLite: the transaction began IMMEDIATE, so it holds the single write lock already.
- PostgreSQL: account rows are locked `FOR UPDATE` in id order, then the chain head; freezes are only
  ever changed under their account's lock. Every writer takes locks in that order, so no deadlock
  cycle can form between ledger writers.
Writes are batched: one multi-row statement per table, each touched account updated once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from cunguan.db import pg_arrays
from cunguan.db.bulk import pg_update_sql, update_rows
from cunguan.db.prepared import driver_sql, pipelined, run_sql
from cunguan.db.tables.ledger import freezes as freezes_table
from cunguan.ledger import core
from cunguan.ledger.chain import posting_body
from cunguan.ledger.core import AccountState, Book, FreezeState, Plan, StoredOutcome, StoredPosting
from cunguan.ledger.errors import DuplicateKey, LedgerError, UnknownAccount
from cunguan.ledger.ops import Hold, Op, OpResult, Release, Transfer


def now_us() -> int:
    return time.time_ns() // 1000


def _is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _in_list(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


# ---------------------------------------------------------------- accounts


def open_account(
    conn: Connection,
    code: str,
    *,
    owner_type: str,
    owner_ref: str,
    allow_overdraw: bool = False,
    currency: str = "CNY",
) -> int:
    """Create an account; a second call with the same code returns the same id if it matches."""
    existing = find_account(conn, code)
    if existing is not None:
        if (existing["owner_type"], existing["owner_ref"], existing["currency"], bool(existing["allow_overdraw"])) != (
            owner_type, owner_ref, currency, allow_overdraw,
        ):
            raise DuplicateKey(f"account code {code!r} already exists with other attributes")
        return int(existing["id"])
    from cunguan.db.tables.ledger import accounts

    result = conn.execute(
        accounts.insert().values(
            code=code, owner_type=owner_type, owner_ref=owner_ref, currency=currency,
            allow_overdraw=allow_overdraw, balance_fen=0, frozen_fen=0, created_us=now_us(),
        )
    )
    return int(result.inserted_primary_key[0])


def open_accounts(conn: Connection, specs: Sequence[tuple[str, str, str]], *, allow_overdraw: bool = False,
                  currency: str = "CNY") -> dict[str, int]:
    """Open many new accounts in two statements (bulk imports): `specs` are (code, owner_type,
    owner_ref). Unlike `open_account` it does not look for existing codes first: a code that exists
    fails on the unique constraint and the caller's transaction rolls back. Returns code → id."""
    from cunguan.db.tables.ledger import accounts

    if not specs:
        return {}
    opened = now_us()
    conn.execute(accounts.insert(), [dict(code=code, owner_type=owner_type, owner_ref=owner_ref, currency=currency,
                                          allow_overdraw=allow_overdraw, balance_fen=0, frozen_fen=0,
                                          created_us=opened) for code, owner_type, owner_ref in specs])
    ids = account_ids(conn, [code for code, _t, _r in specs])
    assert len(ids) == len(specs), "every opened account is found again"
    return ids


def find_account(conn: Connection, code: str) -> dict | None:
    from cunguan.db.tables.ledger import accounts

    row = conn.execute(accounts.select().where(accounts.c.code == code)).mappings().first()
    return dict(row) if row is not None else None


def account_ids(conn: Connection, codes: Iterable[str]) -> dict[str, int]:
    from cunguan.db.tables.ledger import accounts

    codes = list(codes)
    rows = conn.execute(accounts.select().with_only_columns(accounts.c.code, accounts.c.id).where(accounts.c.code.in_(codes)))
    return {code: int(id_) for code, id_ in rows}


def get_balance(conn: Connection, account_id: int) -> tuple[int, int]:
    """(balance_fen, frozen_fen) of an account."""
    row = _run(conn, "SELECT balance_fen, frozen_fen FROM accounts WHERE id = ?", (account_id,)).fetchone()
    if row is None:
        raise UnknownAccount(f"account {account_id} does not exist")
    return int(row[0]), int(row[1])


def balance_at(conn: Connection, account_id: int, at_us: int) -> int:
    """The balance an account had at a moment: the balance after its last posting at or before it.

    Postings carry each side's balance after them, and sequence order equals time order (the chain
    stamps times monotonically), so this is two index look-ups from the newest end."""
    best_seq, best_balance = -1, 0
    for side in ("debit", "credit"):
        row = _run(conn, f"SELECT seq, {side}_balance_after FROM postings WHERE {side}_account_id = ? "  # noqa: S608
                   "AND created_us <= ? ORDER BY seq DESC LIMIT 1", (account_id, at_us)).fetchone()
        if row is not None and row[0] > best_seq:
            best_seq, best_balance = int(row[0]), int(row[1])
    return best_balance


def _run(conn: Connection, sql: str, params: Sequence[object] = (), *, many: bool = False):
    """A `?`-placeholder statement on the driver cursor (db/prepared.py: ~13 µs less than
    `exec_driver_sql` a statement, and a transfer runs about eight)."""
    return run_sql(conn, driver_sql(conn, sql), params, many=many)


def _pg_pipeline(conn: Connection, statements: Sequence[tuple[str, Sequence[object]]]) -> list[list[tuple]]:
    """Run statements in order in one round trip (`db.prepared.pipelined`); each result's rows."""
    with pipelined(conn):
        cursors = [run_sql(conn, sql, params) for sql, params in statements]
    return [cursor.fetchall() if cursor.description is not None else [] for cursor in cursors]


# ---------------------------------------------------------------- loading


def _load_freezes(conn: Connection, keys: list[str]) -> dict[str, FreezeState]:
    if not keys:
        return {}
    cols = "id, key, account_id, amount_fen, consumed_fen, released_fen, ref"
    if _is_pg(conn):
        rhs, param = pg_arrays.any_of(keys)
        rows = run_sql(conn, f"SELECT {cols} FROM freezes WHERE key {rhs}", (param,))  # noqa: S608
    else:
        rows = run_sql(conn, f"SELECT {cols} FROM freezes WHERE key IN ({_in_list(keys)})", tuple(keys))  # noqa: S608
    return {r[1]: FreezeState(r[1], r[2], r[3], r[4], r[5], r[6], id=r[0]) for r in rows}


def _lock_accounts(conn: Connection, ids: list[int]) -> dict[int, AccountState]:
    """SQLite: the transaction already holds the write lock, so this is a plain read. (PostgreSQL locks
    and reads in one pipeline: `_pg_load_locked`.)"""
    if not ids:
        return {}
    assert not _is_pg(conn)
    cols = "id, currency, allow_overdraw, balance_fen, frozen_fen"
    rows = run_sql(conn, f"SELECT {cols} FROM accounts WHERE id IN ({_in_list(ids)})", tuple(ids)).fetchall()  # noqa: S608
    return {r[0]: AccountState(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows}


# One unique-index probe per key. A plain `idem_key = ANY(...)` lets the planner pick a sequential scan
# that compares every posting with every key (the planner sees neither the array's size nor that the
# keys are new); the LIMIT 1 keeps the lateral sub-select a per-key index look-up, whatever the stats.
_OPTIMISTIC_SAVEPOINT = "ledger_keys"
_PG_POSTING_KEYS = (
    "SELECT p.idem_key, p.seq, p.debit_account_id, p.credit_account_id, p.amount_fen, p.freeze_id "
    "FROM unnest({keys}) AS k(key) CROSS JOIN LATERAL (SELECT * FROM postings WHERE idem_key = k.key "
    "LIMIT 1) AS p"
)


def _load_posting_keys(conn: Connection, keys: list[str]) -> dict[str, StoredPosting]:
    """SQLite (PostgreSQL reads the keys in `_pg_load_locked`: a batch with keys always locks accounts)."""
    if not keys:
        return {}
    assert not _is_pg(conn)
    cols = "idem_key, seq, debit_account_id, credit_account_id, amount_fen, freeze_id"
    rows = run_sql(conn, f"SELECT {cols} FROM postings WHERE idem_key IN ({_in_list(keys)})", tuple(keys)).fetchall()  # noqa: S608
    return {r[0]: StoredPosting(r[1], r[2], r[3], r[4], r[5]) for r in rows}


def _load_outcomes(conn: Connection, keys: list[str]) -> dict[str, StoredOutcome]:
    if not keys:
        return {}
    if _is_pg(conn):
        rhs, param = pg_arrays.any_of(keys)
        rows = run_sql(conn, f"SELECT key, fingerprint, outcome FROM idempotency WHERE key {rhs}", (param,))  # noqa: S608
    else:
        rows = run_sql(conn, f"SELECT key, fingerprint, outcome FROM idempotency WHERE key IN ({_in_list(keys)})",  # noqa: S608
                       tuple(keys))
    return {r[0]: StoredOutcome(r[1], r[2]) for r in rows}


def _load_book(conn: Connection, ops: list[Op], *, optimistic: bool = False) -> Book:
    freeze_keys: set[str] = set()
    account_set: set[int] = set()
    posting_keys: list[str] = []
    outcome_keys: list[str] = []
    accounts_named = True  # every freeze key's op names the freeze's account (a Release names none)
    for op in ops:
        if isinstance(op, Transfer):
            account_set.add(op.debit)
            account_set.add(op.credit)
            if op.freeze_key is not None:
                freeze_keys.add(op.freeze_key)
            if op.key is not None:
                posting_keys.append(op.key)
        elif isinstance(op, Hold):
            account_set.add(op.account)
            freeze_keys.add(op.key)
        elif isinstance(op, Release):
            accounts_named = False
            freeze_keys.add(op.freeze_key)
            if op.key is not None:
                outcome_keys.append(op.key)
    keys = sorted(freeze_keys)
    if _is_pg(conn) and account_set and accounts_named:
        # The freezes' accounts are known without reading the freezes first (`_pg_load_locked`).
        book, strangers = _pg_load_locked(conn, sorted(account_set), keys, posting_keys, outcome_keys,
                                          optimistic=optimistic)
        if not strangers:
            return book
        if optimistic:
            run_sql(conn, f"RELEASE SAVEPOINT {_OPTIMISTIC_SAVEPOINT}")
        account_set |= strangers
    freezes = _load_freezes(conn, keys)
    account_set.update(f.account_id for f in freezes.values())
    if _is_pg(conn) and account_set:
        return _pg_load_locked(conn, sorted(account_set), keys, posting_keys, outcome_keys, optimistic=optimistic)[0]
    accounts = _lock_accounts(conn, sorted(account_set))
    return Book(accounts, freezes, _load_posting_keys(conn, posting_keys), _load_outcomes(conn, outcome_keys))


def _pg_load_locked(conn: Connection, ids: list[int], freeze_keys: list[str], posting_keys: list[str],
                    outcome_keys: list[str], *, optimistic: bool = False) -> tuple[Book, set[int]]:
    """PostgreSQL: lock the accounts (in id order) and read what the batch's keys name, in one round trip;
    the book, and the accounts of freezes found on accounts not locked (the strangers).

    Where every op that names a freeze also names its account (a Hold its own, a consuming Transfer its
    debit), `_load_book` calls this without reading the freezes first: one round trip less per bid and
    per release. A stranger then is a key held on another account — the planner refuses that op as a
    mismatch, but must see the freeze to do so — so `_load_book` locks that account too and reads
    again; the extra lock comes out of id order, and a deadlock it causes is retried
    (`db.tx.run_in_transaction`). With the freezes read first, a stranger is a freeze that appeared,
    after that read, on an account not locked: it counts as not there, as before.

    The statements go down one pipeline but stay separate statements, run one after the other: each
    read takes its own snapshot after the locks are held, so it sees rows that the writers we waited
    for committed (one query with the lock inside would read an older snapshot, and a replay would
    turn into a unique-key error at insert).

    `optimistic`: the posting keys are not looked up (a repeat is rare; the look-up cost ~10 % of a
    batch of 1,000). A savepoint is set after the locks instead; a key that is already stored makes
    the insert fail on `uq_postings_idem_key`, and `apply` rolls back to the savepoint (the locks
    stay) and plans again with the keys loaded (`_OPTIMISTIC_SAVEPOINT`)."""
    statements: list[tuple[str, Sequence[object]]] = [
        (f"SELECT id, currency, allow_overdraw, balance_fen, frozen_fen FROM accounts "  # noqa: S608
         f"WHERE id = ANY({pg_arrays.BIGINTS}) ORDER BY id FOR UPDATE", (pg_arrays.ints(ids),)),
    ]
    if freeze_keys:
        # Re-read under the account locks, also when nothing was found: a hold racing a hold of the same key
        # must see it (and replay). A freeze that appeared on an account we did not lock counts as not there.
        rhs, param = pg_arrays.any_of(freeze_keys)
        sql = f"SELECT id, key, account_id, amount_fen, consumed_fen, released_fen, ref FROM freezes WHERE key {rhs}"  # noqa: S608
        statements.append((sql, (param,)))
    if posting_keys and not optimistic:
        expr, param = pg_arrays.texts(posting_keys)
        statements.append((_PG_POSTING_KEYS.format(keys=expr), (param,)))
    if outcome_keys:
        rhs, param = pg_arrays.any_of(outcome_keys)
        statements.append((f"SELECT key, fingerprint, outcome FROM idempotency WHERE key {rhs}", (param,)))  # noqa: S608
    if optimistic:
        statements.append((f"SAVEPOINT {_OPTIMISTIC_SAVEPOINT}", ()))
    results = iter(_pg_pipeline(conn, statements))
    accounts = {r[0]: AccountState(*r) for r in next(results)}  # allow_overdraw comes back as a bool already
    freeze_rows = next(results) if freeze_keys else []
    freezes = {r[1]: FreezeState(r[1], r[2], r[3], r[4], r[5], r[6], id=r[0]) for r in freeze_rows if r[2] in accounts}
    stored = {r[0]: StoredPosting(r[1], r[2], r[3], r[4], r[5])
              for r in (next(results) if posting_keys and not optimistic else ())}
    outcomes = {r[0]: StoredOutcome(r[1], r[2]) for r in (next(results) if outcome_keys else ())}
    return Book(accounts, freezes, stored, outcomes), {r[2] for r in freeze_rows if r[2] not in accounts}


# ---------------------------------------------------------------- writing


_FREEZE_COLS = "key, account_id, amount_fen, consumed_fen, released_fen, status, ref, created_us, updated_us"
_FREEZE_ROWS = 900
"""Rows per multi-row freeze insert (9 parameters each: well under both engines' parameter limits)."""


def _write_new_freezes(conn: Connection, freezes: list[FreezeState], ts: int,
                       accounts: list[AccountState] | None = None) -> None:
    """Insert the new freezes and learn their ids from the same statements (`RETURNING id, key`).
    `accounts` (PostgreSQL): the touched accounts' update rides in the first insert, as a data-modifying
    CTE (a batch of holds, e.g. a bid, then writes in one round trip; the parts touch different tables)."""
    by_key = {f.key: f for f in freezes}
    for start in range(0, len(freezes), _FREEZE_ROWS):
        part = freezes[start:start + _FREEZE_ROWS]
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(part))
        params: list[object] = [v for f in part for v in (f.key, f.account_id, f.amount_fen, f.consumed_fen,
                                                          f.released_fen, f.status, f.ref, ts, ts)]
        sql = f"INSERT INTO freezes ({_FREEZE_COLS}) VALUES {values} RETURNING id, key"  # noqa: S608
        deltas = _account_deltas(accounts) if accounts and start == 0 else None
        if deltas is not None:
            sql, params = f"WITH acc AS ({_PG_UPDATE_ACCOUNTS}) {sql}", [*deltas, *params]
        for freeze_id, key in _run(conn, sql, params):
            by_key[key].id = freeze_id
    assert all(f.id is not None for f in freezes), "every new freeze got its id"


_FREEZE_CHANGES = ("consumed_fen", "released_fen", "status", "updated_us")


def _freeze_rows(freezes: list[FreezeState], ts: int) -> list[tuple]:
    return [(f.consumed_fen, f.released_fen, f.status, ts, f.id) for f in freezes]


def _write_changed_freezes(conn: Connection, freezes: list[FreezeState], ts: int) -> None:
    if not freezes:
        return
    update_rows(conn, freezes_table, "id", _FREEZE_CHANGES, _freeze_rows(freezes, ts))


_PG_UPDATE_ACCOUNTS = (
    "UPDATE accounts SET balance_fen = accounts.balance_fen + d.db, frozen_fen = accounts.frozen_fen + d.df "  # noqa: S608
    f"FROM unnest({pg_arrays.BIGINTS}, {pg_arrays.BIGINTS}, {pg_arrays.BIGINTS}) AS d(id, db, df) WHERE accounts.id = d.id"
)


def _account_deltas(touched: list[AccountState]) -> tuple[str, str, str] | None:
    """The PostgreSQL parameters of `_PG_UPDATE_ACCOUNTS` for the accounts that changed."""
    changed = [a for a in touched if a.balance_delta or a.frozen_delta]
    if not changed:
        return None
    return (pg_arrays.ints(a.id for a in changed), pg_arrays.ints(a.balance_delta for a in changed),
            pg_arrays.ints(a.frozen_delta for a in changed))


def _write_accounts(conn: Connection, touched: list[AccountState]) -> None:
    changed = [a for a in touched if a.balance_delta or a.frozen_delta]
    if not changed:
        return
    if _is_pg(conn):
        run_sql(conn, _PG_UPDATE_ACCOUNTS, _account_deltas(changed))
    else:
        _run(conn, "UPDATE accounts SET balance_fen = balance_fen + ?, frozen_fen = frozen_fen + ? WHERE id = ?",
             [(a.balance_delta, a.frozen_delta, a.id) for a in changed], many=True)


def _write_postings(conn: Connection, postings: list[core.PendingPosting],
                    touched: list[AccountState] | None = None, changed_freezes: list[FreezeState] | None = None,
                    freeze_ts: int = 0) -> None:
    """Append the postings to the chain. PostgreSQL: the changed freezes' and the touched accounts'
    updates (when given), the posting rows and the chain head go in one statement, so a batch costs one
    round trip to write. (Its parts see one snapshot and touch different tables; a freeze is only
    changed under its account's lock, which `_load_book` took.)"""
    if not postings:
        return
    pg = _is_pg(conn)
    # One statement reads the head and its posting's time. SQLite: the transaction holds the single
    # write lock, so both are current. PostgreSQL: the row lock returns the newest head, but if it had
    # to wait for another writer, the sub-select still sees the statement's older snapshot, where that
    # writer's last posting is missing (NULL); then read it again now that the lock is held.
    head_sql = ("SELECT c.last_seq, c.last_hash, (SELECT p.created_us FROM postings p WHERE p.seq = c.last_seq) "
                "FROM ledger_chain c WHERE c.id = 1")
    head = run_sql(conn, head_sql + (" FOR UPDATE OF c" if pg else "")).fetchone()
    assert head is not None, "the chain head row exists (migration 0001)"
    seq, prev, last_us = int(head[0]), bytes(head[1]), head[2]
    if last_us is None and seq > 0:
        (last_us,) = _run(conn, "SELECT created_us FROM postings WHERE seq = ?", (seq,)).fetchone()
    ts = max(now_us(), int(last_us or 0))  # time never runs backwards along the chain
    first_seq = seq + 1
    freeze_ids: list[int | None] = []
    hashes: list[bytes] = []
    append_hash, sha256 = hashes.append, hashlib.sha256
    # The chain, inlined: `posting_hash` is sha256(prev + posting_body(...)), the one format definition.
    for debit, credit, amount, currency, biz_type, ref, key, freeze, _dba, _cba, result in postings:
        seq += 1
        freeze_id = freeze.id if freeze is not None else None
        prev = sha256(prev + posting_body(seq, debit, credit, amount, currency, biz_type, ref, key, freeze_id,
                                          ts)).digest()
        result.posting_seq = seq
        freeze_ids.append(freeze_id)
        append_hash(prev)
    cols = ("seq, debit_account_id, credit_account_id, amount_fen, currency, biz_type, ref, idem_key, freeze_id, "
            "debit_balance_after, credit_balance_after, created_us, hash")
    if pg:
        # Column by column, no row tuples: bigint and text columns as joined text (see `pg_arrays.BIGINTS`,
        # `pg_arrays`), the batch's one timestamp as a scalar, the 32-byte hashes as one bytea cut by
        # row number. The postings are tuples, so `zip(*postings)` cuts the columns in C.
        debits, credits, amounts, currencies, biz_types, refs, keys, _freezes, debit_afters, credit_afters, _r = (
            zip(*postings, strict=True))
        texts = [pg_arrays.texts(column) for column in (currencies, biz_types, refs, keys)]
        params: list[object] = [
            ts, b"".join(hashes),
            pg_arrays.ints(range(first_seq, seq + 1)), pg_arrays.ints(debits), pg_arrays.ints(credits), pg_arrays.ints(amounts),
            *(param for _expr, param in texts),
            pg_arrays.bigints(freeze_ids) if any(f is not None for f in freeze_ids) else pg_arrays.null_bigints(len(postings)),
            pg_arrays.ints(debit_afters), pg_arrays.ints(credit_afters),
        ]
        unnest = [pg_arrays.BIGINTS] * 4 + [expr for expr, _param in texts] + [pg_arrays.BIGINTS] * 3
        names = ", ".join(f"c{i}" for i in range(len(unnest)))
        select = (f"SELECT {names}, %s::bigint, substring(%b::bytea from n::int * 32 - 31 for 32) "  # noqa: S608
                  f"FROM unnest({', '.join(unnest)}) WITH ORDINALITY AS x({names}, n)")
        deltas = _account_deltas(touched or [])
        sql = f"WITH ins AS (INSERT INTO postings ({cols}) {select}) "  # noqa: S608
        if deltas is not None:
            sql = f"WITH acc AS ({_PG_UPDATE_ACCOUNTS}), " + sql[len("WITH "):]
            params = [*deltas, *params]
        if changed_freezes:
            fz_sql, fz_params = pg_update_sql(freezes_table, "id", _FREEZE_CHANGES,
                                              _freeze_rows(changed_freezes, freeze_ts))
            sql = f"WITH fz AS ({fz_sql}), " + sql[len("WITH "):]
            params = [*fz_params, *params]
        sql += "UPDATE ledger_chain SET last_seq = %b, last_hash = %b WHERE id = 1"
        run_sql(conn, sql, (*params, seq, prev))
    else:
        rows = [(s_, p.debit, p.credit, p.amount_fen, p.currency, p.biz_type, p.ref, p.key, f, p.debit_balance_after,
                 p.credit_balance_after, ts, h)
                for s_, p, f, h in zip(range(first_seq, seq + 1), postings, freeze_ids, hashes, strict=True)]
        run_sql(conn, f"INSERT INTO postings ({cols}) VALUES ({_in_list(range(13))})", rows, many=True)  # noqa: S608
        run_sql(conn, "UPDATE ledger_chain SET last_seq = ?, last_hash = ? WHERE id = 1", (seq, prev))


def _write_outcomes(conn: Connection, outcomes: list[tuple[str, str, OpResult]], ts: int) -> None:
    if not outcomes:
        return
    _run(conn, "INSERT INTO idempotency (key, fingerprint, outcome, created_us) VALUES (?, ?, ?, ?)",
         [(key, fp, str(res.amount_fen), ts) for key, fp, res in outcomes], many=True)


def _write(conn: Connection, plan: Plan) -> None:
    ts = now_us()
    pg = _is_pg(conn)
    accounts_with_freezes = pg and bool(plan.new_freezes) and not plan.postings
    _write_new_freezes(conn, plan.new_freezes, ts, plan.touched_accounts if accounts_with_freezes else None)
    if plan.postings and pg:  # the freeze and account updates ride along
        _write_postings(conn, plan.postings, plan.touched_accounts, plan.changed_freezes, ts)
    else:
        _write_changed_freezes(conn, plan.changed_freezes, ts)
        if not accounts_with_freezes:
            _write_accounts(conn, plan.touched_accounts)
        _write_postings(conn, plan.postings)
    _write_outcomes(conn, plan.new_outcomes, ts)
    new_ids = {f.key: f.id for f in plan.new_freezes}
    for res in plan.results:
        if res.ok and res.freeze_id is None and res.freeze_key is not None:
            res.freeze_id = new_ids[res.freeze_key]


def apply(conn: Connection, ops: Sequence[Op], *, atomic: bool = True) -> list[OpResult]:
    """Apply a batch inside the caller's transaction and return one result per operation.

    Atomic: the first refused operation raises its typed error (with `.index`) and nothing is written;
    the caller's transaction should then roll back. Item by item: refused operations come back as
    results with `ok=False` and leave no trace; the others are written.
    """
    ops = list(ops)
    if not ops:
        return []
    if not (_is_pg(conn) and any(isinstance(op, Transfer) and op.key is not None for op in ops)):
        plan = core.plan(_load_book(conn, ops), ops, atomic=atomic)
        _write(conn, plan)
        return plan.results
    plan = _optimistic_plan(conn, ops, atomic)
    if plan is not None:
        try:
            _write(conn, plan)
            return plan.results
        except DBAPIError as exc:
            if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) != "uq_postings_idem_key":
                raise
            # A key is stored already (a repeat, or a racing writer that committed it): undo the writes,
            # keep the locks, and plan again below knowing the stored keys.
            run_sql(conn, f"ROLLBACK TO SAVEPOINT {_OPTIMISTIC_SAVEPOINT}")
    plan = core.plan(_load_book(conn, ops), ops, atomic=atomic)  # the planner changed the old book's states
    _write(conn, plan)
    return plan.results


def _optimistic_plan(conn: Connection, ops: list[Op], atomic: bool) -> Plan | None:
    """The plan made without looking up the posting keys, or None when anything was refused: a refused
    transfer may be the repeat of a stored one (which replays instead), so refusals are only decided
    with the keys loaded."""
    try:
        plan = core.plan(_load_book(conn, ops, optimistic=True), ops, atomic=atomic)
    except LedgerError:
        return None
    return plan if all(r.ok for r in plan.results) else None


def apply_groups(conn: Connection, groups: Sequence[Sequence[Op]], *,
                 write_if_refused: bool = True) -> list[core.GroupResult | None]:
    """Apply groups of operations, each all-or-nothing (`core.plan_groups`), in one load and one write
    inside the caller's transaction; one `GroupResult` per group. A refused group leaves no trace and
    the groups after it are decided as if it had not been asked.

    `write_if_refused=False`: when a group is refused nothing is written and the groups after the first
    refused one are not decided (None): the caller plans again without it (the trade batch does, since
    its business rows were planned assuming every group applies). Keyed transfers are looked up before
    planning (no optimistic path: a group batch is the trade executor's, whose transfers carry no keys)."""
    groups = [list(g) for g in groups]
    ops = [op for g in groups for op in g]
    if not ops:
        return [core.GroupResult(True, []) for _ in groups]
    plan, results = core.plan_groups(_load_book(conn, ops), groups, stop_at_refusal=not write_if_refused)
    if all(r is not None and r.ok for r in results) or write_if_refused:
        _write(conn, plan)
    return results
