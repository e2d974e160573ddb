"""Login, sessions, CSRF on every POST, and the create-operator command."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from typer.testing import CliRunner

from cunguan.cli import app as cli_app
from cunguan.console import sessions
from cunguan.db.tables.console import console_actions, console_operators, console_sessions
from cunguan.db.tables.custody_platforms import custody_platforms

from .conftest import CSRF_RE, PASSWORD


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_pages_need_login(console):
    for path in ("/console/", "/console/platforms", "/console/reviews", "/console/users", "/console/notifications"):
        resp = console.get(path)
        assert resp.status_code == 303 and resp.headers["location"] == "/console/login", path


def test_login_sets_httponly_strict_cookie_and_logout_ends_session(console, staff, engine):
    resp = console.login("operator")
    assert resp.status_code == 303 and resp.headers["location"] == "/console/"
    cookie = next(v for k, v in resp.headers.multi_items() if k == "set-cookie" and v.startswith("cg_console_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    home = console.get("/console/")
    assert home.status_code == 200 and "operator" in home.text
    assert _count(engine, console_sessions) == 1
    token = console.csrf()
    assert console.post("/console/logout", data={"csrf_token": token}).status_code == 303
    assert _count(engine, console_sessions) == 0
    assert console.get("/console/").status_code == 303


def test_session_token_is_stored_hashed(console, staff, engine):
    console.login("operator")
    token = console.client.cookies.get("cg_console_session")
    with engine.connect() as conn:
        stored = conn.execute(select(console_sessions.c.token_hash)).scalar_one()
    assert stored == sessions.token_hash(token) and token not in stored


def test_wrong_password_is_refused_with_one_message(console, staff):
    wrong = console.login("operator", "not-the-password")
    unknown = console.login("nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.text and "用户名或密码错误" in unknown.text
    assert console.get("/console/").status_code == 303


def test_five_wrong_passwords_lock_the_operator(console, staff, engine, clock):
    for _ in range(sessions.MAX_FAILED_LOGINS):
        assert console.login("reviewer", "wrong-password").status_code == 401
    assert console.login("reviewer").status_code == 401  # locked, even with the right password
    clock.advance(dt.timedelta(seconds=sessions.LOCK_S + 1))
    assert console.login("reviewer").status_code == 303
    with engine.connect() as conn:
        assert conn.execute(select(console_operators.c.failed_logins)
                            .where(console_operators.c.username == "reviewer")).scalar_one() == 0


def test_session_expires(console, staff, clock):
    console.login("operator")
    assert console.get("/console/").status_code == 200
    clock.advance(dt.timedelta(seconds=sessions.SESSION_TTL_S + 1))
    assert console.get("/console/").status_code == 303


def test_login_form_needs_its_csrf_token(console, staff):
    console.get("/console/login")
    resp = console.post("/console/login", data={"username": "admin", "password": PASSWORD, "csrf_token": "forged"})
    assert resp.status_code == 403 and "cg_console_session" not in resp.headers.get("set-cookie", "")


def test_post_without_or_with_wrong_csrf_token_changes_nothing(as_role, engine, public_key_pem):
    admin = as_role("admin")
    form = {"platform_no": "6000000009", "name": "平台九", "notify_url": "http://127.0.0.1:9/n", "key_serial": "1"}
    files = {"public_key": ("key.pem", public_key_pem, "application/x-pem-file")}
    missing = admin.post("/console/platforms", data=form, files=files)
    wrong = admin.post("/console/platforms", data={**form, "csrf_token": "x" * 43}, files=files)
    other = as_role("reviewer")  # another operator's valid token is not this session's
    stolen = admin.post("/console/platforms", data={**form, "csrf_token": other.csrf()}, files=files)
    for resp in (missing, wrong, stolen):
        assert resp.status_code == 403 and "CSRF" in resp.text
    assert _count(engine, custody_platforms) == 0 and _count(engine, console_actions) == 0
    logout = admin.post("/console/logout", data={})
    assert logout.status_code == 403 and admin.get("/console/").status_code == 200


def test_every_console_form_carries_the_session_token(as_role, platform):
    admin = as_role("admin")
    token = admin.csrf()
    for path in ("/console/", "/console/platforms", f"/console/platforms/{platform}", "/console/operators"):
        page = admin.get(path).text
        forms = page.count('method="post"')
        assert forms >= 1 and CSRF_RE.findall(page) == [token] * forms, path


def test_cli_create_operator_reads_password_from_stdin(db_url, engine):
    runner = CliRunner()
    result = runner.invoke(cli_app, ["console", "create-operator", "--username", "ops.admin", "--role", "admin",
                                     "--password-stdin", "--db", db_url], input="a-long-password\n")
    assert result.exit_code == 0, result.output
    assert "a-long-password" not in result.output
    with engine.connect() as conn:
        row = conn.execute(select(console_operators)).mappings().one()
    assert (row["username"], row["role"], row["status"]) == ("ops.admin", "admin", "ACTIVE")
    assert row["password_hash"].startswith("$argon2id$")
    again = runner.invoke(cli_app, ["console", "create-operator", "--username", "ops.admin", "--role", "admin",
                                    "--password-stdin", "--db", db_url], input="a-long-password\n")
    assert again.exit_code == 1 and "already exists" in again.output
    bad = runner.invoke(cli_app, ["console", "create-operator", "--username", "x2", "--role", "root",
                                  "--password-stdin", "--db", db_url], input="a-long-password\n")
    assert bad.exit_code != 0 and _count(engine, console_operators) == 1


def test_expired_sessions_are_cleared_at_the_next_login(app, staff, engine, clock):
    from .conftest import Console

    first = Console(app)
    first.login("admin")
    clock.advance(dt.timedelta(seconds=sessions.SESSION_TTL_S + 1))
    second = Console(app)
    second.login("admin")
    assert _count(engine, console_sessions) == 1 and second.get("/console/").status_code == 200


def test_cli_create_operator_prompts_twice_for_the_password(db_url, engine):
    result = CliRunner().invoke(cli_app, ["console", "create-operator", "--username", "zhao", "--role", "operator",
                                          "--db", db_url], input="prompted-password\nprompted-password\n")
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        assert conn.execute(select(console_operators.c.role)).scalar_one() == "operator"
    short = CliRunner().invoke(cli_app, ["console", "create-operator", "--username", "qian", "--role", "operator",
                                         "--db", db_url], input="short\nshort\n")
    assert short.exit_code == 1 and "10-128" in short.output
