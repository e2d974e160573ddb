"""Seed scenario 15 (custody.md): the bank deducts its custody fee from the platform's own account
periodically — never from the custody account; the platform reads its charges over signed JSON."""

from __future__ import annotations

import datetime as dt

import httpx

from cunguan.api.fees import signed_bytes
from cunguan.client import signing, wire
from cunguan.clock import BEIJING
from cunguan.custody import custody_fees as cf
from cunguan.db.tx import run_in_transaction

from .scenario_kit import PLATFORM_NO, D, fen


def _fees_view(w) -> dict:
    ts = w.clock.beijing_now().strftime("%Y%m%d%H%M%S")
    sign = signing.sign(w.client.private_key, signed_bytes(PLATFORM_NO, "1", ts))
    resp = httpx.get(f"{w.live}/api/fees/{PLATFORM_NO}", params={"keySerial": "1", "timestamp": ts},
                     headers={"X-Sign": sign}, timeout=10)
    assert resp.status_code == 200
    assert signing.verify(w.client.bank_public_key, resp.content, resp.headers["sign"])
    return wire.loads(resp.content)


def test_scenario_15_custody_fee_from_the_platform_own_account(w, engine, clock):
    w.register("F-1")
    w.recharge("F-1", "1000")  # users' money in custody: the fee never touches it
    run_in_transaction(engine, lambda c: cf.configure(c, clock, platform_no=PLATFORM_NO, period="MONTHLY",
                                                      flat_fee_fen=fen(30), start_date=dt.date(2026, 11, 1)))
    run_in_transaction(engine, lambda c: cf.deposit(c, clock, platform_no=PLATFORM_NO, amount_fen=fen(20),
                                                    ref="OWN-1"))
    before = w.virtual_total_and_liability()
    clock.set(dt.datetime(2026, 12, 1, 9, 0, tzinfo=BEIJING))
    report = cf.run_due(engine, clock)
    assert [(c.fee_fen, c.paid_fen, c.status) for c in report.charged] == [(fen(30), fen(20), "OWED")]
    assert cf.run_due(engine, clock).charged == []  # a period is charged once
    body = _fees_view(w)
    (charge,) = body["charges"]
    assert (charge["periodStart"], charge["periodEnd"]) == ("2026-11-01", "2026-11-30")
    assert (charge["fee"], charge["paid"], charge["owed"]) == (D("30.00"), D("20.00"), D("10.00"))
    assert body["ownAccount"]["balance"] == D("0.00")
    # the platform pays into its own account; the next run collects the arrears
    run_in_transaction(engine, lambda c: cf.deposit(c, clock, platform_no=PLATFORM_NO, amount_fen=fen(50),
                                                    ref="OWN-2"))
    assert cf.run_due(engine, clock).collected == [(PLATFORM_NO, dt.date(2026, 11, 1), fen(10))]
    body = _fees_view(w)
    assert body["owed"] == D("0.00") and body["ownAccount"]["balance"] == D("40.00")
    assert body["charges"][0]["status"] == "PAID"
    assert w.virtual_total_and_liability() == before == (fen(1000), fen(1000))
    assert w.balance("F-1") == (fen(1000), 0)
    w.finish()
