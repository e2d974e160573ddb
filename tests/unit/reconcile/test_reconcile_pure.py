"""Reconciliation pieces without a database: the payout statement parser, the differences, the chart."""

from __future__ import annotations

import datetime as dt

import pytest
import typer

from cunguan.cli.reconcile import parse_day
from cunguan.reconcile import daily, report, statements
from cunguan.web import reconcile_pages


def test_payout_statement_csv():
    text = "order_no,amount_fen,status,reason_code\nCGW1,9900,SUCCESS,\nCGW2,500,FAIL,RF04\nCGW3,1,SUCCESS\n"
    assert statements.parse_payout_csv(text) == [
        daily.PayoutLine("CGW1", 9900, "SUCCESS"), daily.PayoutLine("CGW2", 500, "FAIL", "RF04"),
        daily.PayoutLine("CGW3", 1, "SUCCESS")]


@pytest.mark.parametrize("text", ["", "order,amount,status\n", "order_no,amount_fen,status\nA,-1,SUCCESS\n",
                                  "order_no,amount_fen,status\nA,1.5,SUCCESS\n", "order_no,amount_fen,status\nA,1,PAID\n",
                                  "order_no,amount_fen,status\n,1,SUCCESS\n", "order_no,amount_fen,status\nA,1\n"])
def test_bad_payout_statements_are_refused(text):
    with pytest.raises(statements.StatementError):
        statements.parse_payout_csv(text)


def test_differences_know_their_checks_and_kinds():
    daily.Difference("PAYOUT", "MISSING_OURS", "PAYOUT", "X", None, 1, "d")
    with pytest.raises(AssertionError):
        daily.Difference("PAYOUT", "LOST", "PAYOUT", "X", None, 1, "d")
    with pytest.raises(AssertionError):
        daily.Difference("BALANCE", "MISSING_OURS", "PAYOUT", "X", None, 1, "d")


def test_the_chart_scales_bars_and_line():
    points = [report.DayPoint(dt.date(2026, 11, 23), 1, "CLEAN", 0, 0, 10_000),
              report.DayPoint(dt.date(2026, 11, 24), 2, "DIFFERENCES", 4, 6, 20_000)]
    chart = reconcile_pages.chart(points)
    assert not chart.empty and chart.max_open == 4 and chart.max_virtual == "200.00"
    low, high = chart.bars
    assert low.h == 0 and high.h == chart.height - 2 * reconcile_pages.PAD
    assert (low.label, high.label) == ("11-23", "11-24") and "待处理差异 4" in high.title
    first, second = chart.line.split(" ")
    assert float(first.split(",")[1]) > float(second.split(",")[1])  # the larger balance is drawn higher
    assert reconcile_pages.chart([]).empty


def test_cli_dates():
    assert parse_day("2026-11-24") == parse_day("20261124") == dt.date(2026, 11, 24)
    with pytest.raises(typer.BadParameter):
        parse_day("24/11/2026")
