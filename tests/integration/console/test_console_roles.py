"""Role rules: operator reads only; reviewer reviews and re-sends; admin also manages platforms and
operators. The actions refuse by themselves, whatever the page shows."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cunguan.console import actions, roles
from cunguan.console.errors import Forbidden
from cunguan.db.tables.console import console_actions, console_operators
from cunguan.db.tables.custody_platforms import custody_platforms
from cunguan.db.tables.custody_users import custody_user_reviews
from cunguan.notify import outbox

from .conftest import P1, failed_notification, register_enterprise


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_role_table_is_nested():
    assert roles.PERMISSIONS["operator"] == {roles.VIEW}
    assert roles.allows("reviewer", roles.REVIEW_USERS) and not roles.allows("reviewer", roles.MANAGE_PLATFORMS)
    assert all(roles.allows("admin", p) for p in roles.PERMISSIONS["reviewer"] | {roles.MANAGE_OPERATORS})
    assert not roles.allows("root", roles.VIEW)


@pytest.mark.parametrize("role", ["operator", "reviewer"])
def test_only_admin_creates_platforms(as_role, engine, public_key_pem, role):
    c = as_role(role)
    page = c.get("/console/platforms").text
    assert 'action="/console/platforms"' not in page  # no create form shown
    resp = c.post("/console/platforms", data={"platform_no": "6000000008", "name": "x", "notify_url": "http://a.b/n",
                                              "key_serial": "1", "csrf_token": c.csrf()},
                  files={"public_key": ("k.pem", public_key_pem, "application/x-pem-file")})
    assert resp.status_code == 403 and "无权" in resp.text
    assert _count(engine, custody_platforms) == 0 and _count(engine, console_actions) == 0


def test_operator_cannot_review_reviewer_can(as_role, engine, clock, platform):
    register_enterprise(engine, clock, "e1")
    op = as_role("operator")
    assert "只读" in op.get("/console/reviews").text and 'value="PASSED"' not in op.get("/console/reviews").text
    form = {"platform_no": P1, "platform_user_no": "e1", "decision": "PASSED"}
    refused = op.post("/console/reviews/decide", data={**form, "csrf_token": op.csrf()})
    assert refused.status_code == 403 and _count(engine, custody_user_reviews) == 0
    rv = as_role("reviewer")
    assert 'value="PASSED"' in rv.get("/console/reviews").text
    assert rv.post("/console/reviews/decide", data={**form, "csrf_token": rv.csrf()}).status_code == 303
    assert _count(engine, custody_user_reviews) == 1


def test_operator_cannot_resend(as_role, engine, clock, platform):
    nid = failed_notification(engine, clock)
    op = as_role("operator")
    assert "重发" not in op.get("/console/notifications").text
    resp = op.post(f"/console/notifications/{nid}/resend", data={"csrf_token": op.csrf()})
    assert resp.status_code == 403
    with engine.connect() as conn:
        assert outbox.get(conn, nid).status == "FAILED"


@pytest.mark.parametrize("role", ["operator", "reviewer"])
def test_only_admin_manages_operators(as_role, engine, role):
    c = as_role(role)
    assert c.get("/console/operators").status_code == 403
    assert "/console/operators" not in c.get("/console/").text
    resp = c.post("/console/operators", data={"username": "newbie", "password": "long-enough-1", "role": "admin",
                                              "csrf_token": c.csrf()})
    assert resp.status_code == 403 and _count(engine, console_operators) == 3


def test_admin_creates_an_operator_who_can_log_in(as_role, app, engine):
    admin = as_role("admin")
    resp = admin.post("/console/operators", data={"username": "li.si", "password": "long-enough-1",
                                                  "role": "reviewer", "csrf_token": admin.csrf()})
    assert resp.status_code == 303
    short = admin.post("/console/operators", data={"username": "wang", "password": "short", "role": "reviewer",
                                                   "csrf_token": admin.csrf()})
    dup = admin.post("/console/operators", data={"username": "li.si", "password": "long-enough-1",
                                                 "role": "reviewer", "csrf_token": admin.csrf()})
    assert (short.status_code, dup.status_code) == (400, 409)
    from .conftest import Console

    newbie = Console(app)
    assert newbie.login("li.si", "long-enough-1").status_code == 303
    assert "li.si（审核员）" in newbie.get("/console/").text


def test_actions_check_roles_without_the_pages(engine, clock, staff):
    with pytest.raises(Forbidden):
        actions.create_platform(engine, clock, staff["reviewer"], platform_no="6000000003", name="n",
                                notify_url="http://a.b/n", key_serial="1", public_key_pem=b"k")
    with pytest.raises(Forbidden):
        actions.resend_notification(engine, clock, staff["operator"], 1)
    with pytest.raises(Forbidden):
        actions.review_user(engine, clock, staff["operator"], platform_no=P1, platform_user_no="e1",
                            decision="PASSED", remark=None)
