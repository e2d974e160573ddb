"""Notifications: status filter, attempts, re-send."""

from __future__ import annotations

from sqlalchemy import select

from cunguan.db.tables.console import console_actions
from cunguan.db.tables.notify import notify_outbox
from cunguan.db.tx import run_in_transaction
from cunguan.notify import outbox

from .conftest import failed_notification


def test_failed_notification_is_listed_with_its_attempts_and_resent(as_role, engine, clock, platform, staff):
    nid = failed_notification(engine, clock)
    rv = as_role("reviewer")
    listed = rv.get("/console/notifications", params={"status": "FAILED"}).text
    assert f'data-testid="notification-{nid}"' in listed and "HTTP 500: platform down" in listed
    assert f'data-testid="notification-{nid}"' not in rv.get("/console/notifications",
                                                              params={"status": "DELIVERED"}).text
    detail = rv.get(f"/console/notifications/{nid}").text
    assert "platform down" in detail and "HTTP 500" in detail and ">FAILED<" in detail
    resp = rv.post(f"/console/notifications/{nid}/resend", data={"csrf_token": rv.csrf()})
    assert resp.status_code == 303 and resp.headers["location"] == f"/console/notifications/{nid}?done=resent"
    with engine.connect() as conn:
        row = outbox.get(conn, nid)
        trail = conn.execute(select(console_actions)).mappings().one()
    assert row.status == "PENDING" and row.next_attempt_us == outbox.clock_us(clock)
    assert (trail["operator_id"], trail["action"], trail["target"]) == (staff["reviewer"].id, "RESEND_NOTIFICATION",
                                                                         str(nid))
    assert "通知已重新排队" in rv.get(resp.headers["location"]).text


def test_delivered_notification_cannot_be_resent(as_role, engine, clock, platform):
    nid = failed_notification(engine, clock)
    run_in_transaction(engine, lambda conn: conn.execute(
        notify_outbox.update().where(notify_outbox.c.id == nid).values(status="DELIVERED")))
    admin = as_role("admin")
    page = admin.get("/console/notifications", params={"status": "ALL"}).text
    assert f'data-testid="notification-{nid}"' in page and "重发" not in page
    resp = admin.post(f"/console/notifications/{nid}/resend", data={"csrf_token": admin.csrf()})
    assert resp.status_code == 409 and "已送达" in resp.text


def test_unknown_or_malformed_ids_and_filters_are_friendly(as_role):
    c = as_role("operator")
    assert c.get("/console/notifications/999").status_code == 404
    assert c.get("/console/notifications/abc").status_code == 404
    bad = c.get("/console/notifications", params={"status": "NOPE"})
    assert bad.status_code == 400 and "状态须为" in bad.text
    assert c.post("/console/notifications/999/resend", data={"csrf_token": c.csrf()}).status_code == 403
