"""Creating a platform from the console with an uploaded PEM key, and the platform page."""

from __future__ import annotations

from sqlalchemy import select

from cunguan.custody import platforms
from cunguan.db import ledger_store
from cunguan.db.tables.console import console_actions
from cunguan.db.tables.custody_platforms import custody_platforms

FORM = {"platform_no": "6000000007", "name": "懒猫七号", "notify_url": "http://127.0.0.1:9/notify/7", "key_serial": "1"}


def _create(c, public_key_pem, **overrides):
    files = {"public_key": ("platform_public.pem", public_key_pem, "application/x-pem-file")}
    return c.post("/console/platforms", data={**FORM, **overrides, "csrf_token": c.csrf("/console/platforms")},
                  files=files)


def test_admin_creates_platform_with_uploaded_key_and_system_accounts(as_role, engine, public_key_pem, staff):
    admin = as_role("admin")
    resp = _create(admin, public_key_pem)
    assert resp.status_code == 303 and resp.headers["location"] == "/console/platforms/6000000007?done=platform"
    with engine.connect() as conn:
        platform = platforms.get_platform(conn, "6000000007")
        assert (platform.name, platform.notify_url, platform.status) == ("懒猫七号", FORM["notify_url"], "ACTIVE")
        assert platforms.list_keys(conn, "6000000007") == [("1", "ACTIVE")]
        stored = platforms.platform_key_pem(conn, "6000000007", "1")
        assert stored == platforms.normalize_public_key(public_key_pem)
        for user_no in platforms.SYSTEM_ACCOUNTS:
            acct = platforms.system_account(conn, "6000000007", user_no)
            assert acct is not None and acct.balance_fen == 0
        assert ledger_store.find_account(conn, platforms.custody_account_code("6000000007")) is not None
        trail = conn.execute(select(console_actions)).mappings().all()
    assert [(t["operator_id"], t["action"], t["target"]) for t in trail] == [
        (staff["admin"].id, "CREATE_PLATFORM", "6000000007")]
    page = admin.get(resp.headers["location"])
    assert page.status_code == 200 and "平台已创建" in page.text
    for user_no, role in platforms.SYSTEM_ACCOUNTS.items():
        assert user_no in page.text and role in page.text
    assert "6000000007" in admin.get("/console/platforms").text


def test_bad_key_or_field_is_shown_on_the_form_and_nothing_is_created(as_role, engine, public_key_pem):
    admin = as_role("admin")
    not_a_key = _create(admin, b"-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----\n")
    no_key = admin.post("/console/platforms", data={**FORM, "csrf_token": admin.csrf("/console/platforms")})
    bad_url = _create(admin, public_key_pem, notify_url="ftp://x")
    bad_no = _create(admin, public_key_pem, platform_no="bad no!")
    too_big = _create(admin, b"x" * (16 * 1024 + 10))
    for resp in (not_a_key, no_key, bad_url, bad_no, too_big):
        assert resp.status_code == 400 and 'class="error"' in resp.text and "Traceback" not in resp.text
    assert 'value="懒猫七号"' in bad_url.text  # the form keeps what was typed
    with engine.connect() as conn:
        assert conn.execute(select(custody_platforms)).first() is None


def test_duplicate_platform_is_a_conflict(as_role, public_key_pem):
    admin = as_role("admin")
    assert _create(admin, public_key_pem).status_code == 303
    again = _create(admin, public_key_pem)
    assert again.status_code == 409 and "already exists" in again.text


def test_admin_adds_a_key(as_role, engine, public_key_pem):
    admin = as_role("admin")
    _create(admin, public_key_pem)
    path = "/console/platforms/6000000007"
    resp = admin.post(f"{path}/keys", data={"key_serial": "2", "csrf_token": admin.csrf(path)},
                      files={"public_key": ("k2.pem", public_key_pem, "application/x-pem-file")})
    assert resp.status_code == 303
    with engine.connect() as conn:
        assert platforms.list_keys(conn, "6000000007") == [("1", "ACTIVE"), ("2", "ACTIVE")]
    dup = admin.post(f"{path}/keys", data={"key_serial": "2", "csrf_token": admin.csrf(path)},
                     files={"public_key": ("k2.pem", public_key_pem, "application/x-pem-file")})
    assert dup.status_code == 409


def test_unknown_platform_page_is_a_friendly_404(as_role):
    resp = as_role("operator").get("/console/platforms/6999999999")
    assert resp.status_code == 404 and "平台不存在" in resp.text


def test_an_uploaded_private_key_is_refused_and_not_stored(as_role, engine):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    resp = _create(as_role("admin"), private)
    assert resp.status_code == 400 and "私钥" in resp.text
    with engine.connect() as conn:
        assert conn.execute(select(custody_platforms)).first() is None
