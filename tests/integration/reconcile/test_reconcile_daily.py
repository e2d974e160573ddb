"""The daily reconciliation against days built through the real services: a clean day, and a day with
one difference of every class in every check."""

from __future__ import annotations

import datetime as dt

import checkfiles_builder as builder  # tests/support
import pytest
from sqlalchemy import func, select

from cunguan.db.tables.reconcile import reconcile_differences, reconcile_runs
from cunguan.reconcile import daily, report, statements

P1 = builder.P1


def _sources(env, tampered=None, payouts=None):
    sims = statements.runtime_settlement_source(env.engine, env.clock)

    def settlements(company, day):
        if tampered is not None and (company, day) == (tampered.company, tampered.pay_date):
            return tampered
        return sims(company, day)

    return dict(settlements=settlements, payouts=payouts or statements.simulator_payout_source(env.engine))


def _kinds(result) -> list[tuple[str, str, str]]:
    return sorted((x.check, x.kind, x.ref) for x in result.differences)


def test_a_busy_clean_day_has_no_differences(day_env):
    day = builder.build_busy_day(day_env)
    result = daily.reconcile_day(day_env.engine, day_env.clock, P1, day, **_sources(day_env))
    assert result.differences == [] and result.clean and result.run_no == 1
    assert result.custody_fen + result.virtual_fen == 0 and result.virtual_fen > 0
    assert (result.settlement_checked, result.recharges_matched) == (True, 1)  # RC-DAY-1 in YEEPAY's file
    assert (result.payout_checked, result.withdrawals_matched) == (True, 1)  # WD-DAY-1 paid by the channel
    assert result.advances_outstanding_fen == 0
    with day_env.engine.connect() as conn:
        run = report.run_for(conn, P1, day)
    assert run is not None and run.status == "CLEAN" and run.differences == []
    assert report.to_csv(run) == ",".join(report.CSV_HEADER) + "\n"


def test_every_class_of_difference_is_found_and_stored(day_env):
    tue, wed, tampered, payouts = builder.build_problem_days(day_env)
    ret = day_env.withdrawal("WD-RET")
    assert ret["status"] == "SUCCESS"  # our books: paid
    rc_a, rc_b = day_env.recharge_row("RC-A")["order_no"], day_env.recharge_row("RC-B")["order_no"]
    result = daily.reconcile_day(day_env.engine, day_env.clock, P1, tue, **_sources(day_env, tampered, payouts))
    assert _kinds(result) == sorted([
        ("LEDGER", "LEDGER_IMBALANCE", f"P:{P1}:CUSTODY_CASH"),
        ("SETTLEMENT", "MISSING_THEIRS", rc_a),
        ("SETTLEMENT", "AMOUNT_MISMATCH", rc_b),
        ("SETTLEMENT", "MISSING_OURS", "CGRNOBODY0000000000000000000001"),
        ("PAYOUT", "MISSING_THEIRS", ret["order_no"]),
        ("PAYOUT", "MISSING_OURS", "CGWNOBODY000000000000000000001"),
    ])
    by_ref = {x.ref: x for x in result.differences}
    assert (by_ref[rc_a].ours_fen, by_ref[rc_a].theirs_fen) == (30_000, None)
    assert (by_ref[rc_b].ours_fen, by_ref[rc_b].theirs_fen) == (10_000, 10_001)
    assert (by_ref[ret["order_no"]].ours_fen, by_ref[ret["order_no"]].theirs_fen) == (9_900, None)
    assert "FAIL RF04" in by_ref[ret["order_no"]].detail
    imbalance = by_ref[f"P:{P1}:CUSTODY_CASH"]
    assert imbalance.ours_fen - imbalance.theirs_fen == -500  # 5.00 left custody
    assert result.withdrawals_matched == 1 and result.recharges_matched == 0
    assert result.advances_outstanding_fen == 20_000  # advanced Tuesday, not yet due
    assert result.open_count == 6 and not result.clean
    with day_env.engine.connect() as conn:
        rows = conn.execute(select(reconcile_differences).where(
            reconcile_differences.c.run_id == result.run_id)).mappings().all()
        assert len(rows) == 6 and {r["status"] for r in rows} == {"OPEN"}
        assert conn.execute(select(reconcile_runs.c.status)).scalar_one() == "DIFFERENCES"
    # Wednesday (reconciled on Thursday): the advance is overdue, the leak is still there
    day_env.at(wed + dt.timedelta(days=1), 9)
    later = daily.reconcile_day(day_env.engine, day_env.clock, P1, wed, **_sources(day_env))
    assert sorted((x.check, x.kind) for x in later.differences) == [("ADVANCE", "ADVANCE_OVERDUE"),
                                                                      ("LEDGER", "LEDGER_IMBALANCE")]
    overdue = next(x for x in later.differences if x.check == "ADVANCE")
    assert overdue.ours_fen == 20_000 and overdue.source == "PLATFORM"


def test_a_rerun_is_a_new_run(day_env):
    day = builder.build_busy_day(day_env)
    first = daily.reconcile_day(day_env.engine, day_env.clock, P1, day, **_sources(day_env))
    second = daily.reconcile_day(day_env.engine, day_env.clock, P1, day, **_sources(day_env))
    assert (first.run_no, second.run_no) == (1, 2)
    with day_env.engine.connect() as conn:
        assert report.run_numbers(conn, P1, day) == [1, 2]
        assert conn.execute(select(func.count()).select_from(reconcile_runs)).scalar_one() == 2


def test_no_settlement_file_once_due_is_missing_theirs(day_env):
    day_env.user("u-1")
    row = day_env.recharge("u-1", "RC-1", "10", company="FUIOU")
    tue = day_env.next_working_day()
    result = daily.reconcile_day(day_env.engine, day_env.clock, P1, tue - dt.timedelta(days=1),
                                 settlements=lambda company, day: None, payouts=None)
    assert [(x.kind, x.source, x.ref, x.detail) for x in result.differences] == [
        ("MISSING_THEIRS", "FUIOU", row["order_no"], "no settlement file received")]
    assert not result.payout_checked


def test_only_a_day_that_is_over_and_a_known_platform(day_env):
    with pytest.raises(daily.ReconcileError):
        daily.reconcile_day(day_env.engine, day_env.clock, P1, day_env.today())
    with pytest.raises(daily.ReconcileError):
        daily.reconcile_day(day_env.engine, day_env.clock, "6000000099", day_env.today() - dt.timedelta(days=1))
