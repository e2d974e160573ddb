"""The reconciliation pages in a real browser against a real server: a report with its chart and CSV, an
adjustment proposed by one reviewer and approved by another (four eyes)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import checkfiles_builder as builder  # tests/support
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from cunguan.api.app import create_app
from cunguan.console import operators
from cunguan.db import ledger_audit
from cunguan.db.tables.ledger import postings
from cunguan.db.tables.reconcile import reconcile_adjustments, reconcile_differences
from cunguan.db.tx import run_in_transaction
from cunguan.reconcile import daily, statements

PASSWORD = "reconcile-pass-1"
P1 = builder.P1


@dataclass
class Served:
    url: str
    env: object
    tue: object
    run_id: int


@pytest.fixture
def served(engine, serve_app, monkeypatch) -> Iterator[Served]:
    builder.cheap_hashers(monkeypatch)
    monkeypatch.setattr(operators, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    env = builder.CustodyDay(engine)
    builder.stamp_postings_with(monkeypatch, env.clock)
    run_in_transaction(engine, lambda conn: [
        operators.create_operator(conn, env.clock, username=name, password=PASSWORD, role=role)
        for name, role in (("viewer", "operator"), ("rev-a", "reviewer"), ("rev-b", "reviewer"))])
    tue, _wed, tampered, payouts = builder.build_problem_days(env)
    sims = statements.runtime_settlement_source(engine, env.clock)
    result = daily.reconcile_day(engine, env.clock, P1, tue, payouts=payouts,
                                 settlements=lambda c, d: tampered if (c, d) == ("YEEPAY", tue) else sims(c, d))
    app = create_app(engine)
    app.state.clock = env.clock
    with serve_app(app) as url:
        app.state.base_url = url
        yield Served(url, env, tue, result.run_id)


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(locale="zh-CN", accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


def _login(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/console/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/console/")


def _logout(page: Page) -> None:
    page.click("header button:has-text('退出')")
    page.wait_for_url("**/console/login")


def test_report_chart_csv_and_a_four_eyes_adjustment(page: Page, served: Served, engine):
    ymd = served.tue.strftime("%Y%m%d")
    _login(page, served.url, "rev-a")
    page.click("nav >> text=对账")
    expect(page.get_by_test_id(f"run-{P1}-{ymd}-1")).to_contain_text("有差异")
    page.get_by_test_id(f"run-{P1}-{ymd}-1").locator("a").click()
    page.wait_for_url(f"{served.url}/console/reconcile/{P1}/{ymd}?run=1")
    chart = page.get_by_test_id("reconcile-chart")
    expect(chart).to_be_visible()
    assert chart.evaluate("e => e.tagName") == "svg"
    expect(page.get_by_test_id(f"bar-{served.tue:%m-%d}")).to_have_count(1)
    table = page.get_by_test_id("reconcile-differences")
    for text in ("存管账户与虚拟账户不平", "我方无记录", "对方无记录", "金额不符", "FAIL RF04"):
        expect(table).to_contain_text(text)
    # the CSV download
    with page.expect_download() as info:
        page.get_by_test_id("reconcile-csv").click()
    lines = open(info.value.path(), encoding="utf-8").read().splitlines()
    assert lines[0].startswith("platform_no,biz_date,run_no") and len(lines) == 7
    # propose: move the 5.00 that left custody back to inv-3 from the bank's suspense account
    with engine.connect() as conn:
        diff_id = conn.execute(select(reconcile_differences.c.id).where(
            reconcile_differences.c.run_id == served.run_id,
            reconcile_differences.c.check_name == "LEDGER")).scalar_one()
    form = page.get_by_test_id(f"propose-{diff_id}")
    form.locator("input[name=debit_account]").fill("SUSPENSE")
    form.locator("input[name=credit_account]").fill("inv-3")
    form.locator("input[name=amount]").fill("5.00")
    form.locator("input[name=reason]").fill("误转出存管，由暂挂户回补")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{served.url}/console/reconcile/{P1}/{ymd}?done=proposed")
    expect(page.get_by_role("status")).to_contain_text("待另一名操作员复核")
    with engine.connect() as conn:
        adj = conn.execute(select(reconcile_adjustments)).mappings().one()
    assert adj["status"] == "PROPOSED"
    expect(page.get_by_test_id(f"approve-{adj['id']}")).to_have_count(0)  # the proposer sees no approve button
    expect(page.get_by_test_id(f"adjustment-{adj['id']}")).to_contain_text("待另一名操作员复核")
    posts_before = _postings(engine)
    _logout(page)
    # a read-only operator sees the page but no forms
    _login(page, served.url, "viewer")
    page.goto(f"{served.url}/console/reconcile/{P1}/{ymd}")
    expect(page.get_by_test_id(f"approve-{adj['id']}")).to_have_count(0)
    expect(page.locator("form[data-testid^=propose-]")).to_have_count(0)
    _logout(page)
    # the second reviewer approves: posted once, the difference resolved
    _login(page, served.url, "rev-b")
    page.goto(f"{served.url}/console/reconcile/{P1}/{ymd}")
    page.get_by_test_id(f"approve-{adj['id']}").click()
    page.wait_for_url(f"{served.url}/console/reconcile/{P1}/{ymd}?done=approved")
    expect(page.get_by_role("status")).to_contain_text("已批准并记账")
    expect(page.get_by_test_id(f"difference-{diff_id}")).to_contain_text("已调账")
    expect(page.get_by_test_id(f"adjustment-{adj['id']}")).to_contain_text("记账序号")
    with engine.connect() as conn:
        done = conn.execute(select(reconcile_adjustments)).mappings().one()
        diff = conn.execute(select(reconcile_differences).where(reconcile_differences.c.id == diff_id)).mappings().one()
    assert done["status"] == "APPROVED" and done["proposed_by"] != done["decided_by"]
    assert (diff["status"], diff["adjustment_id"]) == ("RESOLVED", done["id"])
    assert _postings(engine) == posts_before + 1
    assert ledger_audit.audit(engine) == []


def test_a_post_without_the_csrf_token_is_refused(page: Page, served: Served, engine):
    _login(page, served.url, "rev-a")
    ymd = served.tue.strftime("%Y%m%d")
    with engine.connect() as conn:
        diff_id = conn.execute(select(reconcile_differences.c.id).where(
            reconcile_differences.c.run_id == served.run_id)).scalars().first()
    answer = page.request.post(f"{served.url}/console/reconcile/{P1}/{ymd}/differences/{diff_id}/propose",
                               form={"debit_account": "CUSTODY_CASH", "credit_account": "inv-1", "amount": "1",
                                     "reason": "x"})
    assert answer.status == 403
    with engine.connect() as conn:
        assert conn.execute(select(reconcile_adjustments)).first() is None


def _postings(engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(postings.c.seq)).all())
