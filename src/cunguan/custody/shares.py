"""Shares (债权份额): who holds how much principal of a project, and how much of it is locked on sale.

A TENDER release gives each investor a share equal to the principal released from their bid (a
migrated project's shares come from the migration importer, `import_holdings`); a
REPAYMENT (principal = amount − income) or a direct COMPENSATORY reduces the holder's share; a credit
assignment or an indirect compensation moves share from holder to buyer / compensator. Every change
runs under the project's row lock (taken first by the caller), so rows of one project change one
writer at a time; the table's CHECKs (principal ≥ 0, 0 ≤ locked ≤ principal) are the last line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from cunguan.db.prepared import Prepared, Write, driver_sql, in_list, run_sql, run_together
from cunguan.db.tables.custody_trades import custody_shares


def load(conn: Connection, platform_no: str, project_no: str, holders: Iterable[str], *,
         lock: bool = False) -> dict[str, dict]:
    """Holdings of `holders` in one statement: holder → {principal_fen, locked_fen, id}."""
    holders = sorted(set(holders))
    if not holders:
        return {}
    in_holders, params = in_list(conn, holders)
    sql = ("SELECT id, holder_user_no, principal_fen, locked_fen FROM custody_shares "  # noqa: S608
           f"WHERE platform_no = ? AND project_no = ? AND holder_user_no {in_holders}")
    if lock and conn.dialect.name == "postgresql":
        sql += " FOR UPDATE"
    return {r[1]: {"id": int(r[0]), "principal_fen": int(r[2]), "locked_fen": int(r[3])}
            for r in run_sql(conn, driver_sql(conn, sql), [platform_no, project_no, *params])}


def holding(conn: Connection, platform_no: str, project_no: str, holder: str, *, lock: bool = False) -> dict | None:
    return load(conn, platform_no, project_no, [holder], lock=lock).get(holder)


def apply_deltas(conn: Connection, platform_no: str, project_no: str, existing: Mapping[str, dict],
                 deltas: Mapping[str, tuple[int, int]], now_us: int) -> None:
    """Add (principal, locked) deltas: existing rows updated, new holders inserted."""
    run_together(conn, delta_writes(platform_no, project_no, existing, deltas, now_us))


def delta_writes(platform_no: str, project_no: str, existing: Mapping[str, dict],
                 deltas: Mapping[str, tuple[int, int]], now_us: int) -> list[Write]:
    """`apply_deltas` as writes to send with others (`db.prepared.run_together`): one per holder, the
    updates before the inserts (on SQLite each kind then goes as one executemany)."""
    updates, inserts = [], []
    for holder, (d_principal, d_locked) in deltas.items():
        if not d_principal and not d_locked:
            continue
        row = existing.get(holder)
        if row is not None:
            updates.append(Write(_ADD, {"b_id": row["id"], "b_p": d_principal, "b_l": d_locked, "b_now": now_us}, rows=1))
        else:
            assert d_principal >= 0 and d_locked >= 0, f"share of {holder} would go negative"
            inserts.append(Write(_INSERT, dict(platform_no=platform_no, project_no=project_no, holder_user_no=holder,
                                              principal_fen=d_principal, locked_fen=d_locked, created_us=now_us,
                                              updated_us=now_us), rows=1))
    return updates + inserts


_c = custody_shares.c
_ADD = Prepared(update(custody_shares).where(_c.id == bindparam("b_id")).values(
    principal_fen=_c.principal_fen + bindparam("b_p"), locked_fen=_c.locked_fen + bindparam("b_l"),
    updated_us=bindparam("b_now")))
_INSERT = Prepared(custody_shares.insert().values({n: bindparam(n) for n in (
    "platform_no", "project_no", "holder_user_no", "principal_fen", "locked_fen", "created_us", "updated_us")}))


def import_holdings(conn: Connection, platform_no: str, project_no: str, holdings: Mapping[str, int],
                    now_us: int) -> None:
    """The holders' shares of a migrated project (`projects.import_project`), one row each, unlocked:
    from then on they are repaid, compensated and sold exactly like shares from a TENDER release.
    Holders are new to the project (the unique holding constraint refuses a second row)."""
    assert holdings and all(v > 0 for v in holdings.values()), "imported shares are positive"
    conn.execute(custody_shares.insert(), [
        dict(platform_no=platform_no, project_no=project_no, holder_user_no=holder, principal_fen=fen, locked_fen=0,
             created_us=now_us, updated_us=now_us) for holder, fen in sorted(holdings.items())])


def project_holdings(conn: Connection, platform_no: str, project_no: str) -> dict[str, tuple[int, int]]:
    """Every holder's (principal, locked), for queries and tests."""
    c = custody_shares.c
    rows = conn.execute(select(c.holder_user_no, c.principal_fen, c.locked_fen)
                        .where(c.platform_no == platform_no, c.project_no == project_no))
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}
