"""The batched trade executor: many trades (the bizDetails of an ASYNC_TRANSACTION chunk) applied with a
constant number of SQL statements, each trade still all-or-nothing and decided by exactly the rules of
`trades.execute` (`trade_rules.parse_trade` / `plan_trade`).

`execute_trades(conn, clock, platform_no, items)` returns, per item, the `TradeResult` or the refusal
(an exception, never raised: the caller reports it). Inside the caller's transaction:
1. parse every item (pure; a parse error is that item's refusal);
2. read which requestNos the platform register holds already, in one statement (`requests.taken_all`:
   such a trade is a DuplicateRequest with the original service);
3. load, one statement per table for the whole chunk: projects (row-locked on PostgreSQL, as
   `trades.execute` does), sales, freeze orders, parties, shares, entrusted payees;
4. plan the trades in order against one in-memory state: a trade sees what the trades before it in the
   chunk did (a refused trade changes nothing), its ledger operations become one group;
5. ONE `ledger_store.apply_groups` (every group all-or-nothing). A group the ledger refuses (rare: the
   rules checked the freezes already; a system account's available balance is the ledger's to judge)
   makes that trade a refusal with the code `trades.execute` gives (`trade_common.ledger_refusal`),
   nothing is written and the chunk is planned again without it (later trades may have relied on it);
6. bulk writes: trades (multi-row insert returning ids) and details (PostgreSQL: both in one
   statement), project accumulators, shares, freeze orders, sales (executemany each), and the
   register rows of the applied trades with their outcomes
   (`requests.record_all`; a refused trade leaves none) — the register ends exactly as after one
   `trades.execute` per item. On PostgreSQL the ledger's write and these go out in one pipeline
   (`db.prepared.pipelined`): the server runs each while the runner builds the next (they read
   nothing back; the trades' new ids are read at the end), instead of the two taking turns.
About a dozen statements per chunk, whatever its size.

What goes through `trades.execute` instead, one at a time in a SAVEPOINT, at its place in the order
(the trades before it are written first; the trades after it are loaded again):
- extension trade types (`trades.EXTENSIONS`: plans), AUTO_* trades (their authorization is consumed
  in the database), a requestNo repeated inside the chunk;
- trades a registered `trades.BEFORE_LEDGER` / `AFTER_TRADE` hook may act on. A hook declares which
  through `HOOK_FILTERS` (keyed by the hook's module + name): `(conn, platform_no, [req], orders) ->
  set of requestNos`, `orders` being the freeze orders the chunk names, as loaded. A hook without a
  filter makes every trade of the chunk take the single path (safe, slow). The filter of the plans hooks lives here until the plans room owns it.

Decisions: `batch_no` is written on every trade row of the chunk. The trades' ledger transfers carry no
idempotency key (the requestNo register guards them), so `apply_groups` never replays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.custody import requests, trades
from cunguan.custody.entrust_pay import entrusted_payee
from cunguan.custody.projects import ACCUMULATORS
from cunguan.custody.trade_common import Party, ledger_refusal, load_parties
from cunguan.custody.trade_errors import ProjectNotFound
from cunguan.custody.trade_rules import (
    AUTO_TRADE_TYPES,
    EXTENSION_TRADE_TYPES,
    TradePlan,
    TradeRequest,
    TradeState,
    parse_trade,
    party_numbers,
    plan_trade,
)
from cunguan.db import ledger_store, pg_arrays
from cunguan.db.bulk import insert_rows, update_rows
from cunguan.db.prepared import driver_sql, in_list, pipelined, run_sql
from cunguan.db.tables.custody_trades import (
    custody_debenture_sales,
    custody_pre_transactions,
    custody_projects,
    custody_shares,
)
from cunguan.db.tx import is_retryable
from cunguan.ledger.core import MAX_BATCH_OPS

Outcome = trades.TradeResult | BaseException
Item = tuple[str, Mapping[str, Any] | TradeRequest | BaseException]
"""(requestNo, the trade as sent, already parsed, or its refusal at acceptance)."""
HookFilter = Callable[[Connection, str, list[TradeRequest], Mapping[str, dict]], set[str]]
HOOK_FILTERS: dict[str, HookFilter] = {}
"""`module.name` of a BEFORE_LEDGER / AFTER_TRADE hook → which trades of a chunk it may act on."""
IN_CHUNK = 900
"""Values per `IN (...)` / rows per multi-row statement (well under both engines' parameter limits)."""


def _hook_name(hook: Callable[..., Any]) -> str:
    return f"{getattr(hook, '__module__', '?')}.{getattr(hook, '__qualname__', repr(hook))}"


def _single_type(trade: Mapping[str, Any]) -> bool:
    t = trade.get("tradeType")
    return isinstance(t, str) and (t in EXTENSION_TRADE_TYPES or t in AUTO_TRADE_TYPES)


# ---------------------------------------------------------------- the chunk's state


@dataclass
class _Loaded:
    """What the chunk's trades touch, as loaded (pristine: every planning pass starts from a copy)."""

    projects: dict[str, dict]
    sales: dict[str, dict]
    orders: dict[str, dict]
    parties: dict[str, Party]
    shares: dict[str, dict[str, dict]]  # project_no -> holder -> {id, principal_fen, locked_fen}
    payees: dict[str, str | None]  # ENTRUST_PAY project_no -> entrusted payee


@dataclass
class _Work:
    """One planning pass's mutable copy of the state, plus what the accepted trades changed."""

    projects: dict[str, dict]
    sales: dict[str, dict]
    orders: dict[str, dict]
    shares: dict[str, dict[str, dict]]
    project_deltas: dict[str, dict[str, int]] = field(default_factory=dict)
    share_deltas: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    orders_touched: set[str] = field(default_factory=set)
    sales_touched: set[str] = field(default_factory=set)

    @staticmethod
    def of(loaded: _Loaded) -> _Work:
        """Plans on the loaded rows themselves (no copy): a pass that must be redone loads them again."""
        return _Work(loaded.projects, loaded.sales, loaded.orders, loaded.shares)

    def accept(self, req: TradeRequest, plan: TradePlan) -> None:
        """Fold an accepted trade's plan into the state the next trades see (as its rows would be)."""
        project = self.projects.get(req.project_no or "")
        if project is not None:
            acc = self.project_deltas.setdefault(req.project_no or "", dict.fromkeys(ACCUMULATORS, 0))
            for name, delta in plan.project_deltas.items():
                if delta:
                    project[name] += delta
                    acc[name] += delta
            held = self.shares.setdefault(req.project_no or "", {})
            for holder, (d_principal, d_locked) in plan.share_deltas.items():
                if not d_principal and not d_locked:
                    continue
                row = held.setdefault(holder, {"id": None, "principal_fen": 0, "locked_fen": 0})
                row["principal_fen"] += d_principal
                row["locked_fen"] += d_locked
                total = self.share_deltas.setdefault((req.project_no or "", holder), [0, 0])
                total[0] += d_principal
                total[1] += d_locked
        for no in set(plan.order_consumed) | set(plan.order_share_bought) | plan.marketing_spent:
            o = self.orders[no]
            o["consumed_fen"] += plan.order_consumed.get(no, 0)
            o["share_bought_fen"] += plan.order_share_bought.get(no, 0)
            o["marketing_spent"] = bool(o["marketing_spent"] or no in plan.marketing_spent)
            o["status"] = "FREEZED" if o["amount_fen"] - o["consumed_fen"] - o["released_fen"] > 0 else "UNFREEZED"
            self.orders_touched.add(no)
        sale = self.sales.get(req.sale_request_no or "")
        if sale is not None and plan.sale_sold_fen:
            sale["sold_fen"] += plan.sale_sold_fen
            sale["reserved_fen"] -= plan.sale_unreserved_fen
            sale["status"] = "COMPLETED" if plan.sale_completed else "ONSALE"
            self.sales_touched.add(sale["request_no"])


def _pieces(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i:i + IN_CHUNK] for i in range(0, len(values), IN_CHUNK)]


def rows_in(conn: Connection, table, column, platform_no: str, values: set[str], *, lock: bool = False) -> list[dict]:
    """`table`'s rows of the platform whose `column` is one of `values`, as dicts (driver statements:
    SQLAlchemy's result rows cost more than the query here; booleans are the driver's 0/1 on SQLite,
    which the rules read as truth values)."""
    out: list[dict] = []
    columns = ", ".join(c.name for c in table.c)
    for part in _pieces(sorted(values)):
        in_values, params = in_list(conn, part)
        sql = (f"SELECT {columns} FROM {table.name} WHERE platform_no = ? AND {column.name} {in_values} "  # noqa: S608
               "ORDER BY id")
        if lock and conn.dialect.name == "postgresql":
            sql += " FOR UPDATE"
        cur = run_sql(conn, driver_sql(conn, sql), [platform_no, *params])
        names = [d[0] for d in cur.description]
        out.extend(dict(zip(names, r, strict=True)) for r in cur.fetchall())
    return out


def _load(conn: Connection, platform_no: str, reqs: list[TradeRequest]) -> _Loaded:
    """Everything the trades name, one statement per table (per IN_CHUNK values), in the lock order of
    `trades.execute`: projects, sales, orders, then (in the ledger) accounts."""
    project_nos = {r.project_no for r in reqs if r.project_no}
    projects = {p["project_no"]: p for p in rows_in(conn, custody_projects, custody_projects.c.project_no,
                                                      platform_no, project_nos, lock=True)}
    sale_nos = {r.sale_request_no for r in reqs if r.sale_request_no}
    sales = {s["request_no"]: s for s in rows_in(conn, custody_debenture_sales, custody_debenture_sales.c.request_no,
                                                   platform_no, sale_nos, lock=True)}
    freeze_nos = {d.freeze_request_no for r in reqs for d in r.details if d.freeze_request_no}
    orders = {o["request_no"]: o for o in rows_in(conn, custody_pre_transactions,
                                                    custody_pre_transactions.c.request_no, platform_no, freeze_nos,
                                                    lock=True)}
    payees: dict[str, str | None] = {}
    for no in sorted(project_nos):
        p = projects.get(no)
        if p is not None and p["project_type"] == "ENTRUST_PAY" and any(
                r.project_no == no and r.base_type == "TENDER" for r in reqs):
            payees[no] = entrusted_payee(conn, platform_no, no)
    numbers: set[str] = set()
    holders: dict[str, set[str]] = {no: {"SYS_GENERATE_001"} for no in projects}  # per project
    for r in reqs:
        project, sale = projects.get(r.project_no or ""), sales.get(r.sale_request_no or "")
        mine = {d.freeze_request_no: orders[d.freeze_request_no] for d in r.details
                if d.freeze_request_no in orders}
        numbers |= party_numbers(r, project, sale, mine)
        if project is not None:
            named = holders[r.project_no]
            named.update(n for d in r.details for n in (d.source, d.target) if n)
            named.update(o["platform_user_no"] for o in mine.values())
            if sale is not None:
                named.add(sale["seller_user_no"])
    numbers.update(p for p in payees.values() if p)
    parties = load_parties(conn, platform_no, numbers)
    shares: dict[str, dict[str, dict]] = {no: {} for no in projects}
    for r in _share_rows(conn, platform_no, holders):
        shares[r[1]][r[2]] = {"id": int(r[0]), "principal_fen": int(r[3]), "locked_fen": int(r[4])}
    return _Loaded(projects, sales, orders, parties, shares, payees)


_PG_SHARES_SQL = ("SELECT s.id, s.project_no, s.holder_user_no, s.principal_fen, s.locked_fen "
                  "FROM unnest({projects}, {holders}) AS k(project_no, holder_user_no) JOIN custody_shares s "
                  "ON s.platform_no = %s AND s.project_no = k.project_no AND s.holder_user_no = k.holder_user_no "
                  "ORDER BY s.id FOR UPDATE OF s")


def _share_rows(conn: Connection, platform_no: str, holders: dict[str, set[str]]) -> list[tuple]:
    """The existing shares of each project's named holders: (id, project_no, holder_user_no,
    principal_fen, locked_fen). PostgreSQL: one probe of the holding key per (project, holder) pair —
    the IN x IN form made the planner scan the whole table (a chunk names ~500 holders over ~8 projects:
    4,000 probes priced above a seq scan; measured 7.7 ms a chunk, 3 s of a 100k ASYNC run). SQLite
    probes IN x IN on the index itself (~1 ms for the same chunk), where a pair list would scan."""
    if not holders:
        return []
    if conn.dialect.name == "postgresql":
        pairs = sorted((p, h) for p, named in holders.items() for h in named)
        projects, p_param = pg_arrays.texts([p for p, _ in pairs])
        named_holders, h_param = pg_arrays.texts([h for _, h in pairs])
        sql = _PG_SHARES_SQL.format(projects=projects, holders=named_holders)
        return list(run_sql(conn, sql, [p_param, h_param, platform_no]).fetchall())
    everyone = sorted(set().union(*holders.values()))
    rows: list[tuple] = []
    for project_part in _pieces(sorted(holders)):
        in_projects, project_params = in_list(conn, project_part)
        for holder_part in _pieces(everyone):
            in_holders, holder_params = in_list(conn, holder_part)
            rows.extend(run_sql(conn, _SQLITE_SHARES_SQL.format(projects=in_projects, holders=in_holders),
                                [platform_no, *project_params, *holder_params]).fetchall())
    return rows


_SQLITE_SHARES_SQL = ("SELECT id, project_no, holder_user_no, principal_fen, locked_fen FROM custody_shares "
                      "WHERE platform_no = ? AND project_no {projects} AND holder_user_no {holders}")


def _state(platform_no: str, req: TradeRequest, loaded: _Loaded, work: _Work) -> TradeState:
    if req.project_no is not None and req.project_no not in work.projects:
        raise ProjectNotFound(f"projectNo: project {req.project_no[:50]!r} does not exist", field="projectNo")
    project = work.projects.get(req.project_no) if req.project_no else None
    payee = loaded.payees.get(req.project_no or "") if project is not None and req.base_type == "TENDER" else None
    return TradeState(platform_no, project, work.sales.get(req.sale_request_no) if req.sale_request_no else None,
                      work.orders, loaded.parties,
                      work.shares.setdefault(req.project_no, {}) if project is not None else {}, payee)


# ---------------------------------------------------------------- the requestNo register


# The chunk's writes are driver statements over row tuples: SQLAlchemy's per-row parameter processing
# of an executemany cost more than the statements themselves (measured: ~40 % of the write phase).
# Multi-row `VALUES` lists are built for the piece's size (≤ IN_CHUNK rows, under both engines'
# parameter limits). Only the columns named here are written; the values are ints and short texts.


def _sql(conn: Connection, sql: str) -> str:
    return sql.replace("?", "%s") if conn.dialect.name == "postgresql" else sql


def _values(n_rows: int, n_cols: int) -> str:
    row = "(" + ", ".join("?" * n_cols) + ")"
    return ", ".join([row] * n_rows)


def _many(conn: Connection, sql: str, rows: list[tuple]) -> None:
    if rows:
        conn.exec_driver_sql(_sql(conn, sql), rows)


# ---------------------------------------------------------------- one batched segment


def free_entries(conn: Connection, platform_no: str, entries: list[tuple[int, Any]], out: list) -> list[tuple[int, Any]]:
    """The `entries` ((index, a request with `.request_no`)) whose requestNo is free, in order, read in
    one statement (`requests.taken_all`); a taken one's refusal goes to `out[index]`. The free ones'
    register rows are written with their outcomes at the end (`requests.record_all`)."""
    dups = requests.taken_all(conn, platform_no, [req.request_no for _i, req in entries])
    live = []
    for index, req in entries:
        if req.request_no in dups:
            out[index] = dups[req.request_no]
        else:
            live.append((index, req))
    return live


@dataclass
class _Planned:
    index: int
    req: TradeRequest
    plan: TradePlan
    ops: list
    fields: list[str]


def _plan_pass(platform_no: str, entries: list[tuple[int, TradeRequest]], loaded: _Loaded,
               refused: Mapping[int, BaseException]) -> tuple[list[_Planned], dict[int, BaseException], _Work]:
    work = _Work.of(loaded)
    planned: list[_Planned] = []
    failures: dict[int, BaseException] = {}
    for index, req in entries:
        if index in refused:
            continue
        try:
            state = _state(platform_no, req, loaded, work)
            plan = plan_trade(req, state)
            ops, fields = trades._ledger_ops(platform_no, req.request_no, plan, state.orders)
        except Exception as exc:  # noqa: BLE001 - the trade's refusal (or bug), reported by the caller
            failures[index] = detached(exc)
            continue
        work.accept(req, plan)
        planned.append(_Planned(index, req, plan, ops, fields))
    return planned, failures, work


def _run_batched(conn: Connection, clock: Clock, platform_no: str, entries: list[tuple[int, TradeRequest]],
                 out: list[Outcome | None], batch_no: str | None, service_name: str) -> int | None:
    """Apply `entries` as one batch; the index of the first trade a hook may act on, if any: the batch
    then stops before it (the caller runs it alone and loads the rest again)."""
    if not entries:
        return None
    loaded = _load(conn, platform_no, [req for _i, req in entries])
    hooked_at = _first_hooked(conn, platform_no, entries, loaded)
    if hooked_at is not None:
        entries = [e for e in entries if e[0] < hooked_at]
        if not entries:
            return hooked_at
    live = free_entries(conn, platform_no, entries, out)
    if not live:
        return hooked_at
    ledger_refused: dict[int, BaseException] = {}
    while True:
        planned, failures, work = _plan_pass(platform_no, live, loaded, ledger_refused)
        with pipelined(conn):  # PostgreSQL: each write runs on the server while the next one is built
            results = ledger_store.apply_groups(conn, [p.ops for p in planned], write_if_refused=False)
            newly = {p.index: ledger_refusal(r.error, p.fields) for p, r in zip(planned, results, strict=True)
                     if r is not None and not r.ok and r.error is not None}
            if not newly:  # the ledger wrote the groups: the trades' rows follow in the same pipeline
                trade_ids = _write(conn, platform_no, planned, loaded, work, requests.clock_us(clock), batch_no)
                requests.record_all(conn, clock, platform_no, service_name, [
                    (p.req.request_no, None, {"amount": p.plan.total_fen, "requestNo": p.req.request_no,
                                              "tradeType": p.req.trade_type, "transactionStatus": "SUCCESS"})
                    for p in planned])
        if not newly:
            break
        ledger_refused.update(newly)
        loaded = _load(conn, platform_no, [req for _i, req in live])  # the pass changed the rows in memory
    failures.update(ledger_refused)
    for index, _req in live:
        if index in failures:
            out[index] = failures[index]
    ids = trade_ids()
    for p in planned:
        out[p.index] = trades.TradeResult(p.req.request_no, p.req.trade_type, "SUCCESS", ids[p.req.request_no],
                                          len(p.plan.rows), p.plan.total_fen, p.req.project_no)
    return hooked_at


_TRADE_SQL = ("INSERT INTO custody_trades (platform_no, request_no, trade_type, project_no, sale_request_no, batch_no, "
              "status, amount_fen, detail_count, created_us) VALUES {values} RETURNING id, request_no")
_DETAIL_SQL = ("INSERT INTO custody_trade_details (trade_id, platform_no, request_no, seq, biz_type, freeze_request_no, "
               "source_user_no, target_user_no, amount_fen, income_fen, share_fen, project_no, custom_define, remark, "
               "created_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _write(conn: Connection, platform_no: str, planned: list[_Planned], loaded: _Loaded, work: _Work, now: int,
           batch_no: str | None) -> Callable[[], dict[str, int]]:
    """The accepted trades' rows, one statement per table (see `trades._write`, the one-trade form).
    Returns how to get the new trades' ids by requestNo: on PostgreSQL they are read once the
    pipeline they were sent in is done."""
    if not planned:
        return dict
    if conn.dialect.name == "postgresql":
        trade_ids = _pg_write_trades(conn, platform_no, planned, now, batch_no)
    else:
        ids = _sqlite_write_trades(conn, platform_no, planned, now, batch_no)
        trade_ids = lambda: ids  # noqa: E731
    _write_rows(conn, platform_no, loaded, work, now)
    return trade_ids


def _sqlite_write_trades(conn: Connection, platform_no: str, planned: list[_Planned], now: int,
                         batch_no: str | None) -> dict[str, int]:
    ids: dict[str, int] = {}
    for part in _pieces(planned):
        params = [v for p in part for v in (
            platform_no, p.req.request_no, p.req.trade_type, p.req.project_no, p.req.sale_request_no, batch_no,
            "SUCCESS", p.plan.total_fen, len(p.plan.rows), now)]
        sql = _sql(conn, _TRADE_SQL.format(values=_values(len(part), 10)))
        for row_id, request_no in conn.exec_driver_sql(sql, tuple(params)):
            ids[request_no] = int(row_id)
    _many(conn, _DETAIL_SQL, [
        (ids[p.req.request_no], platform_no, p.req.request_no, d.seq, d.biz_type, d.freeze_request_no, src, dst,
         d.amount_fen, d.income_fen, d.share_fen, p.req.project_no, d.custom_define, d.remark, now)
        for p in planned for d, src, dst in p.plan.rows])
    return ids


_PG_TRADES_SQL = (
    "WITH t AS (INSERT INTO custody_trades (platform_no, request_no, trade_type, project_no, sale_request_no, batch_no, "
    "status, amount_fen, detail_count, created_us) SELECT %s, t.no, t.type, t.project, t.sale, %s, 'SUCCESS', t.amount, "
    "t.n, %s FROM {trades} AS t(no, type, project, sale, amount, n) RETURNING id, request_no), "
    "d AS (INSERT INTO custody_trade_details (trade_id, platform_no, request_no, seq, biz_type, freeze_request_no, "
    "source_user_no, target_user_no, amount_fen, income_fen, share_fen, project_no, custom_define, remark, created_us) "
    "SELECT t.id, %s, d.no, d.seq, d.biz, d.fr, d.src, d.dst, d.amount, d.income, d.share, d.project, d.cd, d.remark, %s "
    "FROM {details} WITH ORDINALITY AS d(no, seq, biz, fr, src, dst, amount, income, share, project, cd, remark, k) "
    "JOIN t ON t.request_no = d.no ORDER BY d.k) "
    "SELECT id, request_no FROM t")
_PG_DETAIL_KINDS = ("text", "bigint", "text", "text", "text", "text", "bigint", "bigint", "bigint", "text", "text",
                    "text")


def _pg_write_trades(conn: Connection, platform_no: str, planned: list[_Planned], now: int,
                     batch_no: str | None) -> Callable[[], dict[str, int]]:
    """PostgreSQL: the trades and their details in ONE statement of column arrays (psycopg's
    executemany and long VALUES lists cost more client CPU per row than the whole insert on the
    server); the details find their trade's new id by requestNo (unique within a segment) and are
    inserted in the planned order. Nothing waits for the ids: they are read when asked for."""
    reqs = [p.req for p in planned]
    trades_from, trade_params = pg_arrays.unnest([
        ("text", [r.request_no for r in reqs]), ("text", [r.trade_type for r in reqs]),
        ("text", [r.project_no for r in reqs]), ("text", [r.sale_request_no for r in reqs]),
        ("bigint", [p.plan.total_fen for p in planned]), ("bigint", [len(p.plan.rows) for p in planned])])
    details = [(p.req.request_no, d.seq, d.biz_type, d.freeze_request_no, src, dst, d.amount_fen, d.income_fen,
                d.share_fen, p.req.project_no, d.custom_define, d.remark)
               for p in planned for d, src, dst in p.plan.rows]
    details_from, detail_params = pg_arrays.unnest(list(zip(_PG_DETAIL_KINDS, zip(*details, strict=True),
                                                            strict=True)))
    cursor = run_sql(conn, _PG_TRADES_SQL.format(trades=trades_from, details=details_from),
                     (platform_no, batch_no, now, *trade_params, platform_no, now, *detail_params))
    return lambda: {request_no: int(row_id) for row_id, request_no in cursor.fetchall()}


def _write_rows(conn: Connection, platform_no: str, loaded: _Loaded, work: _Work, now: int) -> None:
    """Projects, shares, freeze orders and sales: each table in one bulk statement (`db.bulk`)."""
    update_rows(conn, custody_projects, "id", (*ACCUMULATORS, "updated_us"),
                [(*(deltas[n] for n in ACCUMULATORS), now, loaded.projects[no]["id"])
                 for no, deltas in sorted(work.project_deltas.items()) if any(deltas.values())], add=ACCUMULATORS)
    share_updates, share_inserts = [], []
    for (project_no, holder), (d_principal, d_locked) in sorted(work.share_deltas.items()):
        if not d_principal and not d_locked:
            continue
        existing = loaded.shares.get(project_no, {}).get(holder)
        if existing is not None and existing["id"] is not None:
            share_updates.append((d_principal, d_locked, now, existing["id"]))
        else:
            assert d_principal >= 0 and d_locked >= 0, f"share of {holder} would go negative"
            share_inserts.append((platform_no, project_no, holder, d_principal, d_locked, now, now))
    update_rows(conn, custody_shares, "id", ("principal_fen", "locked_fen", "updated_us"), share_updates,
                add=("principal_fen", "locked_fen"))
    insert_rows(conn, custody_shares, ("platform_no", "project_no", "holder_user_no", "principal_fen", "locked_fen",
                                       "created_us", "updated_us"), share_inserts)
    update_rows(conn, custody_pre_transactions, "id",
                ("consumed_fen", "share_bought_fen", "marketing_spent", "status", "updated_us"),
                [(o["consumed_fen"], o["share_bought_fen"], bool(o["marketing_spent"]), o["status"], now, o["id"])
                 for o in (work.orders[no] for no in sorted(work.orders_touched))])
    update_rows(conn, custody_debenture_sales, "id", ("sold_fen", "reserved_fen", "status", "updated_us"),
                [(s["sold_fen"], s["reserved_fen"], s["status"], now, s["id"])
                 for s in (work.sales[no] for no in sorted(work.sales_touched))])


# ---------------------------------------------------------------- the executor


def _hooked(conn: Connection, platform_no: str, reqs: list[TradeRequest], orders: Mapping[str, dict]) -> set[str]:
    """requestNos a registered hook may act on (all of them when a hook has no filter); a filter shared
    by several hooks runs once."""
    hooks = list(trades.BEFORE_LEDGER) + list(trades.AFTER_TRADE)
    if not hooks or not reqs:
        return set()
    filters: list[HookFilter] = []
    for name in sorted({_hook_name(h) for h in hooks}):
        flt = HOOK_FILTERS.get(name)
        if flt is None:
            return {req.request_no for req in reqs}
        if flt not in filters:
            filters.append(flt)
    out: set[str] = set()
    for flt in filters:
        out |= flt(conn, platform_no, reqs, orders)
    return out


def _single(conn: Connection, clock: Clock, platform_no: str, request_no: str, trade: Mapping[str, Any],
            batch_no: str | None, service_name: str) -> Outcome:
    try:
        with conn.begin_nested():
            return trades.execute(conn, clock, platform_no, request_no, trade, batch_no=batch_no,
                                  service_name=service_name)
    except Exception as exc:  # noqa: BLE001 - a refusal is the item's outcome; conflicts go up
        if is_retryable(exc):
            raise
        return detached(exc)


def detached(exc: BaseException) -> BaseException:
    """A caught refusal kept as an item's outcome, without its traceback and context: the traceback
    holds the frame that holds the outcomes, a cycle that kept the whole chunk's objects alive until the
    collector ran (measured: a gen-0 collection of ~30 ms after every chunk, 12 % of the runner). An
    unexpected error (no vendor `code`) keeps them: it is logged with its traceback."""
    if isinstance(getattr(exc, "code", None), str):
        exc.__traceback__ = exc.__context__ = exc.__cause__ = None
    return exc


def execute_trades(conn: Connection, clock: Clock, platform_no: str, items: Sequence[Item], *,
                   batch_no: str | None = None, service_name: str = trades.SERVICE) -> list[Outcome]:
    """Apply the trades in order (see module docstring); per item its TradeResult or its refusal."""
    out: list[Outcome | None] = [None] * len(items)
    start = 0
    while start < len(items):
        entries: list[tuple[int, TradeRequest]] = []
        stop, single, seen, ops = len(items), False, set(), 0
        for index in range(start, len(items)):
            request_no, trade = items[index]
            if isinstance(trade, BaseException):  # refused when it was accepted (async_batches.stored_form)
                out[index] = trade
                continue
            if request_no in seen or (not isinstance(trade, TradeRequest) and _single_type(trade)):
                stop, single = index, True
                break
            try:
                req = trade if isinstance(trade, TradeRequest) else parse_trade(request_no, trade)
            except Exception as exc:  # noqa: BLE001 - the item's refusal
                out[index] = detached(exc)
                continue
            if ops + len(req.details) > MAX_BATCH_OPS:  # one ledger batch per segment
                stop = index
                break
            seen.add(request_no)
            ops += len(req.details)
            entries.append((index, req))
        hooked = _run_batched(conn, clock, platform_no, entries, out, batch_no, service_name)
        if hooked is not None:
            stop, single = hooked, True
        if single:
            request_no, trade = items[stop]
            out[stop] = _single(conn, clock, platform_no, request_no, trade, batch_no, service_name)
            stop += 1
        start = stop
    assert all(o is not None for o in out)
    return out  # type: ignore[return-value]


def sync_transactions(conn: Connection, clock: Clock, platform_no: str,
                      reqs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | BaseException]:
    """SYNC_TRANSACTION for requests that met (in `db.group_commit` on PostgreSQL, in the event-loop
    batch of `router.ServiceFastPath` on SQLite): per request the answer `trades.sync_transaction` gives it alone, or its
    refusal; the register and the rows end as after one request at a time, in this order."""
    items: list[Item] = []
    for req in reqs:
        try:
            items.append((requests.request_no(req.get("requestNo")), req))
        except Exception as exc:  # noqa: BLE001 - the request's refusal
            items.append(("", detached(exc)))
    return [o if isinstance(o, BaseException) else o.wire()
            for o in execute_trades(conn, clock, platform_no, items, service_name=trades.SERVICE)]


def _first_hooked(conn: Connection, platform_no: str, entries: list[tuple[int, TradeRequest]],
                  loaded: _Loaded) -> int | None:
    """The index of the first trade a registered hook may act on (judged on the rows as loaded)."""
    if not (trades.BEFORE_LEDGER or trades.AFTER_TRADE):
        return None
    known = [req for _index, req in entries if req.project_no is None or req.project_no in loaded.projects]
    hooked = _hooked(conn, platform_no, known, loaded.orders)  # an unknown project: refused in the batch
    return next((index for index, req in entries if req.request_no in hooked), None)


# ---------------------------------------------------------------- the plans hooks' filter


def _plans_filter(conn: Connection, platform_no: str, reqs: list[TradeRequest], orders: Mapping[str, dict]) -> set[str]:
    """Trades the plans hooks act on: a trade consuming a plan purchase order, and a repayment,
    compensation or credit assignment on a project some plan holds a match in."""
    out: set[str] = set()
    holder_trades = ("REPAYMENT", "COMPENSATORY", "INDIRECT_COMPENSATORY", "CREDIT_ASSIGNMENT")
    projects = sorted({req.project_no for req in reqs if req.project_no and req.base_type in holder_trades})
    matched: set[str] = set()
    for part in _pieces(projects):
        in_projects, params = in_list(conn, part)
        sql = driver_sql(conn, _MATCHED_PROJECTS_SQL.format(projects=in_projects))
        matched.update(no for (no,) in run_sql(conn, sql, [platform_no, *params]))
    for req in reqs:
        if req.base_type in holder_trades and req.project_no in matched:
            out.add(req.request_no)
            continue
        for d in req.details:
            o = orders.get(d.freeze_request_no or "")
            if o is not None and o["service_name"] == "PURCHASE_INTELLIGENT_PROJECT":
                out.add(req.request_no)
                break
    return out


_MATCHED_PROJECTS_SQL = ("SELECT DISTINCT project_no FROM custody_plan_matches "
                         "WHERE platform_no = ? AND project_no {projects}")
HOOK_FILTERS["cunguan.custody.plans.after_trade"] = _plans_filter
HOOK_FILTERS["cunguan.custody.plans.lock_before_ledger"] = _plans_filter
