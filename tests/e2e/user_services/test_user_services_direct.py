"""The direct user services through the real HTTP server and the platform client: good and bad paths,
signed JSON envelopes (the client verifies every answer with the bank key)."""

from __future__ import annotations

from decimal import Decimal

from cunguan.clock import Clock
from cunguan.custody import cards, passwords, user_store
from cunguan.db.tx import run_in_transaction


def _call(client, service: str, data: dict):
    result = client.call(service, data)
    assert result.http_status == 200 and result.signature_valid, result.body
    return result


def test_query_user_information(lanmao_client, seed, make_lanmao_platform):
    client = lanmao_client
    req = seed.register("U-Q-1", auth_list="TENDER")
    r = _call(client, "QUERY_USER_INFORMATION", {"platformUserNo": "U-Q-1"})
    assert r.outcome == "S", r.data
    body = r.data
    assert body["code"] == "0" and body["status"] == "SUCCESS"
    assert body["platformUserNo"] == "U-Q-1" and body["userType"] == "PERSONAL" and body["userRole"] == "INVESTOR"
    assert body["auditStatus"] == "PASSED" and body["activeStatus"] == "ACTIVATED"
    assert body["accessType"] == "FULL_CHECKED" and body["authList"] == "TENDER"
    assert body["balance"] == Decimal("0.00") and body["availableAmount"] == 0 and body["freezeAmount"] == 0
    assert b'"balance":0.00' in r.body
    assert body["bankcardNo"] != req.bankcard_no and body["bankcardNo"][-4:] == req.bankcard_no[-4:]
    assert body["idCardNo"] != req.id_card_no and body["mobile"] == req.mobile and body["name"] == req.real_name
    system = _call(client, "QUERY_USER_INFORMATION", {"platformUserNo": "SYS_GENERATE_000"})
    assert system.outcome == "S" and system.data["userType"] == "ORGANIZATION" and system.data["balance"] == 0
    missing = _call(client, "QUERY_USER_INFORMATION", {"platformUserNo": "NOBODY"})
    assert missing.data["code"] == "1" and missing.data["errorCode"] == "100009"
    bad = _call(client, "QUERY_USER_INFORMATION", {"platformUserNo": ""})
    assert bad.data["errorCode"] == "100002" and "platformUserNo" in bad.data["errorMessage"]
    # platforms never see each other's users
    other = make_lanmao_platform("6000000002")
    assert _call(other, "QUERY_USER_INFORMATION", {"platformUserNo": "U-Q-1"}).data["errorCode"] == "100009"


def test_unfreeze_and_cancel_authorization(lanmao_client, seed, engine):
    client = lanmao_client
    seed.register("U-P-1", auth_list="TENDER,CREDIT_ASSIGNMENT")
    r = _call(client, "UNFREEZE_TRADE_PASSWORD", {"requestNo": "R-UNF-1", "platformUserNo": "U-P-1"})
    assert r.outcome == "F" and r.data["errorCode"] == "100008" and "not locked" in r.data["errorMessage"]
    with engine.connect() as conn:
        user_id = user_store.get_user(conn, "6000000001", "U-P-1").id
    for _ in range(passwords.MAX_WRONG_TRIES):
        run_in_transaction(engine, lambda c: passwords.verify(c, user_id, "wrong-pass", 0))
    r = _call(client, "UNFREEZE_TRADE_PASSWORD", {"requestNo": "R-UNF-1", "platformUserNo": "U-P-1"})
    assert r.outcome == "S" and r.data["requestNo"] == "R-UNF-1", r.body  # a refused requestNo stays free
    dup = _call(client, "UNFREEZE_TRADE_PASSWORD", {"requestNo": "R-UNF-1", "platformUserNo": "U-P-1"})
    assert dup.data["errorCode"] == "100013"
    r = _call(client, "CANCEL_USER_AUTHORIZATION",
              {"requestNo": "R-CAN-1", "platformUserNo": "U-P-1", "authList": "TENDER"})
    assert r.outcome == "S" and r.data["authList"] == "TENDER", r.data
    info = _call(client, "QUERY_USER_INFORMATION", {"platformUserNo": "U-P-1"})
    assert info.data["authList"] == "CREDIT_ASSIGNMENT"
    bad = _call(client, "CANCEL_USER_AUTHORIZATION",
                {"requestNo": "R-CAN-2", "platformUserNo": "U-P-1", "authList": "TENDER,NOPE"})
    assert bad.outcome == "F" and bad.data["errorCode"] == "100002" and "authList" in bad.data["errorMessage"]
    nobody = _call(client, "CANCEL_USER_AUTHORIZATION",
                   {"requestNo": "R-CAN-3", "platformUserNo": "NOBODY", "authList": "TENDER"})
    assert nobody.data["errorCode"] == "100009"


def test_audit_bind_card_and_entrust_pay(lanmao_client, seed, engine):
    client = lanmao_client
    req = seed.register("U-C-1", role="BORROWERS")
    new_card = seed.card(req.real_name, req.id_card_no, req.mobile)
    change = cards.PersonalBindBankcardRequest(request_no="R-BIND-1", platform_user_no="U-C-1",
                                               bankcard_no=new_card, mobile=req.mobile)
    result = run_in_transaction(engine, lambda c: cards.personal_bind_bankcard(c, Clock(), "6000000001", change))
    assert result.audit_status == "AUDIT"
    missing = _call(client, "AUDIT_BIND_CARD", {"requestNo": "R-AUD-0", "originalRequestNo": "NOPE",
                                                "auditType": "PASSED"})
    assert missing.data["errorCode"] == "100007"
    bad = _call(client, "AUDIT_BIND_CARD", {"requestNo": "R-AUD-0", "originalRequestNo": "R-BIND-1",
                                            "auditType": "MAYBE"})
    assert bad.data["errorCode"] == "100002" and "auditType" in bad.data["errorMessage"]
    ok = _call(client, "AUDIT_BIND_CARD", {"requestNo": "R-AUD-1", "originalRequestNo": "R-BIND-1",
                                           "auditType": "PASSED"})
    assert ok.outcome == "S", ok.data
    info = _call(client, "QUERY_USER_INFORMATION", {"platformUserNo": "U-C-1"})
    assert info.data["bankcardNo"][-4:] == new_card[-4:]
    again = _call(client, "AUDIT_BIND_CARD", {"requestNo": "R-AUD-2", "originalRequestNo": "R-BIND-1",
                                              "auditType": "PASSED"})
    assert again.data["errorCode"] == "100008" and again.data["code"] == "0" and again.outcome == "P"

    seed.register("U-C-2")
    entrust = {"requestNo": "R-ENT-1", "borrowPlatformUserNo": "U-C-1", "projectNo": "P-1", "checkType": "LIMIT",
               "entrustedType": "PERSONAL", "entrustedPlatformUserNo": "U-C-2"}
    r = _call(client, "AUTHORIZATION_ENTRUST_PAY", entrust)
    assert r.outcome == "S" and r.data["authorizeStatus"] == "PASSED", r.data
    twice = _call(client, "AUTHORIZATION_ENTRUST_PAY", {**entrust, "requestNo": "R-ENT-2"})
    assert twice.data["errorCode"] == "100008" and "projectNo" in twice.data["errorMessage"]
    nobody = _call(client, "AUTHORIZATION_ENTRUST_PAY", {**entrust, "requestNo": "R-ENT-3", "projectNo": "P-2",
                                                         "entrustedPlatformUserNo": "NOBODY"})
    assert nobody.data["errorCode"] == "100009"
    wrong_type = _call(client, "AUTHORIZATION_ENTRUST_PAY", {**entrust, "requestNo": "R-ENT-4", "projectNo": "P-3",
                                                             "entrustedType": "ENTERPRISE"})
    assert wrong_type.data["errorCode"] == "100008" and "entrustedType" in wrong_type.data["errorMessage"]


def test_gateway_services_are_not_direct(lanmao_client, seed):
    r = _call(lanmao_client, "CHECK_PASSWORD", {"requestNo": "R-G-1", "platformUserNo": "U-X",
                                                "bizTypeDescription": "x", "redirectUrl": "http://127.0.0.1:9/r"})
    assert r.data["errorCode"] == "100006" and "gateway" in r.data["errorMessage"]
