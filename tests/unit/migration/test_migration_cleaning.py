"""Every cleaning rule of custody.md (migration/cleaning.py), one verdict at a time (pure: no I/O)."""

from __future__ import annotations

import datetime as dt

import pytest

from cunguan.custody.sample_identities import make_card, make_prc_id, make_uscc
from cunguan.migration import cleaning
from cunguan.migration.cleaning import ACCEPT, FLAG, REJECT, CleanUser, Rejected

TODAY = dt.date(2026, 11, 23)


def row(**over: str) -> dict[str, str]:
    base = {"platformUserNo": "U1", "userType": "PERSONAL", "userRole": "INVESTOR", "name": "张伟",
            "idCardType": "PRC_ID", "idCardNo": make_prc_id(dt.date(1985, 3, 15), seq=1),
            "bankcardNo": make_card("622202", serial=1), "bankcode": "ICBK", "mobile": "13800000001"}
    base.update(over)
    return base


def codes(verdict) -> list[str]:
    if isinstance(verdict, Rejected):
        return [verdict.issue.code]
    return [f.code for f in verdict.flags]


def test_valid_prc_user_is_accepted_with_quick_pay():
    v = cleaning.clean_user(row(), TODAY)
    assert isinstance(v, CleanUser) and v.outcome == ACCEPT and v.flags == ()
    assert v.card_valid and v.quick_pay and not v.review_required and v.bankcode == "ICBK"
    assert v.id_card_type == "PRC_ID"


def test_blank_id_type_means_prc_id_and_blank_bankcode_comes_from_the_bin():
    v = cleaning.clean_user(row(idCardType="", bankcode=""), TODAY)
    assert isinstance(v, CleanUser) and v.id_card_type == "PRC_ID" and v.bankcode == "ICBK" and v.outcome == ACCEPT


@pytest.mark.parametrize("doc_type,number", [("PASSPORT", "E12345678"), ("COMPATRIOTS_CARD", "H12345678")])
def test_passport_and_hk_macau_taiwan_pass_are_imported_for_review(doc_type, number):
    v = cleaning.clean_user(row(idCardType=doc_type, idCardNo=number), TODAY)
    assert isinstance(v, CleanUser) and v.outcome == FLAG and codes(v) == ["REVIEW_REQUIRED"]
    assert v.review_required and v.id_card_no == number


def test_under_18_is_rejected_and_the_18th_birthday_is_the_boundary():
    born = dt.date(2008, 11, 24)  # turns 18 tomorrow (Beijing date)
    v = cleaning.clean_user(row(idCardNo=make_prc_id(born, seq=2)), TODAY)
    assert isinstance(v, Rejected) and v.issue.code == "UNDER_AGE" and "guardian" in v.issue.reason
    v = cleaning.clean_user(row(idCardNo=make_prc_id(dt.date(2008, 11, 23), seq=2)), TODAY)
    assert isinstance(v, CleanUser)  # 18 today


def test_29_february_birthday_turns_18_on_1_march():
    born = dt.date(2008, 2, 29)
    assert isinstance(cleaning.clean_user(row(idCardNo=make_prc_id(born, seq=3)), dt.date(2026, 2, 28)), Rejected)
    assert isinstance(cleaning.clean_user(row(idCardNo=make_prc_id(born, seq=3)), dt.date(2026, 3, 1)), CleanUser)


@pytest.mark.parametrize("doc_type", ["PERMANENT_RESIDENCE", "DRIVING_LICENCE", "MILITARY_ID"])
def test_other_document_types_are_rejected(doc_type):
    v = cleaning.clean_user(row(idCardType=doc_type, idCardNo="X1234567"), TODAY)
    assert isinstance(v, Rejected) and v.issue.code == "DOCUMENT_TYPE"


def test_card_of_unknown_bin_is_imported_marked_invalid():
    v = cleaning.clean_user(row(bankcardNo=make_card("999999", serial=7), bankcode=""), TODAY)
    assert isinstance(v, CleanUser) and codes(v) == ["CARD_INVALID"] and not v.card_valid and not v.quick_pay
    assert v.bankcode is None


def test_unsupported_bankcode_with_unknown_bin_is_marked_invalid():
    v = cleaning.clean_user(row(bankcardNo=make_card("999999", serial=7), bankcode="HSBC"), TODAY)
    assert isinstance(v, CleanUser) and codes(v) == ["CARD_INVALID"] and "HSBC" in v.flags[0].reason


def test_credit_card_is_marked_invalid():
    v = cleaning.clean_user(row(bankcardNo=make_card("622575", serial=8, length=16), bankcode="CMBC"), TODAY)
    assert isinstance(v, CleanUser) and codes(v) == ["CARD_INVALID"] and "credit" in v.flags[0].reason


def test_bankcode_disagreeing_with_the_bin_marks_the_card_invalid():
    v = cleaning.clean_user(row(bankcode="ABOC"), TODAY)
    assert isinstance(v, CleanUser) and codes(v) == ["CARD_INVALID"] and v.bankcode == "ICBK"


def test_bank_without_quick_pay_is_flagged():
    v = cleaning.clean_user(row(bankcardNo=make_card("621468", serial=9), bankcode="BJCN"), TODAY)
    assert isinstance(v, CleanUser) and codes(v) == ["NO_QUICK_PAY"] and v.card_valid and not v.quick_pay


def test_passport_with_invalid_card_carries_both_flags():
    v = cleaning.clean_user(row(idCardType="PASSPORT", idCardNo="E7654321", bankcardNo=make_card("999999", serial=3),
                                bankcode=""), TODAY)
    assert isinstance(v, CleanUser) and codes(v) == ["REVIEW_REQUIRED", "CARD_INVALID"]


@pytest.mark.parametrize("column", ["platformUserNo", "userType", "userRole", "name", "idCardNo", "bankcardNo",
                                    "mobile"])
def test_missing_data_is_rejected_until_completed(column):
    v = cleaning.clean_user(row(**{column: ""}), TODAY)
    assert isinstance(v, Rejected) and v.issue.code == "MISSING_DATA" and "missing" in v.issue.reason


def test_malformed_card_is_rejected():
    card = make_card("622202", serial=13)
    bad = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert codes(cleaning.clean_user(row(bankcardNo=bad), TODAY)) == ["INVALID_CARD"]
    assert codes(cleaning.clean_user(row(bankcardNo="6222 02ab"), TODAY)) == ["INVALID_CARD"]
    assert codes(cleaning.clean_user(row(bankcardNo="622202123"), TODAY)) == ["INVALID_CARD"]


def test_malformed_id_number_is_rejected():
    good = make_prc_id(dt.date(1980, 3, 15), seq=14)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    v = cleaning.clean_user(row(idCardNo=bad), TODAY)
    assert isinstance(v, Rejected) and v.issue.code == "INVALID_DOCUMENT" and "check digit" in v.issue.reason
    assert codes(cleaning.clean_user(row(idCardType="PASSPORT", idCardNo="E1"), TODAY)) == ["INVALID_DOCUMENT"]


@pytest.mark.parametrize("over,code", [
    ({"userType": "PERSON"}, "INVALID_DATA"),
    ({"userRole": "GUARANTEECORP"}, "INVALID_DATA"),  # not a personal role
    ({"platformUserNo": "SYS_GENERATE_002"}, "INVALID_DATA"),
    ({"mobile": "12345"}, "INVALID_DATA"),
    ({"name": "张3"}, "INVALID_DATA"),
])
def test_invalid_fields_are_rejected(over, code):
    assert codes(cleaning.clean_user(row(**over), TODAY)) == [code]


def test_enterprise_rules():
    org = row(userType="ORGANIZATION", userRole="BORROWERS", name="懒猫科技有限公司", idCardType="",
              idCardNo=make_uscc(), bankcardNo="110060149018000012345", bankcode="COMM")
    v = cleaning.clean_user(org, TODAY)
    assert isinstance(v, CleanUser) and v.outcome == ACCEPT and not v.quick_pay and v.id_card_type is None
    assert codes(cleaning.clean_user({**org, "idCardType": "PRC_ID"}, TODAY)) == ["DOCUMENT_TYPE"]
    assert codes(cleaning.clean_user({**org, "bankcode": ""}, TODAY)) == ["MISSING_DATA"]
    assert codes(cleaning.clean_user({**org, "bankcode": "HSBC"}, TODAY)) == ["CARD_INVALID"]
    assert codes(cleaning.clean_user({**org, "idCardNo": "91110000600037341X"}, TODAY)) == ["INVALID_DOCUMENT"]


def test_amounts_are_exact_yuan_with_at_most_two_decimals():
    assert cleaning.parse_amount("1234.56", "balance").fen == 123456
    assert cleaning.parse_amount("0.1", "balance").fen == 10
    assert cleaning.parse_amount("0", "balance", allow_zero=True).fen == 0
    for bad in ("1.005", "1e3", "-5", "abc", "", "１２"):
        amount = cleaning.parse_amount(bad, "balance")
        assert amount.fen is None and amount.problem


def test_projects_and_shares():
    p = cleaning.clean_project({"projectNo": "P1", "borrowerPlatformUserNo": "U1", "projectAmount": "10000",
                                "annualInterestRate": "0.085", "repaymentWay": "ONE_TIME_SERVICING",
                                "projectPeriod": "90"})
    assert isinstance(p, cleaning.CleanProject) and p.amount_fen == 1_000_000 and p.period == 90
    bad = cleaning.clean_project({"projectNo": "P1", "borrowerPlatformUserNo": "U1", "projectAmount": "1",
                                  "repaymentWay": "MONTHLY"})
    assert isinstance(bad, cleaning.Issue) and bad.outcome == REJECT
    assert isinstance(cleaning.clean_project({"projectNo": "", "borrowerPlatformUserNo": "U1"}), cleaning.Issue)
    s = cleaning.clean_share({"projectNo": "P1", "platformUserNo": "U2", "share": "6000.00"})
    assert isinstance(s, cleaning.CleanShare) and s.share_fen == 600_000
    assert isinstance(cleaning.clean_share({"projectNo": "P1", "platformUserNo": "U2", "share": "0"}), cleaning.Issue)
