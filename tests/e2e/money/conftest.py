"""Money e2e fixtures: the real app on uvicorn with its money worker running (simulated payment
companies and payout channel), the app and the platform client on one fixed clock that tests move,
a tiny platform site receiving CALLBACKs (/return) and NOTIFYs (/notify), users registered through
the custody user service."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest

from cunguan.clock import BEIJING, FixedClock
from cunguan.custody import users
from cunguan.custody.sample_identities import make_card, make_prc_id
from cunguan.db import ledger_audit
from cunguan.db.tx import run_in_transaction

PLATFORM_NO = "6000000001"
PASSWORD = "abc12345"
START = dt.datetime(2026, 11, 23, 12, 0, tzinfo=BEIJING)  # Monday, a working day


@pytest.fixture(autouse=True)
def _cheap_argon2(fast_hasher):
    """Cheap argon2 (tests/e2e/conftest.py): these tests exercise flows, not the hash cost."""


class Site:
    def __init__(self) -> None:
        self.callbacks: list[dict[str, str]] = []
        self.notifies: list[dict[str, str]] = []
        self.pages: dict[str, str] = {}
        self._seq = itertools.count(1)
        self._cond = threading.Condition()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
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
                with site._cond:
                    (site.callbacks if self.path == "/return" else site.notifies).append(form)
                    site._cond.notify_all()
                if self.path == "/return":
                    self._send('<h1 id="received">平台已收到结果</h1>')
                else:
                    self._send("SUCCESS", "text/plain")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, name="money-site", daemon=True).start()

    def start_page(self, html: str) -> str:
        path = f"/start/{next(self._seq)}"
        self.pages[path] = html
        return self.url + path

    def wait_notify(self, service: str, match, timeout_s: float = 15.0) -> dict:
        """The respData of the first NOTIFY of `service` for which `match(respData)` holds."""
        def found():
            for n in self.notifies:
                if n.get("serviceName") == service:
                    data = json.loads(n["respData"])
                    if match(data):
                        return data
            return None

        with self._cond:
            ok = self._cond.wait_for(lambda: found() is not None, timeout_s)
            assert ok, f"no matching {service} NOTIFY within {timeout_s} s"
            return found()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


@pytest.fixture
def clock(live_server) -> FixedClock:
    c = FixedClock(START)
    live_server.app.state.clock = c
    return c


@pytest.fixture
def client(make_lanmao_platform, site, clock):
    c = make_lanmao_platform(PLATFORM_NO, notify_url=f"{site.url}/notify")
    c.now = clock.now
    return c


class Seeder:
    def __init__(self, engine, bank, clock) -> None:
        self.engine, self.bank, self.clock = engine, bank, clock
        self.seq = itertools.count(1)

    def user(self, user_no: str, *, auth_list: str | None = None) -> str:
        n = next(self.seq)
        name, id_no, mobile = "孙七", make_prc_id(dt.date(1986, 6, 7), seq=400 + n), f"137{n:08d}"
        card = make_card(serial=8000 + n)
        self.bank.add_card(card, real_name=name, id_card_no=id_no, mobile=mobile)
        req = users.PersonalRegisterRequest(
            request_no=f"SEED-{user_no}", platform_user_no=user_no, user_role="INVESTOR", real_name=name,
            id_card_no=id_no, bankcard_no=card, mobile=mobile, password=PASSWORD, auth_list=auth_list,
            fail_time="20291231" if auth_list else None)
        run_in_transaction(self.engine, lambda c: users.personal_register(c, self.clock, PLATFORM_NO, req,
                                                                          verifier=self.bank))
        return user_no


@pytest.fixture
def seed(engine, bank, clock) -> Seeder:
    return Seeder(engine, bank, clock)


def wait_for(condition, timeout_s: float = 15.0, what: str = "condition"):
    """Poll an asynchronous outcome (the server's money worker runs in its own thread)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached within {timeout_s} s"
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def _audit_clean(engine):
    yield
    assert ledger_audit.audit(engine) == []
