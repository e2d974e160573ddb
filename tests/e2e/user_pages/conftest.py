"""Bank-hosted page e2e fixtures: the real app on uvicorn (`live_server`), a strict simulated card bank,
a tiny platform web site on 127.0.0.1 (serves the auto-posting gateway form, receives the browser's
CALLBACK on /return and the server NOTIFY on /notify), and headless Chromium driven by Playwright."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from cunguan.clock import BEIJING, Clock
from cunguan.custody import users
from cunguan.custody.card_verifier import SimulatedCardBank
from cunguan.custody.sample_identities import make_card, make_prc_id
from cunguan.db.tables.notify import notify_outbox
from cunguan.db.tx import run_in_transaction
from cunguan.notify import sms_gateway

PLATFORM_NO = "6000000001"
PASSWORD = "abc12345"


@pytest.fixture(autouse=True)
def _cheap_argon2(fast_hasher):
    """Cheap argon2 parameters (tests/e2e/conftest.py): these tests exercise flows, not the hash cost."""


class PlatformSite:
    """The platform's side of the browser flow: a start page and the two receivers."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.callbacks: list[dict[str, str]] = []
        self.notifies: list[dict[str, str]] = []
        self._seq = itertools.count(1)
        self._received = threading.Condition()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, body: str, ctype: str = "text/html; charset=utf-8") -> None:
                data = body.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._send(site.pages.get(self.path, "<p>no such page</p>"))

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode("utf-8"), keep_blank_values=True))
                with site._received:
                    (site.callbacks if self.path == "/return" else site.notifies).append(form)
                    site._received.notify_all()
                if self.path == "/return":
                    self._send('<h1 id="received">平台已收到结果</h1>')
                else:
                    self._send("SUCCESS", "text/plain")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="platform-site", daemon=True)
        self.thread.start()

    def start_page(self, html: str) -> str:
        path = f"/start/{next(self._seq)}"
        self.pages[path] = html
        return self.url + path

    def wait_notify(self, request_no: str, timeout_s: float = 10.0) -> dict[str, str]:
        with self._received:
            ok = self._received.wait_for(
                lambda: any(request_no in n.get("respData", "") for n in self.notifies), timeout_s)
            assert ok, f"no NOTIFY for {request_no} within {timeout_s} s"
            return next(n for n in self.notifies if request_no in n.get("respData", ""))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[PlatformSite]:
    s = PlatformSite()
    yield s
    s.close()


@pytest.fixture
def client(make_lanmao_platform, site):
    return make_lanmao_platform(PLATFORM_NO, notify_url=f"{site.url}/notify")


@pytest.fixture
def browse(chromium) -> Callable[[Callable[[Page], Any]], Any]:
    """`browse(scenario)` runs `scenario(page)` in a fresh context of the session's shared Chromium."""

    def run(scenario: Callable[[Page], Any]) -> Any:
        context = chromium.new_context(locale="zh-CN")
        try:
            page = context.new_page()
            page.set_default_timeout(10_000)
            return scenario(page)
        finally:
            context.close()

    return run


@dataclass
class Person:
    user_no: str
    name: str
    id_card_no: str
    card: str
    mobile: str


@dataclass
class Helpers:
    engine: object
    bank: SimulatedCardBank
    site: PlatformSite
    seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    def person(self, user_no: str) -> Person:
        n = next(self.seq)
        p = Person(user_no, "李四", make_prc_id(dt.date(1988, 5, 6), seq=100 + n), make_card(serial=5000 + n),
                   f"139{n:08d}")
        self.bank.add_card(p.card, real_name=p.name, id_card_no=p.id_card_no, mobile=p.mobile)
        return p

    def registered(self, user_no: str) -> Person:
        """A user registered through the business layer (the pages under test come after)."""
        p = self.person(user_no)
        req = users.PersonalRegisterRequest(
            request_no=f"SEED-{user_no}", platform_user_no=user_no, user_role="INVESTOR", real_name=p.name,
            id_card_no=p.id_card_no, bankcard_no=p.card, mobile=p.mobile, password=PASSWORD)
        run_in_transaction(self.engine, lambda c: users.personal_register(c, Clock(), PLATFORM_NO, req,
                                                                          verifier=self.bank))
        return p

    def sms_code(self, mobile: str) -> str:
        with self.engine.connect() as conn:
            code = sms_gateway.latest_code(conn, mobile)
        assert code is not None, f"no SMS to {mobile}"
        return code

    def notify_rows(self, request_no: str) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(notify_outbox).where(
                notify_outbox.c.biz_ref == request_no)).mappings()]

    @staticmethod
    def expired_in(minutes: int) -> str:
        return (dt.datetime.now(BEIJING) + dt.timedelta(minutes=minutes)).strftime("%Y%m%d%H%M%S")


@pytest.fixture
def h(engine, bank, site) -> Helpers:
    return Helpers(engine, bank, site)
