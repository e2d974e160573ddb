"""Collection e2e fixtures: the real app on a real uvicorn server on 127.0.0.1 with a movable clock, and
headless Chromium driven by Playwright (sync API)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page

from cunguan.api.app import create_app
from cunguan.clock import BEIJING, FixedClock
from cunguan.interbank.simulator import InterbankSimulator
from cunguan.sweep import demo
from cunguan.sweep.context import SweepConfig, SweepContext


@dataclass
class SweepServer:
    url: str
    ctx: SweepContext
    clock: FixedClock
    sim: InterbankSimulator
    cust: demo.DemoCustomer

    def set_day(self, year: int, month: int, day: int) -> None:
        self.clock.set(dt.datetime(year, month, day, 9, 0, tzinfo=BEIJING))


@pytest.fixture
def sweep_server(engine, serve_app) -> Iterator[SweepServer]:
    clock = FixedClock(dt.datetime(2026, 11, 5, 10, 0, tzinfo=BEIJING))
    sim = InterbankSimulator(engine, clock)
    ctx = SweepContext(engine, clock, sim, SweepConfig(query_interval_s=0.0))
    cust = demo.seed(engine, sim)
    app = create_app(engine)
    app.state.sweep_ctx = ctx
    with serve_app(app) as url:
        app.state.base_url = url
        yield SweepServer(url, ctx, clock, sim, cust)


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(accept_downloads=True, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


def login(page: Page, server: SweepServer) -> None:
    page.goto(f"{server.url}/sweep/login")
    page.fill("input[name=login_name]", "zhang0001")
    page.fill("input[name=password]", "demo-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/sweep/")
