"""The demo platform's receiving end on the bank's server: a NOTIFY signed by the bank is answered
SUCCESS (so the outbox stops retrying), a forged one is refused; the page CALLBACK is shown."""

from __future__ import annotations

import json

import httpx

from cunguan.custody import platforms


def test_demo_platform_accepts_only_bank_signed_results(live_server) -> None:
    engine = live_server.app.state.engine
    sign = platforms.bank_signer(engine, getattr(live_server.app.state, "settings", None))
    resp_data = json.dumps({"code": "0", "status": "SUCCESS", "requestNo": "R-<1>"}, ensure_ascii=False)
    form = {"serviceName": "RECHARGE", "platformNo": "6000000001", "responseType": "NOTIFY",
            "respData": resp_data, "sign": sign(resp_data.encode("utf-8")), "keySerial": "1"}

    ok = httpx.post(f"{live_server}/demo-platform/notify", data=form, timeout=10)
    assert ok.status_code == 200 and ok.text == "SUCCESS"

    forged = httpx.post(f"{live_server}/demo-platform/notify",
                        data={**form, "respData": resp_data.replace("SUCCESS", "FAIL")}, timeout=10)
    assert forged.status_code == 400 and forged.text != "SUCCESS"
    assert httpx.post(f"{live_server}/demo-platform/notify", data={"x": "1"}, timeout=10).status_code == 400

    page = httpx.post(f"{live_server}/demo-platform/return", data=form, timeout=10)
    assert page.status_code == 200 and "演示平台已收到结果：RECHARGE" in page.text
    assert "R-&lt;1&gt;" in page.text  # escaped, never raw markup from the wire
