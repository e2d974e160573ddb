"""Settlement files: T+1 dates, rendering and strict parsing (line numbers), classification against our
records, and settled-or-not as data."""

from __future__ import annotations

import datetime as dt

import pytest

from cunguan.payments.settlement import (
    OurPayment,
    SettledIndex,
    SettlementFile,
    SettlementFileError,
    SettlementRow,
    compare,
    file_name,
    is_settled,
    parse_csv,
    pay_dates_settled_on,
    read_file,
    render_csv,
    settlement_date_for,
    settlement_due,
    write_file,
)

D = dt.date
DAY = D(2026, 11, 20)
HEADER = "company,date,order_no,company_order_no,amount_fen,fee_fen"


def _file(*rows: tuple[str, str, int, int], company: str = "YEEPAY", day: dt.date = DAY) -> SettlementFile:
    return SettlementFile(company, day, tuple(SettlementRow(company, day, o, t, a, f) for o, t, a, f in rows))


def test_payments_settlement_date_is_next_working_day():
    assert settlement_date_for(D(2026, 11, 20)) == D(2026, 11, 23)  # Friday -> Monday
    assert settlement_date_for(D(2026, 11, 21)) == D(2026, 11, 23)  # Saturday -> Monday
    assert settlement_date_for(D(2025, 9, 30)) == D(2025, 10, 9)  # over National Day 2025
    assert settlement_date_for(D(2025, 10, 10)) == D(2025, 10, 11)  # make-up working Saturday
    assert settlement_date_for(D(2026, 2, 13)) == D(2026, 2, 14)  # make-up working Saturday
    assert settlement_date_for(D(2026, 2, 14)) == D(2026, 2, 24)  # over Spring Festival 2026
    assert settlement_due(D(2026, 11, 20), D(2026, 11, 22)) is False
    assert settlement_due(D(2026, 11, 20), D(2026, 11, 23)) is True


def test_payments_pay_dates_settled_on_a_working_day_after_a_holiday():
    assert pay_dates_settled_on(D(2025, 10, 9)) == [D(2025, 9, 30) + dt.timedelta(days=k) for k in range(9)]
    assert pay_dates_settled_on(D(2025, 10, 11)) == [D(2025, 10, 10)]
    assert pay_dates_settled_on(D(2025, 10, 4)) == []  # a holiday settles nothing


def test_payments_settlement_round_trip(tmp_path):
    f = _file(("R1", "T1", 10_000, 20), ("R2", "T2", 55, 0))
    text = render_csv(f)
    assert text.splitlines()[0] == HEADER
    assert text.splitlines()[1] == "YEEPAY,2026-11-20,R1,T1,10000,20"
    assert parse_csv(text, company="YEEPAY", pay_date=DAY) == f
    path = write_file(f, tmp_path)
    assert path.name == file_name("YEEPAY", DAY) == "YEEPAY_20261120.csv"
    assert read_file(path) == f
    assert f.net_fen == 10_055 - 20


def test_payments_settlement_empty_day_is_header_only():
    f = _file()
    assert render_csv(f) == HEADER + "\n"
    assert parse_csv(render_csv(f), company="YEEPAY", pay_date=DAY).rows == ()


@pytest.mark.parametrize(("bad_line", "why"), [
    ("YEEPAY,2026-11-20,R2,T2,-5,0", "amount_fen"),
    ("YEEPAY,2026-11-20,R2,T2,12.50,0", "amount_fen"),
    ("YEEPAY,2026-11-20,R2,T2,0100,0", "amount_fen"),
    ("YEEPAY,2026-11-20,R2,T2,100", "expected 6 fields"),
    ("YEEPAY,2026-11-21,R2,T2,100,0", "date"),
    ("FUIOU,2026-11-20,R2,T2,100,0", "company"),
    ("YEEPAY,2026-11-20,R2,T2,100,101", "fee_fen is larger"),
    ("YEEPAY,2026-11-20,,T2,100,0", "order_no"),
    ("YEEPAY,2026-11-20,R1,T2,100,0", "order_no repeats line 2"),
    ('YEEPAY,2026-11-20,"R2,T2,100,0', "CSV"),
])
def test_payments_settlement_parser_reports_the_bad_line(bad_line, why):
    text = "\n".join([HEADER, "YEEPAY,2026-11-20,R1,T1,100,0", bad_line, "YEEPAY,2026-11-20,R3,T3,100,0"])
    with pytest.raises(SettlementFileError) as err:
        parse_csv(text, company="YEEPAY", pay_date=DAY)
    assert [p.line for p in err.value.problems] == [3]
    assert why in err.value.problems[0].message
    assert "line 3" in str(err.value)


def test_payments_settlement_parser_reports_every_bad_line_and_the_header():
    text = "\n".join(["company,date,order,their,amount,fee", "YEEPAY,2026-11-20,R1,T1,x,0",
                      "YEEPAY,2026-11-20,R2,T2,100,0", "YEEPAY,2026-11-20,R3,T3,100,y"])
    with pytest.raises(SettlementFileError) as err:
        parse_csv(text, company="YEEPAY", pay_date=DAY)
    assert [p.line for p in err.value.problems] == [1, 2, 4]
    with pytest.raises(SettlementFileError) as err:
        parse_csv("", company="YEEPAY", pay_date=DAY)
    assert err.value.problems[0].line == 1


def test_payments_settlement_file_name_must_be_known(tmp_path):
    path = tmp_path / "yeepay-20261120.csv"
    path.write_text(HEADER + "\n", encoding="utf-8")
    with pytest.raises(SettlementFileError) as err:
        read_file(path)
    assert err.value.problems[0].line == 0


def test_payments_compare_classifies_missing_extra_and_mismatch():
    theirs = _file(("R1", "T1", 100, 1), ("R2", "T2", 200, 1), ("R9", "T9", 900, 2))
    ours = [OurPayment("R1", 100), OurPayment("R2", 250), OurPayment("R3", 300)]
    result = compare(theirs, ours)
    assert [r.order_no for r in result.matched] == ["R1"]
    assert [r.order_no for r in result.missing_ours] == ["R9"]  # their line we have no record of
    assert [p.order_no for p in result.missing_theirs] == ["R3"]  # ours they did not settle
    assert [(m.order_no, m.ours_fen, m.theirs_fen) for m in result.amount_mismatch] == [("R2", 250, 200)]
    assert not result.clean
    assert compare(_file(("R1", "T1", 100, 1)), [OurPayment("R1", 100)]).clean


def test_payments_settled_or_not_from_received_files():
    fri = _file(("R1", "T1", 100, 1))
    mon = _file(("R5", "T5", 100, 1), day=D(2026, 11, 23))
    index = SettledIndex.of([fri])
    assert index.is_settled("YEEPAY", "R1") and index.settled_on("YEEPAY", "R1") == D(2026, 11, 23)
    assert not index.is_settled("YEEPAY", "R5") and not index.is_settled("FUIOU", "R1")
    index.add(mon)
    assert index.is_settled("YEEPAY", "R5") and index.has_file("YEEPAY", D(2026, 11, 23))
    assert is_settled("YEEPAY", "R1", [fri]) and not is_settled("YEEPAY", "R5", [fri])
    with pytest.raises(AssertionError):
        index.add(fri)  # the same file twice is a bug upstream
