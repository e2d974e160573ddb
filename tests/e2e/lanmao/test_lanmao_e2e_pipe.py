"""The Lanmao pipe through a real server: good requests, every envelope refusal with its code, the
response signature checked by our client and by openssl, key rotation."""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from cunguan.api.lanmao.registry import Registry
from cunguan.client import LanmaoClient, signing, wire
from cunguan.clock import BEIJING, Clock, FixedClock
from cunguan.custody import platforms
from cunguan.db.tx import run_in_transaction

pytestmark = pytest.mark.db

BASE = "/bha-neo-app/lanmaotech"


def _query(client: LanmaoClient, user_no: str = "SYS_GENERATE_002", **extra):
    return client.call("QUERY_USER_INFORMATION", {"platformUserNo": user_no, **extra})


def test_good_request_is_signed_and_answered(lanmao_client: LanmaoClient) -> None:
    result = _query(lanmao_client)
    assert result.http_status == 200
    assert result.signature_valid
    assert result.outcome == "S"
    assert result.data["code"] == "0" and result.data["status"] == "SUCCESS"
    assert result.data["userRole"] == "PLATFORM_MARKETING"
    assert result.data["balance"] == Decimal("0.00")
    assert b'"balance":0.00' in result.body
    assert result.body.startswith(b'{"code":"0","status":"SUCCESS"')


def test_unknown_user_is_100009_with_string_codes(lanmao_client: LanmaoClient) -> None:
    result = _query(lanmao_client, "nobody")
    assert result.signature_valid
    assert result.data["code"] == "1" and result.data["status"] == "INIT"
    assert result.data["errorCode"] == "100009"
    assert "用户不存在" in result.data["errorMessage"]
    assert result.outcome == "P"  # a query is never F


def test_response_signature_verifies_with_openssl(lanmao_client: LanmaoClient, engine, tmp_path: Path) -> None:
    result = _query(lanmao_client)
    assert result.sign is not None
    (tmp_path / "pub.pem").write_text(platforms.bank_public_key_pem(engine))
    (tmp_path / "sig.bin").write_bytes(base64.b64decode(result.sign))
    (tmp_path / "body.txt").write_bytes(result.body)
    ok = subprocess.run(["openssl", "dgst", "-sha1", "-verify", "pub.pem", "-signature", "sig.bin", "body.txt"],
                        cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and "Verified OK" in ok.stdout
    (tmp_path / "body.txt").write_bytes(result.body.replace(b"SUCCESS", b"SUCCESs"))
    bad = subprocess.run(["openssl", "dgst", "-sha1", "-verify", "pub.pem", "-signature", "sig.bin", "body.txt"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0


def test_request_signed_by_openssl_is_accepted(live_server, engine, tmp_path: Path) -> None:
    """The server's verifier against an independent signer."""
    key = signing.generate_private_key()
    (tmp_path / "priv.pem").write_text(signing.private_key_pem(key))
    run_in_transaction(engine, lambda c: platforms.create_platform(
        c, 1, platform_no="6000000009", name="P", notify_url="http://127.0.0.1:9/n",
        public_key_pem=signing.public_key_pem(key)))
    ts = Clock().beijing_now().strftime("%Y%m%d%H%M%S")
    req_data = '{"platformUserNo":"SYS_GENERATE_004","timestamp":"' + ts + '","备注":"中文"}'
    (tmp_path / "data.txt").write_bytes(req_data.encode("utf-8"))
    out = subprocess.run(["openssl", "dgst", "-sha1", "-sign", "priv.pem", "-out", "sig.bin", "data.txt"],
                         cwd=tmp_path, capture_output=True, timeout=30)
    assert out.returncode == 0
    sign = base64.b64encode((tmp_path / "sig.bin").read_bytes()).decode()
    form = {"serviceName": "QUERY_USER_INFORMATION", "platformNo": "6000000009", "reqData": req_data,
            "keySerial": "1", "sign": sign}
    response = httpx.post(f"{live_server}{BASE}/service", data=form, timeout=30)
    assert response.status_code == 200
    body = wire.loads(response.content)
    assert body["code"] == "0" and body["userRole"] == "PLATFORM_INCOME"
    assert signing.verify(signing.load_public_key(platforms.bank_public_key_pem(engine)),
                          response.content, response.headers["sign"])


def test_bad_signature_is_100003(lanmao_client: LanmaoClient) -> None:
    form = lanmao_client.build_form("QUERY_USER_INFORMATION", {"platformUserNo": "SYS_GENERATE_002"})
    form["reqData"] = form["reqData"].replace("002", "003")  # signed text changed after signing
    result = lanmao_client.read_result(lanmao_client.post_form("service", form))
    assert result.data["errorCode"] == "100003" and result.data["code"] == "1"
    assert "sign" in result.data["errorMessage"]
    assert result.signature_valid


def test_signature_of_another_key_is_100003(lanmao_client: LanmaoClient) -> None:
    other = signing.generate_private_key()
    form = lanmao_client.build_form("QUERY_USER_INFORMATION", {"platformUserNo": "SYS_GENERATE_002"})
    form["sign"] = signing.sign(other, form["reqData"].encode())
    result = lanmao_client.read_result(lanmao_client.post_form("service", form))
    assert result.data["errorCode"] == "100003"


def test_unknown_platform_is_100004(lanmao_client: LanmaoClient) -> None:
    form = lanmao_client.build_form("QUERY_USER_INFORMATION", {"platformUserNo": "SYS_GENERATE_002"})
    form["platformNo"] = "6999999999"
    result = lanmao_client.read_result(lanmao_client.post_form("service", form))
    assert result.data["errorCode"] == "100004"
    assert "platformNo" in result.data["errorMessage"]
    assert result.outcome == "F"


def test_disabled_platform_is_100005(lanmao_client: LanmaoClient, engine) -> None:
    run_in_transaction(engine, lambda c: platforms.set_status(c, 2, lanmao_client.platform_no, platforms.DISABLED))
    assert _query(lanmao_client).data["errorCode"] == "100005"


def test_unknown_key_serial_is_100003(lanmao_client: LanmaoClient) -> None:
    form = lanmao_client.build_form("QUERY_USER_INFORMATION", {"platformUserNo": "SYS_GENERATE_002"})
    form["keySerial"] = "7"
    result = lanmao_client.read_result(lanmao_client.post_form("service", form))
    assert result.data["errorCode"] == "100003"
    assert "keySerial" in result.data["errorMessage"]


def test_key_rotation_second_serial_works(lanmao_client: LanmaoClient, engine) -> None:
    new_key = signing.generate_private_key()
    run_in_transaction(engine, lambda c: platforms.add_key(
        c, 3, platform_no=lanmao_client.platform_no, key_serial="2", public_key_pem=signing.public_key_pem(new_key)))
    rotated = LanmaoClient(lanmao_client.base_url, lanmao_client.platform_no, new_key,
                           lanmao_client.bank_public_key, key_serial="2")
    try:
        assert _query(rotated).outcome == "S"
        assert _query(lanmao_client).outcome == "S"  # serial 1 keeps working
        # the new key under the old serial does not verify
        wrong = LanmaoClient(lanmao_client.base_url, lanmao_client.platform_no, new_key,
                             lanmao_client.bank_public_key, key_serial="1", http=rotated.http)
        assert _query(wrong).data["errorCode"] == "100003"
        run_in_transaction(engine, lambda c: platforms.revoke_key(c, platform_no=lanmao_client.platform_no,
                                                                   key_serial="1"))
        assert _query(lanmao_client).data["errorCode"] == "100003"
        assert _query(rotated).outcome == "S"
    finally:
        rotated.close()


def test_a_platform_cannot_sign_for_another(make_lanmao_platform) -> None:
    a = make_lanmao_platform("6000000001")
    b = make_lanmao_platform("6000000002")
    form = a.build_form("QUERY_USER_INFORMATION", {"platformUserNo": "SYS_GENERATE_002"})
    form["platformNo"] = b.platform_no
    result = a.read_result(a.post_form("service", form))
    assert result.data["errorCode"] == "100003"


def test_bad_json_is_100002(lanmao_client: LanmaoClient) -> None:
    result = lanmao_client.call("QUERY_USER_INFORMATION", '{"platformUserNo": "SYS_GENERATE_002",')
    assert result.data["errorCode"] == "100002"
    assert "reqData" in result.data["errorMessage"]
    assert result.outcome == "P"
    operate = lanmao_client.call("FREEZE", "[1, 2]")
    assert operate.data["errorCode"] == "100002" and operate.outcome == "F"


def test_timestamp_window(lanmao_client: LanmaoClient, live_server) -> None:
    now = dt.datetime(2026, 11, 23, 4, 0, 0, tzinfo=dt.UTC)
    live_server.app.state.clock = FixedClock(now)
    for delta_s, ok in [(-600, True), (600, True), (-590, True), (590, True), (-601, False), (601, False),
                        (-86400, False), (3600, False)]:
        ts = (now + dt.timedelta(seconds=delta_s)).astimezone(BEIJING).strftime("%Y%m%d%H%M%S")
        result = _query(lanmao_client, timestamp=ts)
        if ok:
            assert result.outcome == "S", (delta_s, result.data)
        else:
            assert result.data["errorCode"] == "100002", delta_s
            assert "timestamp" in result.data["errorMessage"]
            assert ("ahead of" if delta_s > 0 else "behind") in result.data["errorMessage"]


def test_malformed_or_missing_timestamp_is_100002(lanmao_client: LanmaoClient) -> None:
    for ts in ["", None, "2026-11-23 12:00:00", "20261323120000", "2026112312000", 12, ["20261123120000"]]:
        result = _query(lanmao_client, timestamp=ts)
        assert result.data["errorCode"] == "100002" and "timestamp" in result.data["errorMessage"], ts


def test_timestamp_is_beijing_time(lanmao_client: LanmaoClient, live_server) -> None:
    now = dt.datetime(2026, 11, 23, 4, 0, 0, tzinfo=dt.UTC)
    live_server.app.state.clock = FixedClock(now)
    assert _query(lanmao_client, timestamp="20261123120000").outcome == "S"  # 12:00 Beijing = 04:00 UTC
    assert _query(lanmao_client, timestamp="20261123040000").data["errorCode"] == "100002"  # UTC sent as is


def test_unknown_service_is_100006(lanmao_client: LanmaoClient) -> None:
    result = lanmao_client.call("NO_SUCH_SERVICE", {"platformUserNo": "x"})
    assert result.data["errorCode"] == "100006" and "NO_SUCH_SERVICE" in result.data["errorMessage"]
    result = lanmao_client.call("BACKROLL_RECHARGE", {})  # notify-only: never requested
    assert result.data["errorCode"] == "100006"


def test_service_on_the_wrong_endpoint_is_100006(lanmao_client: LanmaoClient) -> None:
    result = lanmao_client.call("RECHARGE", {"platformUserNo": "x", "requestNo": "r1"})
    assert result.data["errorCode"] == "100006"
    assert "gateway" in result.data["errorMessage"]
    assert result.data["requestNo"] == "r1"


def test_known_but_unbuilt_gateway_service_shows_an_error_page(lanmao_client: LanmaoClient, live_server) -> None:
    live_server.app.state.lanmao_registry = Registry()  # as if no room had registered RECHARGE yet
    form = lanmao_client.build_form("RECHARGE", {"platformUserNo": "u1", "requestNo": "r1"})
    response = lanmao_client.post_form("gateway", form)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "100006" in response.text and "RECHARGE" in response.text


def test_gateway_signature_failure_is_an_error_page(lanmao_client: LanmaoClient) -> None:
    form = lanmao_client.build_form("RECHARGE", {"platformUserNo": "u1"})
    form["sign"] = form["sign"][::-1]
    response = lanmao_client.post_form("gateway", form)
    assert response.status_code == 200 and "100003" in response.text


def test_download_failure_is_json_init(lanmao_client: LanmaoClient) -> None:
    tomorrow = (dt.datetime.now(BEIJING) + dt.timedelta(days=1)).strftime("%Y%m%d")  # no file yet: 100007
    result = lanmao_client.download({"fileDate": tomorrow})
    assert result.outcome == "F"
    assert result.error is not None and result.error["status"] == "INIT" and result.error["errorCode"] == "100007"
    result = lanmao_client.download({"fileDate": "2026-11-22"})  # not yyyyMMdd: 100002
    assert result.outcome == "F" and result.error is not None and result.error["errorCode"] == "100002"


def test_userdevice_and_multipart_accepted(lanmao_client: LanmaoClient) -> None:
    lanmao_client.user_device = "MOBILE"
    assert _query(lanmao_client).outcome == "S"
    form = lanmao_client.build_form("QUERY_USER_INFORMATION", {"platformUserNo": "SYS_GENERATE_001"})
    response = httpx.post(f"{lanmao_client.base_url}/service", files={k: (None, v) for k, v in form.items()},
                          timeout=30)
    assert wire.loads(response.content)["userRole"] == "PLATFORM_COMPENSATORY"
