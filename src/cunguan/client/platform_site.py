"""The platform's receiving end, for integration tests and demos: a small HTTP server on 127.0.0.1 that
does what a platform's web site does around the bank's pages and notifications.

- `start_page(html)` serves the page the user's browser starts from (typically the auto-posting form
  `LanmaoClient.build_form` produces for a gateway service) and returns its URL;
- `POST /return` receives the CALLBACK the bank's finished page auto-posts (`redirectUrl`) and shows a
  page with `id="received"`;
- `POST /notify` receives a NOTIFY and answers `SUCCESS`, as the protocol requires (any other answer
  makes the bank retry).
Received forms are kept in order (`callbacks`, `notifies`); `wait` blocks until a matching NOTIFY
arrives. Checking the bank's signature is the caller's business (`LanmaoClient.verify_notify` or
`signing.verify`): the site keeps what it got, verbatim.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cunguan.client import form as form_codec

RECEIVED_HTML = '<h1 id="received">平台已收到结果</h1>'
MAX_BODY_BYTES = 4 * 1024 * 1024


class PlatformSite:
    def __init__(self, name: str = "platform-site") -> None:
        self.pages: dict[str, str] = {}
        self.callbacks: list[dict[str, str]] = []
        self.notifies: list[dict[str, str]] = []
        self._seq = itertools.count(1)
        self._cond = threading.Condition()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
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
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY_BYTES)
                form = dict(form_codec.decode(self.rfile.read(length)))
                with site._cond:
                    (site.callbacks if self.path == "/return" else site.notifies).append(form)
                    site._cond.notify_all()
                if self.path == "/return":
                    self._send(RECEIVED_HTML)
                else:
                    self._send("SUCCESS", "text/plain")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, name=name, daemon=True).start()

    @property
    def notify_url(self) -> str:
        return f"{self.url}/notify"

    @property
    def return_url(self) -> str:
        return f"{self.url}/return"

    def start_page(self, html: str) -> str:
        path = f"/start/{next(self._seq)}"
        self.pages[path] = html
        return self.url + path

    def received(self, service: str, match: Callable[[dict], bool]) -> list[dict[str, str]]:
        """The NOTIFY forms of `service` whose respData satisfies `match`, in arrival order."""
        with self._cond:
            forms = list(self.notifies)
        return [n for n in forms if n.get("serviceName") == service and match(json.loads(n["respData"]))]

    def wait(self, service: str, match: Callable[[dict], bool], timeout_s: float = 15.0) -> dict[str, str]:
        """The first NOTIFY form of `service` whose respData satisfies `match`; AssertionError on timeout."""
        with self._cond:
            ok = self._cond.wait_for(lambda: bool(self.received(service, match)), timeout_s)
        assert ok, f"no matching {service} NOTIFY within {timeout_s} s"
        return self.received(service, match)[0]

    def wait_notify(self, request_no: str, timeout_s: float = 10.0) -> dict[str, str]:
        """The first NOTIFY form (any service) whose respData mentions `request_no`."""
        def first() -> dict[str, str] | None:
            return next((n for n in self.notifies if request_no in n.get("respData", "")), None)

        with self._cond:
            ok = self._cond.wait_for(lambda: first() is not None, timeout_s)
            assert ok, f"no NOTIFY for {request_no} within {timeout_s} s"
            found = first()
        assert found is not None
        return found

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> PlatformSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
