"""Errors become friendly pages: right status, no stack trace, security headers on every answer."""

from __future__ import annotations

from cunguan.console import views


def test_unknown_console_path_is_a_friendly_404(console, as_role):
    anon = console.get("/console/no/such/page")
    assert anon.status_code == 404 and "页面不存在" in anon.text and "text/html" in anon.headers["content-type"]
    assert as_role("operator").get("/console/nope").status_code == 404


def test_unexpected_error_shows_a_reference_not_a_traceback(as_role, monkeypatch, caplog):
    c = as_role("operator")

    def boom(conn):
        raise RuntimeError("secret internals 110105199001011234")

    monkeypatch.setattr(views, "dashboard", boom)
    resp = c.get("/console/")
    assert resp.status_code == 500 and "参考号" in resp.text
    assert "Traceback" not in resp.text and "secret internals" not in resp.text and "RuntimeError" not in resp.text
    ref = resp.text.split("参考号 ")[1][:12]
    assert any(ref in rec.getMessage() for rec in caplog.records)


def test_security_headers_and_static_css(console, as_role):
    for resp in (console.get("/console/login"), as_role("operator").get("/console/")):
        assert resp.headers["cache-control"] == "no-store"
        assert resp.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
    css = console.get("/console/static/console.css")
    assert css.status_code == 200 and "body" in css.text


def test_malformed_form_is_refused(as_role):
    c = as_role("admin")
    resp = c.post("/console/platforms", content=b"--x\r\nbroken", headers={"content-type": "multipart/form-data; boundary=x"})
    assert resp.status_code in (400, 403) and "Traceback" not in resp.text
