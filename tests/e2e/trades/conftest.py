"""Trade-core e2e fixtures: the live server and a real LanmaoClient (tests/e2e/conftest.py), a tiny
platform site for page CALLBACK / NOTIFY, users registered through the business layer (with a trade
password and authorizations), and test-only funding from the platform's custody cash account."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest

from cunguan.clock import BEIJING, Clock
from cunguan.custody import platforms, user_store, users
from cunguan.custody.sample_identities import make_card, make_prc_id
from cunguan.db import ledger_audit, ledger_store
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer
from cunguan.money import parse_yuan

PLATFORM_NO = "6000000001"
PASSWORD = "abc12345"


@pytest.fixture(autouse=True)
def _cheap_argon2(fast_hasher):
    """Cheap argon2 parameters (tests/e2e/conftest.py)."""


class Site:
    """The platform's web side: serves the auto-posting gateway form, receives CALLBACK and NOTIFY."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.callbacks: list[dict[str, str]] = []
        self.notifies: list[dict[str, str]] = []
        self._seq = itertools.count(1)
        self._cv = threading.Condition()
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
                with site._cv:
                    (site.callbacks if self.path == "/return" else site.notifies).append(form)
                    site._cv.notify_all()
                self._send('<h1 id="received">平台已收到结果</h1>' if self.path == "/return" else "SUCCESS",
                           "text/html; charset=utf-8" if self.path == "/return" else "text/plain")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, name="trades-site", daemon=True).start()

    def start_page(self, html: str) -> str:
        path = f"/start/{next(self._seq)}"
        self.pages[path] = html
        return self.url + path

    def wait_notify(self, request_no: str, timeout_s: float = 10.0) -> dict[str, str]:
        with self._cv:
            assert self._cv.wait_for(lambda: any(request_no in n.get("respData", "") for n in self.notifies),
                                     timeout_s), f"no NOTIFY for {request_no}"
            return next(n for n in self.notifies if request_no in n.get("respData", ""))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


@pytest.fixture
def client(make_lanmao_platform, site):
    return make_lanmao_platform(PLATFORM_NO, notify_url=f"{site.url}/notify")


class World:
    def __init__(self, engine, bank) -> None:
        self.engine, self.bank = engine, bank
        self.seq = itertools.count(1)

    def register(self, user_no: str, *, role: str = "INVESTOR", auth_list: str | None = None,
                 fund: str | int | None = None) -> str:
        n = next(self.seq)
        name, id_no, mobile = "赵六", make_prc_id(dt.date(1986, 7, 8), seq=300 + n), f"137{n:08d}"
        card = make_card(serial=7000 + n)
        self.bank.add_card(card, real_name=name, id_card_no=id_no, mobile=mobile)
        req = users.PersonalRegisterRequest(
            request_no=f"SEED-{user_no}", platform_user_no=user_no, user_role=role, real_name=name, id_card_no=id_no,
            bankcard_no=card, mobile=mobile, password=PASSWORD, auth_list=auth_list,
            fail_time="20291231" if auth_list else None)
        run_in_transaction(self.engine, lambda c: users.personal_register(c, Clock(), PLATFORM_NO, req))
        if fund is not None:
            self.fund(user_no, fund)
        return user_no

    def account(self, user_no: str) -> int:
        code = platforms.system_account_code(PLATFORM_NO, user_no) if user_no.startswith("SYS_GENERATE_") \
            else user_store.ledger_code(PLATFORM_NO, user_no)
        with self.engine.connect() as conn:
            return ledger_store.account_ids(conn, [code])[code]

    def fund(self, user_no: str, yuan: str | int) -> None:
        n = next(self.seq)
        with self.engine.connect() as conn:
            code = platforms.custody_account_code(PLATFORM_NO)
            cash = ledger_store.account_ids(conn, [code])[code]
        op = Transfer(cash, self.account(user_no), parse_yuan(str(yuan)), "TEST_FUND", f"e2e-fund-{n}")
        run_in_transaction(self.engine, lambda conn: ledger_store.apply(conn, [op]))

    def balance(self, user_no: str) -> tuple[int, int]:
        with self.engine.connect() as conn:
            return ledger_store.get_balance(conn, self.account(user_no))

    def audit_clean(self) -> None:
        assert ledger_audit.audit(self.engine) == []

    @staticmethod
    def expired_in(minutes: int) -> str:
        return (dt.datetime.now(BEIJING) + dt.timedelta(minutes=minutes)).strftime("%Y%m%d%H%M%S")


@pytest.fixture
def world(engine, bank) -> World:
    return World(engine, bank)
