"""What the bank's pages refuse: an expired page, a spent token, a form without the page's CSRF
secret, and gateway requests that cannot become a page at all."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy import select

from cunguan.clock import FixedClock
from cunguan.db.tables.page_sessions import gateway_page_sessions


def _gateway(client, site, service: str, data: dict) -> httpx.Response:
    """POST the gateway form like a browser would, without following the redirect."""
    body = {"redirectUrl": f"{site.url}/return", "timestamp": client.timestamp(), **data}
    return httpx.post(f"{client.base_url}/gateway", data=client.build_form(service, body), follow_redirects=False)


def _check_data(user_no: str, request_no: str, **extra) -> dict:
    return {"platformUserNo": user_no, "requestNo": request_no, "bizTypeDescription": "确认", **extra}


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found is not None
    return found.group(1)


def test_expired_page_is_refused(browse, client, site, h, live_server):
    def scenario(page):
        p = h.registered("U-EXP-1")
        data = {"redirectUrl": f"{site.url}/return", "timestamp": client.timestamp(),
                **_check_data(p.user_no, "REQ-EXP-1", expired=h.expired_in(5))}
        page.goto(site.start_page(client.gateway_form("CHECK_PASSWORD", data)))
        page.wait_for_selector("#bank-form")
        page.fill("#f-password", "abc12345")
        live_server.app.state.clock = FixedClock(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6))
        page.click("#submit")
        assert page.locator("#errorCode").inner_text().endswith("100008")
        assert "expired" in page.locator("#errorMessage").inner_text()
        page.reload()
        assert "expired" in page.locator("#errorMessage").inner_text()
        assert site.callbacks == [] and h.notify_rows("REQ-EXP-1") == []

    browse(scenario)


def test_deadline_in_the_past_or_malformed_refuses_the_gateway(client, site, h, live_server):
    p = h.registered("U-EXP-2")
    past = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8) - dt.timedelta(minutes=1)).strftime("%Y%m%d%H%M%S")
    for expired in (past, "2026-13-01"):
        r = _gateway(client, site, "CHECK_PASSWORD", _check_data(p.user_no, "REQ-EXP-2", expired=expired))
        assert r.status_code == 200 and "100002" in r.text and "expired" in r.text


def test_token_is_single_use(browse, client, site, h, live_server):
    def scenario(page):
        p = h.registered("U-ONE-1")
        data = {"redirectUrl": f"{site.url}/return", "timestamp": client.timestamp(),
                **_check_data(p.user_no, "REQ-ONE-1")}
        page.goto(site.start_page(client.gateway_form("CHECK_PASSWORD", data)))
        page.wait_for_selector("#bank-form")
        bank_url = page.url
        page.fill("#f-password", "abc12345")
        page.click("#submit")
        page.wait_for_selector("#received")
        page.goto(bank_url)  # back to the spent page
        assert page.locator("#errorCode").inner_text().endswith("100007")
        page.go_back()
        r = page.request.post(bank_url, form={"action": "submit", "password": "abc12345", "csrf": "x"})
        assert r.status in (403, 404)
        assert len(site.callbacks) == 1 and len(h.notify_rows("REQ-ONE-1")) == 1
        # replaying the platform's signed gateway request does not open a second page
        again = httpx.post(f"{client.base_url}/gateway", data=client.build_form("CHECK_PASSWORD", data),
                           follow_redirects=False)
        assert again.status_code == 200 and "100013" in again.text

    browse(scenario)


def test_csrf_secret_is_required(client, site, h, engine, live_server):
    p = h.registered("U-CSRF-1")
    r = _gateway(client, site, "CHECK_PASSWORD", _check_data(p.user_no, "REQ-CSRF-1"))
    assert r.status_code == 303
    url = f"{live_server}{r.headers['location']}"
    cookie = r.cookies.get("cg_page")
    assert cookie and "httponly" in r.headers["set-cookie"].lower() and "samesite=lax" in r.headers["set-cookie"].lower()
    with httpx.Client(cookies={"cg_page": cookie}) as browser:
        shown = browser.get(url)
        assert shown.status_code == 200 and _csrf(shown.text) == cookie
        missing = browser.post(url, data={"action": "submit", "password": "abc12345"})
        assert missing.status_code == 403 and "CSRF" in missing.text
        wrong = browser.post(url, data={"action": "submit", "password": "abc12345", "csrf": cookie[:-1] + "x"})
        assert wrong.status_code == 403
    with httpx.Client() as other_browser:  # the right secret, but not the cookie of the browser sent here
        foreign = other_browser.post(url, data={"action": "submit", "password": "abc12345", "csrf": cookie})
        assert foreign.status_code == 403
    with engine.connect() as conn:
        assert conn.execute(select(gateway_page_sessions.c.status)).scalar_one() == "OPEN"
    assert h.notify_rows("REQ-CSRF-1") == []
    with httpx.Client(cookies={"cg_page": cookie}) as browser:
        done = browser.post(url, data={"action": "submit", "password": "abc12345", "csrf": cookie})
        assert done.status_code == 200 and 'id="callback-form"' in done.text
        assert f'action="{site.url}/return"' in done.text
    assert len(h.notify_rows("REQ-CSRF-1")) == 1


def test_gateway_requests_that_cannot_become_a_page(client, site, h, live_server):
    p = h.registered("U-BAD-1")
    cases = [
        ("CHECK_PASSWORD", _check_data("NOBODY", "REQ-BAD-1"), "100009"),
        ("PERSONAL_REGISTER_EXPAND", {"platformUserNo": p.user_no, "requestNo": "REQ-BAD-2",
                                      "userRole": "INVESTOR", "checkType": "LIMIT"}, "100008"),
        ("CHECK_PASSWORD", _check_data(p.user_no, "SEED-U-BAD-1"), "100013"),  # requestNo already used
        ("CHECK_PASSWORD", _check_data(p.user_no, "REQ-BAD-3", redirectUrl="javascript:alert(1)"), "100002"),
    ]
    for service, data, code in cases:
        r = _gateway(client, site, service, data)
        assert r.status_code == 200 and code in r.text, (service, data, r.text[:300])
    tampered = client.build_form("CHECK_PASSWORD", {"redirectUrl": f"{site.url}/return",
                                                    "timestamp": client.timestamp(),
                                                    **_check_data(p.user_no, "REQ-BAD-4")})
    tampered["reqData"] = tampered["reqData"].replace("REQ-BAD-4", "REQ-BAD-5")
    r = httpx.post(f"{client.base_url}/gateway", data=tampered, follow_redirects=False)
    assert r.status_code == 200 and "100003" in r.text
    with h.engine.connect() as conn:
        assert conn.execute(select(gateway_page_sessions)).first() is None
