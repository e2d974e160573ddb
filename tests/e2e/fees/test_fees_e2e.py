"""Custody fees end to end: the platform's signed JSON view over real HTTP, the console pages through
the console's real login, and the due-charge check that starts with the app."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from cunguan.api.app import create_app
from cunguan.api.fees import signed_bytes
from cunguan.client import signing, wire
from cunguan.clock import BEIJING, FixedClock
from cunguan.console import operators
from cunguan.custody import custody_fees as cf
from cunguan.custody import platforms
from cunguan.db import ledger_store
from cunguan.db.ledger_audit import audit
from cunguan.db.tables.custody_fees import custody_fee_charges
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer

P1 = "6000000001"
PASSWORD = "fees-console-1"


def beijing(y: int, m: int, d: int, hh: int = 10) -> dt.datetime:
    return dt.datetime(y, m, d, hh, tzinfo=BEIJING)


@pytest.fixture(scope="session")
def fees_platform_key():
    return signing.generate_private_key()


@dataclass
class FeeServer:
    url: str
    app: object
    engine: object
    clock: FixedClock
    key: object

    def sign(self, platform_no: str, key_serial: str, timestamp: str) -> str:
        return signing.sign(self.key, signed_bytes(platform_no, key_serial, timestamp))

    def stamp(self) -> str:
        return self.clock.beijing_now().strftime("%Y%m%d%H%M%S")


def _seed(engine, clock: FixedClock, key) -> None:
    """P1 with 5 bp a year monthly from Oct 1, 1,000,000.00 in custody all October, 5.00 in its own
    account: at Nov 1 the October fee is 1e8 * 31 * 0.0005 / 365 = 4246.58 -> 42.47, of which 5.00 paid."""
    run_in_transaction(engine, lambda conn: platforms.create_platform(
        conn, cf.now_us(clock), platform_no=P1, name="懒猫金服", notify_url="http://127.0.0.1:9/notify",
        public_key_pem=signing.public_key_pem(key)))
    run_in_transaction(engine, lambda conn: cf.configure(conn, clock, platform_no=P1, period="MONTHLY",
                                                         annual_rate_ppm=500, start_date=dt.date(2026, 10, 1)))
    clock.set(beijing(2026, 10, 1))

    def recharge(conn):
        platform = platforms.get_platform(conn, P1)
        acct = platforms.system_account(conn, P1, "SYS_GENERATE_002")
        ledger_store.apply(conn, [Transfer(platform.custody_account_id, acct.account_id, 100_000_000,
                                           "TEST_RECHARGE", "e2e")])
    run_in_transaction(engine, recharge)
    run_in_transaction(engine, lambda conn: cf.deposit(conn, clock, platform_no=P1, amount_fen=500, ref="D-1"))
    clock.set(beijing(2026, 11, 1, 9))


@pytest.fixture
def fee_server(engine, serve_app, monkeypatch, session_bank_key_pem, fees_platform_key) -> Iterator[FeeServer]:
    clock = FixedClock(beijing(2026, 10, 1, 2))
    monkeypatch.setattr(ledger_store, "now_us", lambda: cf.now_us(clock))  # postings on the test's days
    monkeypatch.setattr(operators, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    run_in_transaction(engine, lambda conn: platforms.install_bank_key(conn, session_bank_key_pem, 0))
    run_in_transaction(engine, lambda conn: operators.create_operator(
        conn, clock, username="operator", password=PASSWORD, role="operator"))
    _seed(engine, clock, fees_platform_key)
    report = cf.run_due(engine, clock)
    assert [(c.fee_fen, c.paid_fen, c.status) for c in report.charged] == [(4247, 500, "OWED")]
    app = create_app(engine)
    app.state.clock = clock
    app.state.fee_worker = False  # this fixture drives charging itself
    with serve_app(app) as url:
        app.state.base_url = url
        yield FeeServer(url, app, engine, clock, fees_platform_key)


def _get(server: FeeServer, platform_no: str = P1, key_serial: str = "1", timestamp: str | None = None,
         sign: str | None = None) -> httpx.Response:
    timestamp = timestamp or server.stamp()
    sign = sign if sign is not None else server.sign(platform_no, key_serial, timestamp)
    return httpx.get(f"{server.url}/api/fees/{platform_no}", params={"keySerial": key_serial, "timestamp": timestamp},
                     headers={"X-Sign": sign}, timeout=10)


def test_platform_reads_its_fee_charges_over_signed_json(fee_server: FeeServer):
    resp = _get(fee_server)
    assert resp.status_code == 200
    bank_pem = platforms.bank_public_key_pem(fee_server.engine)
    assert signing.verify(signing.load_public_key(bank_pem), resp.content, resp.headers["sign"])
    body = wire.loads(resp.content)
    assert body["code"] == "0" and body["platformNo"] == P1
    assert body["plan"] == {"method": "RATE", "annualRateBp": "5", "flatFee": None, "period": "MONTHLY",
                            "startDate": "2026-10-01"}
    (charge,) = body["charges"]
    assert (charge["periodStart"], charge["periodEnd"], charge["days"]) == ("2026-10-01", "2026-10-31", 31)
    assert charge["averageDailyBalance"] == Decimal("1000000.00")
    assert (charge["fee"], charge["paid"], charge["owed"], charge["status"]) == (
        Decimal("42.47"), Decimal("5.00"), Decimal("37.47"), "OWED")
    assert body["owed"] == Decimal("37.47") and body["ownAccount"]["balance"] == Decimal("0.00")
    assert [m["kind"] for m in body["movements"]] == ["FEE", "DEPOSIT"]

    # after a deposit and the next run the arrear is paid, and the platform sees it
    run_in_transaction(fee_server.engine, lambda conn: cf.deposit(conn, fee_server.clock, platform_no=P1,
                                                                  amount_fen=10_000, ref="D-2"))
    assert cf.run_due(fee_server.engine, fee_server.clock).collected == [(P1, dt.date(2026, 10, 1), 3747)]
    body = wire.loads(_get(fee_server).content)
    assert body["charges"][0]["status"] == "PAID" and body["owed"] == Decimal("0.00")
    assert body["ownAccount"]["balance"] == Decimal("62.53")
    assert audit(fee_server.engine) == []


def test_fee_json_refuses_unsigned_stale_and_foreign_requests(fee_server: FeeServer):
    bad = _get(fee_server, sign="AAAA")
    assert bad.status_code == 401 and wire.loads(bad.content)["errorCode"] == "100003"
    other_key = signing.generate_private_key()
    ts = fee_server.stamp()
    forged = _get(fee_server, timestamp=ts, sign=signing.sign(other_key, signed_bytes(P1, "1", ts)))
    assert forged.status_code == 401
    assert _get(fee_server, key_serial="9").status_code == 401
    stale_ts = (fee_server.clock.beijing_now() - dt.timedelta(hours=1)).strftime("%Y%m%d%H%M%S")
    stale = _get(fee_server, timestamp=stale_ts)
    assert stale.status_code == 400 and wire.loads(stale.content)["errorCode"] == "100002"
    unknown = _get(fee_server, platform_no="6999999999")
    assert unknown.status_code == 404 and wire.loads(unknown.content)["errorCode"] == "100004"


def _console_login(client: httpx.Client, server: FeeServer) -> None:
    """Log in through the console's real login form (double-submit CSRF token from the page)."""
    page = client.get(f"{server.url}/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = client.post(f"{server.url}/console/login",
                       data={"username": "operator", "password": PASSWORD, "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == "/console/"


def test_operator_sees_plans_and_charges_on_the_console(fee_server: FeeServer):
    with httpx.Client(timeout=10) as client:
        anonymous = client.get(f"{fee_server.url}/console/fees")
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login"
        _console_login(client, fee_server)
        overview = client.get(f"{fee_server.url}/console/fees")
        assert overview.status_code == 200 and overview.headers["cache-control"] == "no-store"
        row = _testid(overview.text, "tr", f"fee-plan-{P1}")
        assert "5 bp" in row and "37.47" in row and "欠费" in row and f'href="/console/fees/{P1}"' in row
        detail = client.get(f"{fee_server.url}/console/fees/{P1}")
        assert detail.status_code == 200
        charges = _testid(detail.text, "table", "fee-charges")
        assert "2026-10-01 – 2026-10-31" in charges and "1000000.00" in charges and "42.47" in charges
        assert "转入" in _testid(detail.text, "table", "fee-movements")
        assert f"P:{P1}:OWN" in _testid(detail.text, "p", "fee-own")
        missing = client.get(f"{fee_server.url}/console/fees/6999999999")
        assert missing.status_code == 404 and "平台不存在" in missing.text


def _testid(html: str, tag: str, testid: str) -> str:
    """The element `<tag data-testid=testid>…</tag>` (not nested in itself) of a page."""
    match = re.search(rf'<{tag}[^>]*data-testid="{re.escape(testid)}"[^>]*>(.*?)</{tag}>', html, re.S)
    assert match is not None, f"{testid} not on the page"
    return match.group(1)


def test_due_charge_check_runs_with_the_app(engine, serve_app, monkeypatch, fees_platform_key):
    clock = FixedClock(beijing(2026, 10, 1, 2))
    monkeypatch.setattr(ledger_store, "now_us", lambda: cf.now_us(clock))
    monkeypatch.setenv("CUNGUAN_FEE_WORKER", "on")
    _seed(engine, clock, fees_platform_key)  # October is due on Nov 1; nobody has charged it
    app = create_app(engine)
    app.state.clock = clock
    app.state.notify_worker = False
    with serve_app(app):
        deadline = time.monotonic() + 15
        while True:
            with engine.connect() as conn:
                n = conn.execute(select(func.count()).select_from(custody_fee_charges)).scalar_one()
            if n or time.monotonic() > deadline:
                break
            time.sleep(0.05)  # polling a real background thread's effect, bounded by the deadline
    assert n == 1
    with engine.connect() as conn:
        (charge,) = cf.charges(conn, P1)
    assert (charge.fee_fen, charge.paid_fen, charge.status) == (4247, 500, "OWED")
