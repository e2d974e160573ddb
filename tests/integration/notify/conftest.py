"""Shared set-up of the notification tests: a real RSA key and a tiny SHA1withRSA signer (written here,
independent of the production signer), a fixed clock, and a scripted NOTIFY receiver on 127.0.0.1
that verifies every signature with the public key and records every hit."""

from __future__ import annotations

import base64
import collections
import datetime as dt
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cunguan.clock import UTC, FixedClock
from cunguan.notify.delivery import HttpSender

START = dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
PLATFORM = "6000000001"


@pytest.fixture(scope="session")
def bank_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def signer(bank_key):
    def sign(data: bytes) -> str:
        return base64.b64encode(bank_key.sign(data, padding.PKCS1v15(), hashes.SHA1())).decode("ascii")

    return sign


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@dataclass
class Hit:
    form: dict[str, str]
    content_type: str
    sign_ok: bool
    answer: str


@dataclass
class Receiver:
    """Answers from `script` in order (then `default`); every answer is one of
    ("reply", status, body), ("sleep", seconds) (then SUCCESS, too late for the client),
    ("dribble", seconds) (a 200 whose body comes one byte at a time)."""

    public_key: rsa.RSAPublicKey
    script: collections.deque = field(default_factory=collections.deque)
    default: tuple = ("reply", 200, "SUCCESS")
    delay_s: float = 0.0
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def verify(self, form: dict[str, str]) -> bool:
        try:
            self.public_key.verify(base64.b64decode(form.get("sign", ""), validate=True),
                                   form.get("respData", "").encode("utf-8"), padding.PKCS1v15(), hashes.SHA1())
        except (InvalidSignature, ValueError):
            return False
        return True

    def next_answer(self) -> tuple:
        with self.lock:
            return self.script.popleft() if self.script else self.default

    def record(self, hit: Hit) -> None:
        with self.lock:
            self.hits.append(hit)


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode("utf-8")
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            sign_ok = receiver.verify(form)
            answer = receiver.next_answer() if sign_ok else ("reply", 403, "BAD SIGN")
            receiver.record(Hit(form, self.headers.get("Content-Type", ""), sign_ok, repr(answer)))
            if receiver.delay_s:
                time.sleep(receiver.delay_s)
            if answer[0] == "sleep":
                time.sleep(answer[1])
                answer = ("reply", 200, "SUCCESS")
            if answer[0] == "dribble":  # headers at once, then one byte every `answer[1]` seconds
                self._dribble(answer[1])
                return
            _, status, body = answer
            data = body.encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (timeout test)
                pass

        def _dribble(self, every_s: float) -> None:
            try:
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                for _ in range(100):
                    self.wfile.write(b"S")
                    self.wfile.flush()
                    time.sleep(every_s)
            except OSError:
                pass

    return Handler


@pytest.fixture
def receiver(bank_key) -> Iterator[Receiver]:
    rec = Receiver(public_key=bank_key.public_key())
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rec))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/lanmao/notify"
    yield rec
    server.shutdown()
    server.server_close()
    thread.join(5)


READ_TIMEOUT_S = 0.3


@pytest.fixture
def sender(signer) -> Iterator[HttpSender]:
    """Short timeouts so the timeout case costs a fraction of a second."""
    s = HttpSender(signer, connect_timeout_s=1.0, read_timeout_s=READ_TIMEOUT_S, total_timeout_s=2.0)
    yield s
    s.close()
