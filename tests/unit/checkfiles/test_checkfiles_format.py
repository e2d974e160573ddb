"""Check-file format rules, without a database."""

from __future__ import annotations

import datetime as dt

import pytest

from cunguan.clock import BEIJING, FixedClock
from cunguan.custody import check_files
from cunguan.custody.user_errors import InvalidField, QueryTargetNotFound


def test_the_five_types_have_the_spec_column_counts():
    assert check_files.FILE_TYPES == ("RECHARGE", "WITHDRAW", "COMMISSION", "TRANSACTION", "BACKROLL_RECHARGE")
    assert {t: len(h) for t, h in check_files.HEADERS.items()} == {
        "RECHARGE": 16, "WITHDRAW": 18, "COMMISSION": 11, "TRANSACTION": 17, "BACKROLL_RECHARGE": 15}


def test_file_names_have_exactly_three_parts():
    name = check_files.file_name(dt.date(2026, 11, 24), "6000000001", "BACKROLL_RECHARGE")
    assert name == "20261124_6000000001_BACKROLL_RECHARGE.txt"
    assert name[:-4].split("_", 2) == ["20261124", "6000000001", "BACKROLL_RECHARGE"]


def test_render_writes_header_first_and_never_quotes():
    rows = [("20261124150000", "6000000001", "T000000000001002", "TENDER", "b", "SYS_GENERATE_004", "20.00", "CNY",
             "P", "服务费,首期\r\n第二行", "REL-1")]
    text = check_files.render_file("COMMISSION", rows).decode("utf-8")
    assert text == (",".join(check_files.HEADERS["COMMISSION"]) + "\n"
                    "20261124150000,6000000001,T000000000001002,TENDER,b,SYS_GENERATE_004,20.00,CNY,P,"
                    "服务费，首期  第二行,REL-1\n")
    assert check_files.render_file("WITHDRAW", []) == (",".join(check_files.HEADERS["WITHDRAW"]) + "\n").encode()


@pytest.mark.parametrize("value", [None, "", "2026-11-24", "2026112", "20261324", "20260230", 20261124, "2026112a"])
def test_file_date_must_be_a_real_yyyymmdd(value):
    with pytest.raises(InvalidField) as info:
        check_files.parse_file_date(value)
    assert info.value.code == "100002" and info.value.field == "fileDate"


def test_only_a_beijing_day_that_is_over():
    clock = FixedClock(dt.datetime(2026, 11, 24, 0, 30, tzinfo=BEIJING))  # still 23 Nov 16:30 UTC
    check_files.require_day_over(clock, dt.date(2026, 11, 23))
    for day in (dt.date(2026, 11, 24), dt.date(2026, 12, 1)):
        with pytest.raises(QueryTargetNotFound) as info:
            check_files.require_day_over(clock, day)
        assert info.value.code == "100007"


def test_trade_order_numbers_and_day_bounds():
    assert check_files.trade_order_no(12, 3) == "T000000000012003"
    start, end = check_files.day_bounds_us(dt.date(2026, 11, 24))
    assert end - start == 86_400_000_000
    assert dt.datetime.fromtimestamp(start / 1e6, dt.UTC) == dt.datetime(2026, 11, 23, 16, 0, tzinfo=dt.UTC)
