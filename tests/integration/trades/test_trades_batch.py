"""The batched trade executor (`custody.trade_batch`) against the reference: the same items run through
`trades.execute` one by one (each in a savepoint, as the per-detail ASYNC executor did) and through
`trade_batch.execute_trades` in one go, from the same committed state, give the same outcome per item
(code and message) and the same database, row for row: trades, details, projects, shares, freeze
orders, sales, the requestNo register, accounts, ledger freezes and postings. The items cover
in-chunk dependencies (a freeze, a share, a sale used up by an earlier item), ledger refusals (which
make the executor plan the chunk again), the single path (AUTO_*) in the middle of a chunk, and every
kind of refusal. Also: the statement count does not grow with the number of trades."""

from __future__ import annotations

import gc
import types

import pytest
from sqlalchemy import event, select

import cunguan.custody.plans  # noqa: F401 - registers the plans hooks: the batch must take their filter
from cunguan.custody import debentures, trade_batch, trades
from cunguan.db.tables.custody_trades import (
    custody_debenture_sales,
    custody_pre_transactions,
    custody_projects,
    custody_shares,
    custody_trade_details,
    custody_trades,
)
from cunguan.db.tables.custody_users import custody_authorizations, custody_requests
from cunguan.db.tables.ledger import accounts, freezes, postings

from .conftest import P1


def _tender(no, project, *details):
    return (no, {"tradeType": "TENDER", "projectNo": project, "details": list(details)})


def _repay(no, target, amount, income="0", freeze="BR-1", trade_type="REPAYMENT"):
    d = {"bizType": "REPAYMENT", "targetPlatformUserNo": target, "amount": amount, "income": income}
    if freeze:
        d["freezeRequestNo"] = freeze
    else:
        d["sourcePlatformUserNo"] = "B"
    return (no, {"tradeType": trade_type, "projectNo": "R1", "details": [d]})


ITEMS = [
    _tender("A01", "C1", {"bizType": "TENDER", "freezeRequestNo": "BIDC-1", "amount": "300"},
            {"bizType": "COMMISSION", "amount": "3"},
            {"bizType": "MARKETING", "freezeRequestNo": "BIDC-1", "amount": "5"}),
    _tender("A02", "C1", {"bizType": "TENDER", "freezeRequestNo": "BIDC-2", "amount": "250"}),
    _tender("A03", "C1", {"bizType": "TENDER", "freezeRequestNo": "BIDC-2", "amount": "150"}),
    _tender("A04", "C1", {"bizType": "TENDER", "freezeRequestNo": "BIDC-2", "amount": "60"}),
    _tender("A05", "C1", {"bizType": "TENDER", "freezeRequestNo": "BIDC-3", "amount": "400"},
            {"bizType": "MARKETING", "freezeRequestNo": "BIDC-3", "amount": "5"}),  # SYS_002 short: ledger
    _tender("A06", "C1", {"bizType": "TENDER", "freezeRequestNo": "BIDC-3", "amount": "400"}),
    _repay("A07", "I1", "330", "30"),
    _repay("A08", "I1", "310"),  # above I1's remaining share
    _repay("A09", "I2", "300"),  # all of I2's unlocked share
    _repay("A10", "I2", "1"),
    ("A11", {"tradeType": "CREDIT_ASSIGNMENT", "projectNo": "R1", "saleRequestNo": "SALE-1", "details": [
        {"bizType": "CREDIT_ASSIGNMENT", "freezeRequestNo": "BUYF-1", "amount": "105", "share": "100"}]}),
    ("A12", {"tradeType": "CREDIT_ASSIGNMENT", "projectNo": "R1", "saleRequestNo": "SALE-1", "details": [
        {"bizType": "CREDIT_ASSIGNMENT", "freezeRequestNo": "BUYF-1", "amount": "1", "share": "1"}]}),
    _tender("A13", "NOPE", {"bizType": "TENDER", "freezeRequestNo": "BIDC-3", "amount": "1"}),
    _tender("A14", "C1", {"bizType": "TENDER", "freezeRequestNo": "BIDC-3", "amount": "abc"}),
    _tender("BID-1", "C1", {"bizType": "TENDER", "freezeRequestNo": "BIDC-3", "amount": "1"}),  # used requestNo
    ("A16", {"tradeType": "FUNDS_TRANSFER", "details": [
        {"bizType": "FUNDS_TRANSFER", "targetPlatformUserNo": "I3", "amount": "40"}]}),
    ("A17", {"tradeType": "FUNDS_TRANSFER", "details": [
        {"bizType": "FUNDS_TRANSFER", "targetPlatformUserNo": "I3", "amount": "20"}]}),  # 10 left: ledger
    _repay("A18", "I1", "100", freeze=None, trade_type="AUTO_REPAYMENT"),  # the single path, mid-chunk
    _repay("A19", "I1", "200"),  # I1 has 200 unlocked after A07 and A18
    _repay("A20", "I1", "0.01"),
    ("A21", {"tradeType": "COMPENSATORY", "projectNo": "R1", "details": [
        {"bizType": "COMPENSATORY", "sourcePlatformUserNo": "SYS_GENERATE_001", "targetPlatformUserNo": "BUY",
         "amount": "50"}]}),  # SYS_001 has nothing: ledger
    ("A22", {"tradeType": "MARKETING", "details": [
        {"bizType": "INTEREST", "targetPlatformUserNo": "I3", "amount": "1"}]}),
]
EXPECTED = {"A01": "0", "A02": "100014", "A03": "0", "A04": "100014", "A05": "100014", "A06": "0", "A07": "0",
            "A08": "100008", "A09": "0", "A10": "100008", "A11": "0", "A12": "100008", "A13": "100007",
            "A14": "100002", "BID-1": "100013", "A16": "0", "A17": "100014", "A18": "0", "A19": "0", "A20": "100008",
            "A21": "100014", "A22": "0"}


@pytest.fixture
def scene(raised):
    env = raised
    env.user("B2", role="BORROWERS")
    env.user("I3", fund=1000)
    env.user("BUY", fund=500)
    env.establish("C1", "B2", 1000)
    env.bid("BIDC-1", "I1", "C1", 300, marketing="5")
    env.bid("BIDC-2", "I2", "C1", 200)
    env.bid("BIDC-3", "I3", "C1", 400, marketing="5")
    env.fund("SYS_GENERATE_002", 8)
    env.fund("SYS_GENERATE_000", 50)
    env.fund("SYS_GENERATE_005", 1)
    env.fund("B", 1500)
    env.freeze_order("BR-1", "B", "R1", 1200, "REPAYMENT")
    env.grant("B", "REPAYMENT", cap="1000")
    env.run(debentures.debenture_sale, {"requestNo": "SALE-1", "platformUserNo": "I2", "projectNo": "R1",
                                        "saleShare": "100"})
    env.freeze_order("BUYF-1", "BUY", "R1", 105, "CREDIT_ASSIGNMENT", share="100", creditsale_request_no="SALE-1")
    return env


def _rows(conn, table, *order, drop=("id",)):
    cols = [c for c in table.c if c.name not in drop]
    return [tuple(r) for r in conn.execute(select(*cols).order_by(*order))]


def _state(conn) -> dict:
    t, d = custody_trades.c, custody_trade_details.c
    return {
        "trades": _rows(conn, custody_trades, t.request_no),
        "details": [tuple(r) for r in conn.execute(
            select(t.request_no, *[c for c in custody_trade_details.c if c.name not in ("id", "trade_id")])
            .join_from(custody_trade_details, custody_trades, t.id == d.trade_id).order_by(t.request_no, d.seq))],
        "projects": _rows(conn, custody_projects, custody_projects.c.project_no),
        "shares": _rows(conn, custody_shares, custody_shares.c.project_no, custody_shares.c.holder_user_no,
                        drop=("id", "created_us")),
        "orders": _rows(conn, custody_pre_transactions, custody_pre_transactions.c.request_no),
        "sales": _rows(conn, custody_debenture_sales, custody_debenture_sales.c.request_no),
        "requests": _rows(conn, custody_requests, custody_requests.c.request_no, drop=()),
        "auth": _rows(conn, custody_authorizations, custody_authorizations.c.id, drop=()),
        "accounts": _rows(conn, accounts, accounts.c.code, drop=("id", "created_us")),
        "freezes": _rows(conn, freezes, freezes.c.key, drop=("id", "created_us", "updated_us")),
        "postings": _rows(conn, postings, postings.c.seq, drop=("created_us", "hash")),
    }


def _outcome(result) -> tuple:
    if isinstance(result, trades.TradeResult):
        return ("0", result.request_no, result.amount_fen, result.detail_count)
    return (getattr(result, "code", type(result).__name__), getattr(result, "message", str(result)))


def _reference(conn, env, items):
    out = []
    for request_no, trade in items:
        try:
            with conn.begin_nested():
                out.append(trades.execute(conn, env.clock, P1, request_no, trade, batch_no="BATCH-1",
                                          service_name="ASYNC_TRANSACTION"))
        except Exception as exc:  # noqa: BLE001
            out.append(exc)
    return out


def _batched(conn, env, items):
    return trade_batch.execute_trades(conn, env.clock, P1, items, batch_no="BATCH-1",
                                      service_name="ASYNC_TRANSACTION")


def rolled_back(env, runner, items, outcome) -> tuple[list, dict]:
    """`runner(conn, env, items)` in a transaction that is rolled back: each result's `outcome`, and the
    state it left (so two runners start from the same committed state)."""
    with env.engine.connect() as conn:
        tx = conn.begin()
        try:
            results = runner(conn, env, items)
            return [outcome(r) for r in results], _state(conn)
        finally:
            tx.rollback()


def _run(env, runner, items):
    return rolled_back(env, runner, items, _outcome)


def test_batch_equals_one_by_one(scene):
    ref_outcomes, ref_state = _run(scene, _reference, ITEMS)
    assert {no: o[0] for (no, _t), o in zip(ITEMS, ref_outcomes, strict=True)} == EXPECTED
    got_outcomes, got_state = _run(scene, _batched, ITEMS)
    assert got_outcomes == ref_outcomes
    for name in ref_state:
        assert got_state[name] == ref_state[name], name
    assert any(r[5] == "BATCH-1" for r in got_state["trades"])  # batch_no on the rows


def test_every_prefix_and_split_agrees(scene):
    """Chunk boundaries change nothing: the items in chunks of 1, 2, 3 and 7 give the reference state."""
    ref_outcomes, ref_state = _run(scene, _reference, ITEMS)
    for size in (1, 2, 3, 7):
        def chunked(conn, env, items, size=size):
            out = []
            for start in range(0, len(items), size):
                out.extend(_batched(conn, env, items[start:start + size]))
            return out
        outcomes, state = _run(scene, chunked, ITEMS)
        assert outcomes == ref_outcomes, size
        assert state == ref_state, size


def test_committed_batch_is_audit_clean_and_replay_is_duplicate(scene):
    from cunguan.db.tx import run_in_transaction

    first = run_in_transaction(scene.engine, lambda c: _batched(c, scene, ITEMS))
    assert [_outcome(r)[0] for r in first] == list(EXPECTED.values())
    scene.audit_clean()
    again = run_in_transaction(scene.engine, lambda c: _batched(c, scene, ITEMS[:3]))
    assert [_outcome(r)[0] for r in again] == ["100013", "100014", "100013"]
    scene.audit_clean()


def test_statements_per_chunk_do_not_grow_with_trades(env):
    env.user("B", role="BORROWERS")
    env.fund("SYS_GENERATE_000", 10_000)
    investors = [env.user(f"I{i}") for i in range(60)]

    def count(n: int) -> int:
        items = [(f"FT-{n}-{i}", {"tradeType": "FUNDS_TRANSFER", "details": [
            {"bizType": "FUNDS_TRANSFER", "targetPlatformUserNo": investors[i], "amount": "1"}]}) for i in range(n)]
        seen = []

        def on_exec(*_args, **_kw):
            seen.append(1)
        event.listen(env.engine, "before_cursor_execute", on_exec)
        try:
            from cunguan.db.tx import run_in_transaction
            results = run_in_transaction(env.engine, lambda c: _batched(c, env, items))
        finally:
            event.remove(env.engine, "before_cursor_execute", on_exec)
        assert all(isinstance(r, trades.TradeResult) for r in results)
        return len(seen)

    small, large = count(5), count(60)
    assert large == small, (small, large)
    env.audit_clean()


@pytest.mark.parametrize("with_filter", [True, False])
def test_hooked_trades_run_alone_in_order(scene, monkeypatch, with_filter):
    """A trade a registered hook acts on goes through `trades.execute` at its place in the order; with
    no filter for a hook, every trade does. Either way the outcomes and the database are the reference's."""
    acted: list[str] = []

    def bench_hook(conn, clock, platform_no, req, state, plan, now):
        if req.request_no in ("A07", "A11"):
            acted.append(req.request_no)

    monkeypatch.setattr(trades, "AFTER_TRADE", [*trades.AFTER_TRADE, bench_hook])
    if with_filter:
        monkeypatch.setitem(trade_batch.HOOK_FILTERS, trade_batch._hook_name(bench_hook),
                            lambda conn, platform_no, reqs, orders: {r.request_no for r in reqs} & {"A07", "A11"})
    ref_outcomes, ref_state = _run(scene, _reference, ITEMS)
    assert acted == ["A07", "A11"]
    acted.clear()
    calls = []
    real = trades.execute

    def spy(conn, clock, platform_no, request_no, trade, **kw):
        calls.append(request_no)
        return real(conn, clock, platform_no, request_no, trade, **kw)

    monkeypatch.setattr(trades, "execute", spy)
    got_outcomes, got_state = _run(scene, _batched, ITEMS)
    assert acted == ["A07", "A11"]
    assert got_outcomes == ref_outcomes and got_state == ref_state
    if with_filter:
        assert calls == ["A07", "A11", "A18"]  # the hooked trades and the AUTO_ one
    else:
        # all but the one that does not parse and the one whose project does not exist (refused in the batch)
        assert calls == [no for no, _t in ITEMS if no not in ("A13", "A14")]


def test_refusals_leave_no_reference_cycles(scene):
    """A refusal kept as an outcome holds no traceback: with its frames it formed a cycle that kept the
    whole chunk alive until the garbage collector ran (measured: ~30 ms after every ASYNC chunk)."""
    _run(scene, _batched, ITEMS[:2])  # warm: first-use caches are not the chunk's garbage
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds is kept in gc.garbage to look at
    try:
        outcomes, _db = _run(scene, _batched, ITEMS)
        gc.collect()
        cyclic = [o for o in gc.garbage if isinstance(o, (BaseException, types.FrameType, types.TracebackType))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert sum(1 for o in outcomes if o[0] != "0") >= 10  # refusals of every kind: parse, rules, ledger
    assert cyclic == []


def test_writes_share_one_pipeline_on_postgresql_and_the_ids_are_the_rows(scene, db_kind):
    """PostgreSQL: the segment's writes (postings, trades with details, business rows, register) are sent
    in pipeline mode — the server runs each while the next is built — and the reads its planning waits
    for are not; the trade ids read back at the end are those of the stored rows. SQLite: no pipeline,
    the same rows."""
    in_pipeline: dict[tuple[str, str], set[bool]] = {}
    batched_only = [item for item in ITEMS if not item[1]["tradeType"].startswith("AUTO_")]

    def on_exec(conn, _cursor, statement, *_args):
        driver = conn.connection.driver_connection
        words = statement.split()
        table = next((w for w in words if w.startswith(("custody_", "postings"))), "?")
        kind = "read" if words[0] == "SELECT" else "write"
        in_pipeline.setdefault((kind, table), set()).add(db_kind == "postgresql" and driver._pipeline is not None)  # noqa: SLF001

    from cunguan.db.tx import run_in_transaction

    event.listen(scene.engine, "before_cursor_execute", on_exec)
    try:
        results = run_in_transaction(scene.engine, lambda c: _batched(c, scene, batched_only))
    finally:
        event.remove(scene.engine, "before_cursor_execute", on_exec)
    for table in ("postings", "custody_trades", "custody_requests", "custody_pre_transactions"):
        assert in_pipeline[("write", table)] == {db_kind == "postgresql"}, (table, in_pipeline)
    for table in ("custody_projects", "custody_requests"):
        assert in_pipeline[("read", table)] == {False}, (table, in_pipeline)
    with scene.engine.connect() as c:
        stored = dict(c.execute(select(custody_trades.c.request_no, custody_trades.c.id)).all())
    applied = [r for r in results if isinstance(r, trades.TradeResult)]
    assert len(applied) > 5 and all(stored[r.request_no] == r.trade_id for r in applied)
