"""The web-banking pages in headless Chromium against a real server."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from cunguan.sweep import demo

from .conftest import SweepServer, login


def _add_account(page: Page, server: SweepServer) -> None:
    page.goto(f"{server.url}/sweep/accounts")
    page.fill("input[name=bank_no]", demo.OTHER_BANK_NO)
    page.fill("input[name=bank_name]", "工商银行")
    page.fill("input[name=account_no]", server.cust.other_account_no)
    page.click("#add-account button[type=submit]")
    expect(page.locator(".notice")).to_contain_text("已签约")
    expect(page.locator("#others tbody tr")).to_have_count(1)
    expect(page.locator("#others")).to_contain_text("****0001")
    expect(page.locator("#others")).not_to_contain_text(server.cust.other_account_no)


def _create_rule(page: Page, server: SweepServer, *, day: str, mode: str, amount: str = "") -> None:
    page.goto(f"{server.url}/sweep/rules/new")
    expect(page.locator("#fee")).to_contain_text("每笔 0.00 元")
    warning = page.locator("#short-month-warning")
    page.select_option("#cycle", "30")
    expect(warning).to_be_visible()
    page.select_option("#cycle", day)
    if day in ("29", "30", "31"):
        expect(warning).to_be_visible()
    else:
        expect(warning).to_be_hidden()
    page.check(f"input[name=mode][value={mode}]")
    if mode == "FIXED":
        page.fill("input[name=fixed_amount]", amount)
    if mode == "RETAIN":
        page.fill("input[name=retain_amount]", amount)
    page.click("#rule-form button[type=submit]")
    expect(page.locator(".notice")).to_contain_text("次日起生效")


def test_sweep_pages_setup_manual_run_detail_and_download(page: Page, sweep_server: SweepServer):
    server = sweep_server
    login(page, server)
    _add_account(page, server)
    _create_rule(page, server, day="6", mode="FIXED", amount="130000")
    row = page.locator("#rules tbody tr").first
    expect(row.locator(".status")).to_have_text("PENDING")
    expect(row.locator(".next-run")).to_have_text("2026-11-06")
    expect(row).to_contain_text("130000.00 元")
    # the next morning (sessions are short: log in again)
    server.set_day(2026, 11, 6)
    login(page, server)
    expect(page.locator("#rules tbody tr").first.locator(".status")).to_have_text("ACTIVE")
    page.check("#rules input[name=rule_id]")
    page.click("#run-now")
    expect(page.locator("#total")).to_contain_text("130000.00")
    expect(page.locator("#results .status")).to_have_text("SUCCESS")
    assert server.sim.balance(demo.OTHER_BANK_NO, server.cust.other_account_no) == 7_000_000
    # the cooldown
    page.goto(f"{server.url}/sweep/")
    page.check("#rules input[name=rule_id]")
    page.click("#run-now")
    expect(page.locator(".error")).to_contain_text("120 seconds")
    expect(page.locator("#accounts .balance").first).to_have_text("130000.00")
    # detail and downloads
    rule_id = page.locator("#rules tbody tr").first.get_attribute("data-rule-id")
    page.goto(f"{server.url}/sweep/rules/{rule_id}/runs?date_from=2026-11-01&date_to=2026-11-30")
    expect(page.locator("#runs tbody tr")).to_have_count(3)
    expect(page.locator("#runs")).to_contain_text("30000.00")
    with page.expect_download() as got:
        page.click("#download-csv")
    text = open(got.value.path(), encoding="utf-8-sig").read()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "run_date" and [r[8] for r in rows[1:]] == ["50000.00", "50000.00", "30000.00"]
    with page.expect_download() as got:
        page.click("#download-xlsx")
    assert got.value.suggested_filename.endswith(".xlsx")
    with open(got.value.path(), "rb") as fh:
        sheet = load_workbook(io.BytesIO(fh.read())).active
    assert [c.value for c in sheet["I"]][1:] == ["50000.00", "50000.00", "30000.00"]


def test_sweep_pages_modify_delete_renew(page: Page, sweep_server: SweepServer):
    server = sweep_server
    login(page, server)
    _add_account(page, server)
    _create_rule(page, server, day="31", mode="FULL")
    rule_id = page.locator("#rules tbody tr").first.get_attribute("data-rule-id")
    expect(page.locator("#rules .next-run").first).to_have_text("2026-11-30")
    # a second rule for the same account is refused with a clear error
    page.goto(f"{server.url}/sweep/rules/new")
    page.click("#rule-form button[type=submit]")
    expect(page.locator(".error")).to_contain_text("already has a collection rule")
    # modify: mode and cycle only
    page.goto(f"{server.url}/sweep/rules/{rule_id}/edit")
    expect(page.locator("#rule-form select[name=other_account_id]")).to_have_count(0)
    page.select_option("#cycle", "MONTH_END")
    page.check("input[name=mode][value=RETAIN]")
    page.fill("input[name=retain_amount]", "5000")
    page.click("#rule-form button[type=submit]")
    expect(page.locator(".notice")).to_contain_text("已修改")
    expect(page.locator("#rules tbody tr").first).to_contain_text("超过 5000.00 元的部分")
    expect(page.locator("#rules tbody tr").first).to_contain_text("每月月末")
    # bad amount is refused on the page
    page.goto(f"{server.url}/sweep/rules/{rule_id}/edit")
    page.check("input[name=mode][value=FIXED]")
    page.fill("input[name=fixed_amount]", "12.34")
    page.click("#rule-form button[type=submit]")
    expect(page.locator(".error")).to_contain_text("whole yuan")
    # renew the agreement
    page.goto(f"{server.url}/sweep/accounts")
    before = page.locator("#others .end").first.inner_text()
    page.click("#others button:has-text('续约')")
    expect(page.locator(".notice")).to_contain_text("已续约")
    assert page.locator("#others .end").first.inner_text() > before
    # delete the rule; the agreements stay
    page.goto(f"{server.url}/sweep/")
    page.once("dialog", lambda d: d.accept())
    page.click(f"#rules tr[data-rule-id='{rule_id}'] button:has-text('删除')")
    expect(page.locator(".notice")).to_contain_text("签约协议保留")
    page.goto(f"{server.url}/sweep/accounts")
    expect(page.locator("#others tbody tr")).to_have_count(1)


def test_sweep_pages_require_login(page: Page, sweep_server: SweepServer):
    page.goto(f"{sweep_server.url}/sweep/")
    expect(page).to_have_url(f"{sweep_server.url}/sweep/login")
    page.fill("input[name=login_name]", "zhang0001")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("wrong")
