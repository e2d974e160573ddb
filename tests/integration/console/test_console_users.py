"""User lookup: by platform + platformUserNo, or by a (masked) number; the page never holds a full
ID or card number."""

from __future__ import annotations

import pytest

from .conftest import P1, register_enterprise, register_person


@pytest.fixture
def person(engine, clock, platform):
    return register_person(engine, clock, "u1", seq=11)


def _search(c, q: str, platform_no: str = P1):
    return c.post("/console/users/search", data={"platform_no": platform_no, "q": q, "csrf_token": c.csrf()})


def _assert_masked(page: str, req) -> None:
    assert req.id_card_no not in page and req.bankcard_no not in page and req.mobile not in page
    assert req.id_card_no[:3] + "*" * 11 + req.id_card_no[-4:] in page
    assert req.bankcard_no[:6] + "*" * (len(req.bankcard_no) - 10) + req.bankcard_no[-4:] in page


@pytest.mark.parametrize("role", ["operator", "reviewer", "admin"])
def test_lookup_by_user_number_is_masked_for_every_role(as_role, person, role):
    page = as_role(role).get("/console/users", params={"platform_no": P1, "platform_user_no": "u1"})
    assert page.status_code == 200 and "查询结果（1）" in page.text and "张三" in page.text
    _assert_masked(page.text, person)


@pytest.mark.parametrize("query", ["{id3}***********{id4}", "{id3}*{id4}", "{card6}*{card4}", "{id}", "{mobile}"])
def test_masked_search_finds_the_user(as_role, person, engine, clock, query):
    register_person(engine, clock, "u2", seq=12)
    q = query.format(id3=person.id_card_no[:3], id4=person.id_card_no[-4:], card6=person.bankcard_no[:6],
                     card4=person.bankcard_no[-4:], id=person.id_card_no, mobile=person.mobile)
    page = _search(as_role("operator"), q)
    assert page.status_code == 200 and "查询结果（1）" in page.text and ">u1<" in page.text
    _assert_masked(page.text, person)


def test_search_is_scoped_to_the_platform_and_limited(as_role, person, engine, clock):
    c = as_role("operator")
    other = _search(c, person.id_card_no, "6000000002")
    assert other.status_code == 200 and "查询结果（0）" in other.text
    for q in ("12", "****", "abc1234", "1" * 31):
        resp = _search(c, q)
        assert resp.status_code == 400 and "至少 4 位" in resp.text, q
    missing = c.get("/console/users", params={"platform_no": P1, "platform_user_no": "nobody"})
    assert "未找到用户" in missing.text


def test_enterprise_legal_id_is_masked_too(as_role, engine, clock, platform):
    ent = register_enterprise(engine, clock, "e1")
    page = as_role("operator").get("/console/users", params={"platform_no": P1, "platform_user_no": "e1"}).text
    assert ent.legal_id_card_no not in page and ent.bankcard_no not in page and "懒猫科技有限公司" in page


def test_search_needs_csrf(as_role, person):
    c = as_role("operator")
    resp = c.post("/console/users/search", data={"platform_no": P1, "q": person.id_card_no})
    assert resp.status_code == 403 and person.id_card_no not in resp.text
