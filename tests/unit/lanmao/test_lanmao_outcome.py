"""S/F/P as the gem's operate_post decides it (protocol §1.6)."""

from __future__ import annotations

import pytest

from cunguan.client import classify


@pytest.mark.parametrize("status, body, kind, want", [
    (200, {"code": "0", "status": "SUCCESS"}, "operate", "S"),
    (200, {"code": 0, "status": "SUCCESS"}, "operate", "S"),
    (200, {"code": "1", "status": "INIT", "errorCode": "100009"}, "operate", "F"),
    (200, {"code": 1, "status": "INIT"}, "operate", "F"),
    (200, {"code": "0", "status": "INIT"}, "operate", "P"),
    (200, {"code": "sign_valid_fail", "status": "SUCCESS"}, "operate", "P"),
    (200, {"status": "SUCCESS"}, "operate", "P"),
    (500, {"code": "0", "status": "SUCCESS"}, "operate", "P"),
    (502, None, "operate", "P"),
    (404, {"code": "1", "status": "INIT"}, "operate", "F"),
    (404, None, "operate", "P"),
    (200, {"code": "1", "status": "INIT"}, "query", "P"),
    (200, {"code": "0", "status": "SUCCESS"}, "query", "S"),
    (404, {"code": "1", "status": "INIT"}, "query", "P"),
    (200, {"code": "1", "status": "INIT", "errorCode": "100007"}, "download", "F"),
    (200, None, "download", "S"),
    (200, {"code": "0", "status": "SUCCESS"}, "download", "S"),
    (200, None, "operate", "P"),
])
def test_classify(status, body, kind, want) -> None:
    assert classify(status, body, kind=kind) == want
