"""The review queue: enterprise and special-ID registrations, decided from the console."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from cunguan.custody import users
from cunguan.custody.card_verifier import SimulatedCardBank
from cunguan.custody.sample_identities import make_card
from cunguan.db.tables.console import console_actions
from cunguan.db.tables.custody_users import custody_user_reviews, custody_users
from cunguan.db.tables.notify import notify_outbox
from cunguan.db.tx import run_in_transaction

from .conftest import P1, register_enterprise


def _decide(c, user_no, decision, remark=""):
    return c.post("/console/reviews/decide", data={"platform_no": P1, "platform_user_no": user_no,
                                                   "decision": decision, "remark": remark,
                                                   "csrf_token": c.csrf("/console/reviews")})


def _status(engine, user_no):
    with engine.connect() as conn:
        return tuple(conn.execute(select(custody_users.c.audit_status, custody_users.c.active_status)
                                  .where(custody_users.c.platform_user_no == user_no)).one())


def _register_passport_holder(engine, clock, user_no):
    bank = SimulatedCardBank()
    req = users.PersonalRegisterRequest(
        request_no=f"REG-{user_no}", platform_user_no=user_no, user_role="INVESTOR", real_name="JOHN SMITH",
        id_card_no="E12345678", id_card_type="PASSPORT", bankcard_no=make_card(serial=77), mobile="13900000077",
        password="abc12345", check_type="LIMIT")
    run_in_transaction(engine, lambda conn: users.personal_register(conn, clock, P1, req, verifier=bank))


def test_queue_lists_enterprises_and_special_ids_masked(as_role, engine, clock, platform):
    ent = register_enterprise(engine, clock, "e1")
    _register_passport_holder(engine, clock, "p1")
    page = as_role("operator").get("/console/reviews").text
    assert 'data-testid="review-6000000001-e1"' in page and 'data-testid="review-6000000001-p1"' in page
    assert "懒猫科技有限公司" in page and "企业开户" in page and "特殊证件个人开户" in page
    assert ent.legal_id_card_no not in page and ent.legal_id_card_no[:3] + "*" in page
    assert ent.bankcard_no not in page and "E12345678" not in page and "E12**5678" in page


def test_reviewer_passes_an_enterprise(as_role, engine, clock, platform, staff):
    register_enterprise(engine, clock, "e1")
    rv = as_role("reviewer")
    resp = _decide(rv, "e1", "PASSED", "资料齐全")
    assert resp.status_code == 303 and resp.headers["location"] == "/console/reviews?done=PASSED"
    assert _status(engine, "e1") == ("PASSED", "ACTIVATED")
    with engine.connect() as conn:
        review = conn.execute(select(custody_user_reviews)).mappings().one()
        note = conn.execute(select(notify_outbox)).mappings().one()
        trail = conn.execute(select(console_actions)).mappings().one()
    assert (review["operator_id"], review["to_status"], review["remark"]) == ("console:reviewer", "PASSED", "资料齐全")
    assert (note["service_name"], json.loads(note["resp_data"])["auditStatus"]) == ("ENTERPRISE_REGISTER", "PASSED")
    assert (trail["operator_id"], trail["action"], trail["target"]) == (staff["reviewer"].id, "REVIEW_PASSED",
                                                                         "6000000001:e1")
    after = rv.get(resp.headers["location"]).text
    assert "审核通过" in after and "没有待审核的用户" in after


def test_back_and_refuse_need_a_remark(as_role, engine, clock, platform):
    register_enterprise(engine, clock, "e1")
    _register_passport_holder(engine, clock, "p1")
    rv = as_role("admin")
    no_remark = _decide(rv, "e1", "BACK")
    assert no_remark.status_code == 400 and "审核意见" in no_remark.text and _status(engine, "e1")[0] == "AUDIT"
    assert _decide(rv, "e1", "BACK", "营业执照模糊").status_code == 303
    assert _status(engine, "e1") == ("BACK", "DEACTIVATED")
    assert _decide(rv, "p1", "REFUSED", "证件无法核实").status_code == 303
    assert _status(engine, "p1") == ("REFUSED", "DEACTIVATED")


def test_a_decided_user_cannot_be_decided_again(as_role, engine, clock, platform):
    register_enterprise(engine, clock, "e1")
    rv = as_role("reviewer")
    assert _decide(rv, "e1", "PASSED").status_code == 303
    again = _decide(rv, "e1", "REFUSED", "重复")
    assert again.status_code == 400 and "not waiting for review" in again.text
    assert _status(engine, "e1") == ("PASSED", "ACTIVATED")
    unknown = _decide(rv, "nobody", "PASSED")
    assert unknown.status_code == 404
    bad = _decide(rv, "e1", "MAYBE")
    assert bad.status_code == 400


def test_clock_is_the_apps(as_role, engine, clock, platform):
    register_enterprise(engine, clock, "e1")
    clock.advance(dt.timedelta(minutes=5))
    _decide(as_role("reviewer"), "e1", "PASSED")
    with engine.connect() as conn:
        created = conn.execute(select(custody_user_reviews.c.created_us)).scalar_one()
    assert created == int(clock.now().timestamp()) * 1_000_000
