"""The JSON API in process (FastAPI TestClient) on a real database: login, signing, rules, manual runs,
detail query, typed errors."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cunguan.api import sweep as sweep_api
from cunguan.sweep import demo

from .conftest import set_day


@pytest.fixture
def client(engine, ctx):
    app = FastAPI()
    app.state.engine = engine
    app.state.sweep_ctx = ctx
    sweep_api.install(app)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def logged_in(client, cust):
    res = client.post("/api/sweep/login", json={"login_name": "zhang0001", "password": "demo-pass-1"})
    assert res.status_code == 200
    return res.json()["token"]


def test_sweep_api_login_required_and_wrong_password(client, cust):
    assert client.get("/api/sweep/rules").json()["error"]["code"] == "NOT_LOGGED_IN"
    bad = client.post("/api/sweep/login", json={"login_name": "zhang0001", "password": "nope-nope"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "LOGIN_FAILED"


def test_sweep_api_bearer_token_for_mobile(client, logged_in):
    client.cookies.clear()
    res = client.get("/api/sweep/me", headers={"Authorization": f"Bearer {logged_in}"})
    assert res.status_code == 200
    body = res.json()
    assert body["name"] == "张三" and body["mobile"].endswith("8000") and "13800138000" not in res.text
    assert body["fees"]["customer_fee_per_transfer"] == "0.00"


def test_sweep_api_full_flow(client, logged_in, cust, clock, sim):
    signed = client.post("/api/sweep/other-accounts", json={
        "bank_no": demo.OTHER_BANK_NO, "bank_name": "工商银行", "account_no": cust.other_account_no,
        "holder_name": "张三", "payee_account_id": cust.card.id})
    assert signed.status_code == 201, signed.text
    other = signed.json()
    assert other["account"] == "****0001" and other["names_payee"] is True
    rule = client.post("/api/sweep/rules", json={
        "other_account_id": other["id"], "collecting_account_id": cust.card.id, "mode": "FIXED", "amount": "130000",
        "cycle": 30})
    assert rule.status_code == 201, rule.text
    r = rule.json()
    assert r["status"] == "PENDING" and r["next_run_date"] == "2026-11-30" and r["warning"]
    dup = client.post("/api/sweep/rules", json={
        "other_account_id": other["id"], "collecting_account_id": cust.card.id, "mode": "FULL", "cycle": "5"})
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "RULE_EXISTS"
    pending = client.post("/api/sweep/manual-runs", json={"rule_ids": [r["id"]]})
    assert pending.status_code == 409
    set_day(clock, 2026, 11, 6)
    assert client.get("/api/sweep/me").status_code == 401  # sessions last 30 minutes
    client.post("/api/sweep/login", json={"login_name": "zhang0001", "password": "demo-pass-1"})
    ran = client.post("/api/sweep/manual-runs", json={"rule_ids": [r["id"]]})
    assert ran.status_code == 200, ran.text
    assert ran.json()["moved"] == "130000.00" and ran.json()["runs"][0]["status"] == "SUCCESS"
    again = client.post("/api/sweep/manual-runs", json={})
    assert again.status_code == 429 and again.headers["Retry-After"] == "120"
    assert "120 seconds" in again.json()["error"]["message"]
    modified = client.patch(f"/api/sweep/rules/{r['id']}", json={"mode": "RETAIN", "amount": 100, "cycle": "MONTH_END"})
    assert modified.status_code == 200 and modified.json()["mode"] == "RETAIN"
    assert modified.json()["cycle"] == "MONTH_END"
    runs = client.get(f"/api/sweep/rules/{r['id']}/runs", params={"from": "2026-11-01", "to": "2026-11-30"})
    assert runs.status_code == 200
    assert [t["amount"] for t in runs.json()[0]["transfers"]] == ["50000.00", "50000.00", "30000.00"]
    assert client.delete(f"/api/sweep/rules/{r['id']}").json()["status"] == "DELETED"
    renewed = client.post(f"/api/sweep/other-accounts/{other['id']}/renew")
    assert renewed.status_code == 200 and renewed.json()["agreement_end"] > other["agreement_end"]
    assert client.delete(f"/api/sweep/other-accounts/{other['id']}").json() == {"ok": True}


@pytest.mark.parametrize(("payload", "code"), [
    ({"mode": "FIXED", "amount": "12.5", "cycle": 5}, "INVALID_INPUT"),
    ({"mode": "FIXED", "amount": "abc", "cycle": 5}, "INVALID_INPUT"),
    ({"mode": "RETAIN", "cycle": 5}, "INVALID_INPUT"),
    ({"mode": "FULL", "cycle": 32}, "INVALID_INPUT"),
    ({"mode": "FULL", "cycle": "LAST"}, "INVALID_INPUT"),
])
def test_sweep_api_bad_rule_input(client, logged_in, cust, other, payload, code):
    body = {"other_account_id": other.id, "collecting_account_id": cust.card.id, **payload}
    res = client.post("/api/sweep/rules", json=body)
    assert res.status_code == 422 and res.json()["error"]["code"] == code


def test_sweep_api_other_customers_rules_are_invisible(client, logged_in, engine, sim, ctx, cust, other):
    from cunguan.sweep.rules import create_rule

    second = demo.seed(engine, sim, suffix="0002")
    from cunguan.sweep.agreements import add_other_account

    o2 = add_other_account(ctx, second.customer.id, bank_no=demo.OTHER_BANK_NO, bank_name="x",
                           account_no=second.other_account_no, holder_name="张三", payee_account_id=second.card.id)
    r2 = create_rule(ctx, second.customer.id, other_account_id=o2.id, collecting_account_id=second.card.id,
                     mode="FULL", amount_fen=None, cycle=5)
    assert client.delete(f"/api/sweep/rules/{r2.id}").status_code == 404
    today = dt.date(2026, 11, 5).isoformat()
    assert client.get(f"/api/sweep/rules/{r2.id}/runs", params={"from": today, "to": today}).status_code == 404
    # someone else's account as payee is refused too
    res = client.post("/api/sweep/other-accounts", json={
        "bank_no": demo.SECOND_BANK_NO, "account_no": cust.second_account_no, "holder_name": "张三",
        "payee_account_id": second.card.id})
    assert res.status_code == 404


def test_sweep_api_is_in_openapi(engine):
    from cunguan.api.app import create_app

    schema = create_app(engine).openapi()
    assert "/api/sweep/rules" in schema["paths"] and "/api/sweep/manual-runs" in schema["paths"]
    assert not any(p.startswith("/sweep/") for p in schema["paths"])
