"""Migration e2e fixtures: the platform's tiny web site (start page, CALLBACK on /return, NOTIFY on
/notify), the platform's Lanmao client against the live server, the sample users imported into the
server's database, and a browser context of the session's shared Chromium."""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from playwright.sync_api import Page

from cunguan.clock import Clock
from cunguan.migration import importer

PLATFORM_NO = "6000000001"
SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "migration"
SAMPLE_TRANSFER_FEN = 5_258_395


@pytest.fixture(autouse=True)
def _cheap_argon2(fast_hasher):
    """Cheap argon2 parameters (tests/e2e/conftest.py)."""


class PlatformSite:
    """The platform's side of the browser flow."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.callbacks: list[dict[str, str]] = []
        self.notifies: list[dict[str, str]] = []
        self._received = threading.Condition()
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
                with site._received:
                    (site.callbacks if self.path == "/return" else site.notifies).append(form)
                    site._received.notify_all()
                self._send('<h1 id="received">平台已收到结果</h1>' if self.path == "/return" else "SUCCESS",
                           "text/html; charset=utf-8" if self.path == "/return" else "text/plain")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="migration-site", daemon=True)
        self.thread.start()

    def start_page(self, html: str) -> str:
        path = f"/start/{len(self.pages) + 1}"
        self.pages[path] = html
        return self.url + path

    def wait_notify(self, request_no: str, timeout_s: float = 10.0) -> dict[str, str]:
        with self._received:
            ok = self._received.wait_for(lambda: any(request_no in n.get("respData", "") for n in self.notifies),
                                         timeout_s)
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
def people() -> dict[str, dict[str, str]]:
    with open(SAMPLES / "users.csv", encoding="utf-8", newline="") as fh:
        out: dict[str, dict[str, str]] = {}
        for row in csv.DictReader(fh):
            out.setdefault(row["platformUserNo"], row)
        return out


@pytest.fixture
def imported(engine, client, tmp_path) -> importer.ImportResult:
    """samples/migration imported into the live server's database (the platform exists: `client`)."""
    result = importer.import_directory(engine, Clock(), SAMPLES, PLATFORM_NO, transfer_fen=SAMPLE_TRANSFER_FEN,
                                       report_path=tmp_path / "report.csv")
    assert not result.refused
    return result


@pytest.fixture
def browse(chromium) -> Callable[[Callable[[Page], Any]], Any]:
    def run(scenario: Callable[[Page], Any]) -> Any:
        context = chromium.new_context(locale="zh-CN")
        try:
            page = context.new_page()
            page.set_default_timeout(10_000)
            return scenario(page)
        finally:
            context.close()

    return run
