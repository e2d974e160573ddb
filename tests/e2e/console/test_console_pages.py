"""The operator console in a real browser against a real server."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from cunguan.custody import platforms
from cunguan.db.tables.custody_users import custody_users
from cunguan.notify import outbox

from .conftest import P1, ConsoleServer, login


def test_admin_creates_a_platform_by_uploading_a_pem_file(console_page: Page, console_server: ConsoleServer,
                                                          console_key_pem: bytes, tmp_path):
    key_file = tmp_path / "platform_public.pem"
    key_file.write_bytes(console_key_pem)
    login(console_page, console_server, "admin")
    console_page.click("nav >> text=平台")
    console_page.fill("#platform_no", "6000000042")
    console_page.fill("#name", "四十二号平台")
    console_page.fill("#notify_url", "http://127.0.0.1:9/notify/42")
    console_page.set_input_files("#public_key", str(key_file))
    console_page.click("button:has-text('创建平台')")
    console_page.wait_for_url(f"{console_server.url}/console/platforms/6000000042?done=platform")
    expect(console_page.get_by_role("status")).to_contain_text("平台已创建")
    table = console_page.get_by_test_id("system-accounts")
    for user_no in platforms.SYSTEM_ACCOUNTS:
        expect(table).to_contain_text(user_no)
    with console_server.engine.connect() as conn:
        assert platforms.get_platform(conn, "6000000042").name == "四十二号平台"
        assert platforms.platform_key_pem(conn, "6000000042", "1") == platforms.normalize_public_key(console_key_pem)
        assert all(platforms.system_account(conn, "6000000042", no) is not None for no in platforms.SYSTEM_ACCOUNTS)


def test_reviewer_passes_an_enterprise_registration(console_page: Page, console_server: ConsoleServer,
                                                    console_key_pem: bytes):
    console_server.platform(console_key_pem)
    ent = console_server.enterprise("ent-1")
    login(console_page, console_server, "reviewer")
    console_page.click("nav >> text=审核")
    card = console_page.get_by_test_id(f"review-{P1}-ent-1")
    expect(card).to_contain_text("懒猫科技有限公司")
    assert ent.legal_id_card_no not in console_page.content()
    card.locator("input[name=remark]").fill("资料齐全")
    card.locator("button[value=PASSED]").click()
    console_page.wait_for_url(f"{console_server.url}/console/reviews?done=PASSED")
    expect(console_page.get_by_role("status")).to_contain_text("审核通过")
    expect(console_page.locator("main")).to_contain_text("没有待审核的用户")
    with console_server.engine.connect() as conn:
        status = conn.execute(select(custody_users.c.audit_status, custody_users.c.active_status)
                              .where(custody_users.c.platform_user_no == "ent-1")).one()
    assert tuple(status) == ("PASSED", "ACTIVATED")


def test_operator_looks_up_a_user_and_sees_only_masked_numbers(console_page: Page, console_server: ConsoleServer,
                                                               console_key_pem: bytes):
    console_server.platform(console_key_pem)
    person = console_server.person("u-9", seq=9)
    masked_id = person.id_card_no[:3] + "*" * 11 + person.id_card_no[-4:]
    masked_card = person.bankcard_no[:6] + "*" * (len(person.bankcard_no) - 10) + person.bankcard_no[-4:]
    login(console_page, console_server, "operator")
    console_page.click("nav >> text=用户查询")
    console_page.select_option("#platform_no", P1)
    console_page.fill("#platform_user_no", "u-9")
    console_page.click("button:has-text('按用户编号查询')")
    results = console_page.get_by_test_id("user-results")
    expect(results).to_contain_text(masked_id)
    expect(results).to_contain_text(masked_card)
    html = console_page.content()
    assert person.id_card_no not in html and person.bankcard_no not in html and person.mobile not in html
    # the same user by a masked ID number, as a customer would read it out
    console_page.select_option("#s_platform_no", P1)
    console_page.fill("#q", f"{person.id_card_no[:3]}*{person.id_card_no[-4:]}")
    console_page.click("button:has-text('按号码查询')")
    expect(console_page.get_by_test_id("user-results")).to_contain_text("u-9")
    assert person.id_card_no not in console_page.content()


def test_reviewer_resends_a_failed_notification(console_page: Page, console_server: ConsoleServer,
                                                console_key_pem: bytes):
    console_server.platform(console_key_pem)
    nid = console_server.failed_notification()
    login(console_page, console_server, "reviewer")
    console_page.click("nav >> text=通知")
    console_page.select_option("#status", "FAILED")
    console_page.click("button:has-text('筛选')")
    row = console_page.get_by_test_id(f"notification-{nid}")
    expect(row).to_contain_text("FAILED")
    expect(row).to_contain_text("HTTP 503: maintenance")
    row.locator("button:has-text('重发')").click()
    console_page.wait_for_url(f"{console_server.url}/console/notifications/{nid}?done=resent")
    expect(console_page.get_by_test_id("status")).to_have_text("PENDING")
    expect(console_page.get_by_test_id("attempts")).to_contain_text("maintenance")
    with console_server.engine.connect() as conn:
        assert outbox.get(conn, nid).status == "PENDING"


def test_wrong_password_and_role_limits_in_the_browser(console_page: Page, console_server: ConsoleServer):
    console_page.goto(f"{console_server.url}/console/login")
    console_page.fill("#username", "admin")
    console_page.fill("#password", "wrong-password")
    console_page.click("button[type=submit]")
    expect(console_page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    login(console_page, console_server, "operator")
    expect(console_page.get_by_test_id("who")).to_contain_text("operator")
    console_page.goto(f"{console_server.url}/console/operators")
    expect(console_page.get_by_test_id("error-message")).to_contain_text("无权")
    console_page.goto(f"{console_server.url}/console/platforms")
    assert console_page.locator("#public_key").count() == 0
