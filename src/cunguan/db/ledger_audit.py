"""`cunguan audit` on storage: reads the ledger (read-only) and runs the pure checks of
`cunguan.ledger.audit`. Sums are computed by the database; the chain is streamed in seq order."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.engine import Connection, Engine

from cunguan.ledger.audit import (
    Violation,
    check_accounts,
    check_chain,
    check_freezes,
    check_references,
    check_totals,
)

CHAIN_FETCH_ROWS = 10_000


def _sums(conn: Connection, sql: str) -> dict[int, int]:
    return {int(k): int(v) for k, v in conn.exec_driver_sql(sql)}


# Postings whose accounts or freeze are missing (postings carry no foreign keys, see migration 0009):
# an anti-join on the primary keys, so a clean ledger returns nothing.
_ORPHANS = (
    "SELECT p.seq, p.debit_account_id, p.credit_account_id, p.freeze_id, "
    "d.id IS NOT NULL, c.id IS NOT NULL, f.id IS NOT NULL "
    "FROM postings p LEFT JOIN accounts d ON d.id = p.debit_account_id "
    "LEFT JOIN accounts c ON c.id = p.credit_account_id LEFT JOIN freezes f ON f.id = p.freeze_id "
    "WHERE d.id IS NULL OR c.id IS NULL OR (p.freeze_id IS NOT NULL AND f.id IS NULL) ORDER BY p.seq"
)


def violations(conn: Connection) -> Iterator[Violation]:
    yield from check_references(
        (int(s), int(d), int(c), None if f is None else int(f), bool(df), bool(cf), bool(ff))
        for s, d, c, f, df, cf, ff in conn.exec_driver_sql(_ORPHANS)
    )
    credits = _sums(conn, "SELECT credit_account_id, SUM(amount_fen) FROM postings GROUP BY credit_account_id")
    debits = _sums(conn, "SELECT debit_account_id, SUM(amount_fen) FROM postings GROUP BY debit_account_id")
    frozen = _sums(
        conn,
        "SELECT account_id, SUM(amount_fen - consumed_fen - released_fen) FROM freezes GROUP BY account_id",
    )
    consumed = _sums(
        conn, "SELECT freeze_id, SUM(amount_fen) FROM postings WHERE freeze_id IS NOT NULL GROUP BY freeze_id"
    )
    yield from check_totals(sum(debits.values()), sum(credits.values()),
                            int(conn.exec_driver_sql("SELECT COALESCE(SUM(balance_fen), 0) FROM accounts").scalar()))
    accounts = ((int(i), bool(o), int(b), int(f)) for i, o, b, f in
                conn.exec_driver_sql("SELECT id, allow_overdraw, balance_fen, frozen_fen FROM accounts ORDER BY id"))
    yield from check_accounts(accounts, credits, debits, frozen)
    yield from check_freezes(
        conn.exec_driver_sql("SELECT id, key, amount_fen, consumed_fen, released_fen, status FROM freezes ORDER BY id"),
        consumed,
    )
    head = conn.exec_driver_sql("SELECT last_seq, last_hash FROM ledger_chain WHERE id = 1").one()
    rows = conn.execution_options(stream_results=True, yield_per=CHAIN_FETCH_ROWS).exec_driver_sql(
        "SELECT seq, debit_account_id, credit_account_id, amount_fen, currency, biz_type, ref, idem_key, "
        "freeze_id, created_us, hash FROM postings ORDER BY seq"
    )
    yield from check_chain(rows, (int(head[0]), bytes(head[1])))


def first_violation(engine: Engine) -> Violation | None:
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_deferred=True)
        with conn.begin():
            return next(violations(conn), None)


def audit(engine: Engine) -> list[Violation]:
    """Every violation (for tests and reports); `first_violation` stops at the first."""
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_deferred=True)
        with conn.begin():
            return list(violations(conn))
