"""Settlement files applied to custody: matched lines settle, extra / missing / mismatched lines are
reported and leave the right recharges unsettled; a file is applied once; QUERY_TRANSACTION records
and check-file rows of money."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from cunguan.clock import BEIJING
from cunguan.custody import money_queries, settlement_intake, withdrawals
from cunguan.payments.settlement import SettlementFile, SettlementNotDue, SettlementRow, render_csv

from .conftest import P1


def _three_recharges(money) -> dt.date:
    money.user("U1")
    money.user("U2")
    for no, user, amount in (("S-1", "U1", "100"), ("S-2", "U1", "200"), ("S-3", "U2", "300")):
        money.recharge(user, no, amount)
    money.rt.run_until_idle()
    return money.clock.beijing_date()


def test_settlement_is_imported_on_the_next_working_day(money):
    pay_day = _three_recharges(money)
    with pytest.raises(SettlementNotDue):
        money.rt.simulators["YEEPAY"].settlement_file(pay_day)
    assert money.rt.import_settlements() == []
    money.next_working_day(dt.time(8, 0))
    reports = money.rt.import_settlements()
    assert len(reports) == 1 and reports[0].clean and reports[0].matched == 3
    assert money.unsettled("U1") == 0 and money.unsettled("U2") == 0
    assert money.recharge_row("S-1")["settled_date"] == money.clock.beijing_date().strftime("%Y%m%d")
    assert money.rt.import_settlements() == []  # applied once


def test_missing_and_extra_lines_are_reported_and_stay_unsettled(money, nothing_written):
    pay_day = _three_recharges(money)
    money.next_working_day(dt.time(8, 0))
    real = money.rt.simulators["YEEPAY"].settlement_file(pay_day)
    missing = money.recharge_row("S-2")["order_no"]
    changed = money.recharge_row("S-3")["order_no"]
    rows = [r for r in real.rows if r.order_no != missing]
    rows = [dataclasses.replace(r, amount_fen=r.amount_fen + 1) if r.order_no == changed else r for r in rows]
    rows.append(SettlementRow("YEEPAY", pay_day, "CGRNOTOURS0001", "YEEPEXTRA0001", 12_345, 2))
    doctored = SettlementFile("YEEPAY", pay_day, tuple(rows))
    report = settlement_intake.apply_settlement(money.engine, money.clock, doctored)
    assert not report.clean and report.matched == 1
    assert report.missing_theirs == [missing]
    assert report.missing_ours == ["CGRNOTOURS0001"]
    assert report.amount_mismatch == [{"order_no": changed, "ours_fen": 30_000, "theirs_fen": 30_001}]
    assert money.recharge_row("S-1")["settled_date"] is not None
    assert money.recharge_row("S-2")["settled_date"] is None
    assert money.recharge_row("S-3")["settled_date"] is None
    assert money.unsettled("U1") == 20_000 and money.unsettled("U2") == 30_000
    with nothing_written():
        again = settlement_intake.apply_settlement(money.engine, money.clock, real)
    assert again.already_applied and again.missing_theirs == [missing]
    assert money.rt.import_settlements() == []  # the day's file is in: nothing more is fetched


def test_settlement_csv_file_through_the_parser(money, tmp_path):
    pay_day = _three_recharges(money)
    money.next_working_day(dt.time(8, 0))
    real = money.rt.simulators["YEEPAY"].settlement_file(pay_day)
    path = tmp_path / f"YEEPAY_{pay_day:%Y%m%d}.csv"
    path.write_text(render_csv(real), encoding="utf-8")
    report = settlement_intake.apply_file(money.engine, money.clock, path)
    assert report.clean and report.matched == 3


def test_money_records_and_check_file_rows(money):
    money.user("U1")
    money.funded("U1", "1000", request_no="Q-RC")
    money.withdraw("U1", "Q-WD", "100", commission="1")
    money.withdraw("U1", "Q-WD2", "50")
    money.tx(lambda c: withdrawals.intercept_withdraw(c, money.clock, P1,
                                                      withdrawals.InterceptWithdrawRequest("Q-IC", "Q-WD2")))

    def records(kind, no):
        return money.read(lambda c: money_queries.money_records(c, P1, kind, no))

    rc = records("RECHARGE", "Q-RC")
    assert rc[0]["status"] == "SUCCESS" and str(rc[0]["amount"]) == "1000.00"
    assert records("WITHDRAW", "Q-WD")[0]["status"] == "ACCEPT"
    assert records("INTERCEPT_WITHDRAW", "Q-IC")[0]["withdrawRequestNo"] == "Q-WD2"
    back_no = money.notifies("BACKROLL_RECHARGE")[0]["requestNo"]
    assert records("RECHARGE", back_no)[0]["rechargeWay"] == "BACKROLL"
    assert records("RECHARGE", "NONE") is None and records("WITHDRAW", "Q-RC") is None
    assert records("FREEZE", "Q-RC") is None
    day = money.clock.beijing_date()
    back_rows = money.read(lambda c: money_queries.check_file_rows(c, P1, day, "BACKROLL_RECHARGE"))
    assert len(back_rows) == 1 and len(back_rows[0]) == 15 and back_rows[0][13] == "INTERCEPT"
    pay_day = dt.datetime.strptime(money.recharge_row("Q-RC")["pay_date"], "%Y%m%d").date()
    rc_rows = money.read(lambda c: money_queries.check_file_rows(c, P1, pay_day, "RECHARGE"))
    assert len(rc_rows) == 1 and len(rc_rows[0]) == 16 and rc_rows[0][3] == "Q-RC" and rc_rows[0][6] == "1000.00"
    money.clock.set(dt.datetime.combine(day, dt.time(23, 0), BEIJING))  # the NORMAL cut-off
    money.rt.tick()
    money.next_working_day(dt.time(10, 5))
    money.rt.tick()
    paid_day = money.clock.beijing_date()
    wd_rows = money.read(lambda c: money_queries.check_file_rows(c, P1, paid_day, "WITHDRAW"))
    assert len(wd_rows) == 1 and len(wd_rows[0]) == 18 and wd_rows[0][2] == "Q-WD" and wd_rows[0][11] == "99.00"
    cm_rows = money.read(lambda c: money_queries.check_file_rows(c, P1, paid_day, "COMMISSION"))
    assert len(cm_rows) == 1 and len(cm_rows[0]) == 11 and cm_rows[0][6] == "1.00"
