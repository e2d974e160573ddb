"""Exceptions -> (call code, errorCode, errorMessage), and the envelope bodies (protocol §1.6, §4.2)."""

from __future__ import annotations

from decimal import Decimal

from cunguan.api.lanmao import responses
from cunguan.api.lanmao.errors import to_wire_error
from cunguan.api.lanmao.registry import KNOWN_SERVICES, Registry
from cunguan.custody import errors
from cunguan.ledger.errors import InsufficientAvailable, UnknownFreeze
from cunguan.money import AmountError


def test_custody_errors_carry_code_and_vendor_text() -> None:
    err = to_wire_error(errors.BadSignature("sign does not verify", field="sign"))
    assert err is not None and (err.call_code, err.error_code) == ("1", "100003")
    assert err.message == "签名验证失败：sign does not verify"


def test_other_rooms_errors_are_mapped_by_shape() -> None:
    class Foreign(Exception):
        code = "100009"
        message = "platformUserNo: user does not exist"

    class Pending(Exception):
        code = "100020"
        call_code = "0"
        message = "交易处理中"

    err = to_wire_error(Foreign())
    assert err is not None and err.error_code == "100009" and err.message.startswith("用户不存在：")
    pending = to_wire_error(Pending())
    assert pending is not None and pending.call_code == "0" and pending.message == "交易处理中"


def test_amount_and_ledger_errors() -> None:
    err = to_wire_error(AmountError("amount has more than 2 decimals"))
    assert err is not None and err.error_code == "100002" and "amount" in err.message
    assert to_wire_error(InsufficientAvailable("short")).error_code == "100014"  # type: ignore[union-attr]
    assert to_wire_error(UnknownFreeze("x")).error_code == "100008"  # type: ignore[union-attr]


def test_unexpected_errors_are_not_mapped() -> None:
    assert to_wire_error(RuntimeError("boom")) is None
    assert to_wire_error(KeyError("code")) is None

    class Looks(Exception):
        code = "LEDGER"
        message = "x"

    assert to_wire_error(Looks()) is None


def test_every_vendor_code_has_text() -> None:
    for n in range(1, 21):
        assert f"1000{n:02d}" in errors.CODE_TEXT


def test_success_body_order_and_overrides() -> None:
    body = responses.success_body({"amount": Decimal("1.00")}, {"requestNo": "R1"})
    assert list(body) == ["code", "status", "requestNo", "amount"]
    assert responses.render_json(body) == b'{"code":"0","status":"SUCCESS","requestNo":"R1","amount":1.00}'
    pending = responses.success_body({"status": "INIT"}, {})
    assert pending == {"code": "0", "status": "INIT"}


def test_error_body() -> None:
    body = responses.error_body("1", "100013", "请求流水号重复", "R1")
    assert responses.render_json(body) == (
        '{"code":"1","status":"INIT","errorCode":"100013","errorMessage":"请求流水号重复","requestNo":"R1"}'
    ).encode()


def test_request_no_echo_rules() -> None:
    assert responses.echo_request_no({"requestNo": "abc"}) == "abc"
    for bad in (None, "", "x" * 51, "a\nb", 12, {"a": 1}):
        assert responses.echo_request_no({"requestNo": bad}) is None


def test_registry_modes() -> None:
    registry = Registry()
    registry.register("QUERY_USER_INFORMATION", lambda ctx, req: {})
    assert registry.get("QUERY_USER_INFORMATION").mode == "service"  # type: ignore[union-attr]
    for call in (lambda: registry.register("QUERY_USER_INFORMATION", lambda c, r: {}),
                 lambda: registry.register("RECHARGE", lambda c, r: {}, mode="service"),
                 lambda: registry.register("MY_OWN", lambda c, r: {})):
        try:
            call()
        except ValueError:
            continue
        raise AssertionError("should have been refused")
    registry.register("QUERY_USER_INFORMATION", lambda ctx, req: {"x": 1}, replace=True)
    assert KNOWN_SERVICES["DOWNLOAD_CHECKFILE"] == "download" and KNOWN_SERVICES["RECHARGE"] == "gateway"
