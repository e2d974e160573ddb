"""End-to-end fixtures: a real uvicorn server on 127.0.0.1 and real Lanmao clients.

- `live_server`: `create_app(engine)` served by uvicorn in a background thread on a free port of
  127.0.0.1, for the test's own fresh database (`engine`). Yields the server's base URL (a `str`;
  `live_server.app` is the FastAPI app, e.g. to set `app.state.clock` or register a test service).
- `make_lanmao_platform`: a factory `(platform_no="6000000001", *, key_serial="1", name=..., notify_url=...)
  -> LanmaoClient` that registers a platform with an RSA-2048 key of its own (from a session pool,
  distinct within the test) and returns a client for it, pointed at the live server and verifying
  responses with the bank's public key (a session key installed in the test database).
- `lanmao_client`: one such client for platform 6000000001.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import uvicorn
from sqlalchemy.engine import Engine

from cunguan.api.app import create_app
from cunguan.client import LanmaoClient, signing
from cunguan.clock import Clock
from cunguan.custody import platforms
from cunguan.db.tx import run_in_transaction

STARTUP_TIMEOUT_S = 15.0
KEY_POOL_SIZE = 8


class _KeyPool:
    """RSA-2048 generation costs 50-500 ms; a session pool keeps e2e setup fast. Keys are handed out
    round-robin, so the platforms of one test always get distinct keys."""

    def __init__(self) -> None:
        self.keys: list = []
        self.next = 0

    def take(self):
        if len(self.keys) < KEY_POOL_SIZE:
            self.keys.append(signing.generate_private_key())
            return self.keys[-1]
        key = self.keys[self.next % KEY_POOL_SIZE]
        self.next += 1
        return key


@pytest.fixture(scope="session")
def rsa_key_pool() -> _KeyPool:
    return _KeyPool()


@pytest.fixture(scope="session")
def session_bank_key_pem() -> str:
    return signing.private_key_pem(signing.generate_private_key())


class ServerURL(str):
    """The base URL, e.g. `http://127.0.0.1:54321`, carrying the app it serves."""

    app: object


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a background thread on a free port of 127.0.0.1; yields its URL.
    Every room's live-server fixture goes through here."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the live server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT_S)
        sock.close()


@pytest.fixture
def serve_app():
    """`with serve_app(app) as url:` — see `serving`."""
    return serving


@pytest.fixture
def live_server(engine: Engine, session_bank_key_pem: str) -> Iterator[ServerURL]:
    # The bank key is generated on first use in production; here one session key is installed up front.
    run_in_transaction(engine, lambda conn: platforms.install_bank_key(conn, session_bank_key_pem, 0))
    app = create_app(engine)  # the base URL is set once the port is known: the app reads it per request
    with serving(app) as raw:
        url = ServerURL(raw)
        url.app = app
        app.state.base_url = raw
        yield url


@pytest.fixture
def make_lanmao_platform(engine: Engine, live_server: ServerURL,
                         rsa_key_pool: _KeyPool) -> Iterator[Callable[..., LanmaoClient]]:
    clients: list[LanmaoClient] = []
    used: set[int] = set()

    def make(platform_no: str = "6000000001", *, key_serial: str = "1", name: str = "测试平台",
             notify_url: str = "http://127.0.0.1:9/notify") -> LanmaoClient:
        key = rsa_key_pool.take()
        while id(key) in used:
            key = rsa_key_pool.take()
        used.add(id(key))
        now = platforms.now_us(Clock())
        run_in_transaction(engine, lambda conn: platforms.create_platform(
            conn, now, platform_no=platform_no, name=name, notify_url=notify_url,
            public_key_pem=signing.public_key_pem(key), key_serial=key_serial))
        settings = live_server.app.state.settings  # type: ignore[attr-defined]
        client = LanmaoClient(f"{live_server}{settings.lanmao_prefix}", platform_no, key,
                              platforms.bank_public_key_pem(engine, settings), key_serial=key_serial)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def lanmao_client(make_lanmao_platform: Callable[..., LanmaoClient]) -> LanmaoClient:
    return make_lanmao_platform()


# ---------------------------------------------------------------- the browser

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    """One headless Debian Chromium for the whole session, shared by every room's page tests.

    Playwright's sync API runs one event loop per thread, so a second `sync_playwright()` in the same
    process fails while the first is open: rooms must take this fixture, never start their own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


# ---------------------------------------------------------------- custody users


@pytest.fixture
def fast_hasher(monkeypatch):
    """argon2 at its cheapest, for tests that create many passwords."""
    from argon2 import PasswordHasher

    from cunguan.custody import passwords

    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def bank():
    """A strict simulated card bank configured as the card verifier for the test (restored after)."""
    from cunguan.custody import card_verifier
    from cunguan.custody.card_verifier import SimulatedCardBank

    previous = card_verifier.configured()
    sim = SimulatedCardBank()
    card_verifier.configure(sim)
    yield sim
    card_verifier.configure(previous)
