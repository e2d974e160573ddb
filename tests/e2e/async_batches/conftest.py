"""ASYNC_TRANSACTION e2e fixtures: the platform's NOTIFY receiver on 127.0.0.1, and the test support
module of tests/integration/async_batches (a genuine transfer executor, funded users)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

SUPPORT = Path(__file__).resolve().parents[2] / "integration" / "async_batches"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))


class NotifyReceiver:
    """Answers every POST with `SUCCESS` and keeps the forms, by arrival."""

    def __init__(self) -> None:
        self.forms: list[dict[str, str]] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode("utf-8"), keep_blank_values=True))
                with receiver._cond:
                    receiver.forms.append(form)
                    receiver._cond.notify_all()
                body = b"SUCCESS"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        self.thread = threading.Thread(target=self.server.serve_forever, name="async-notify-receiver", daemon=True)
        self.thread.start()

    def wait_for(self, batch_no: str, timeout_s: float = 20.0) -> dict[str, str]:
        def found():
            return next((f for f in self.forms if f'"batchNo":"{batch_no}"' in f.get("respData", "")), None)

        with self._cond:
            assert self._cond.wait_for(lambda: found() is not None, timeout_s), f"no NOTIFY for {batch_no}"
            return found()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[NotifyReceiver]:
    r = NotifyReceiver()
    yield r
    r.close()
