"""The payment cloud's router and request checks, with in-memory adapters (no database), and the
simulator's notification signature check (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pytest

from cunguan.clock import UTC, FixedClock
from cunguan.payments.gateway import (
    BankNotSupported,
    InvalidPayRequest,
    NotificationRejected,
    PayCompany,
    PayCompanyNotEnabled,
    PaymentCloud,
    PayNotification,
    PayRequest,
    PayResult,
    PayStatus,
    PayType,
    PayWayNotSupported,
    RechargeWay,
    StartAnswer,
    StartResult,
    UnknownPayCompany,
)
from cunguan.payments.simulator import CompanyProfile, PaymentCompanySimulator, fee_for, sign_fields

SWIFT = dict(way=RechargeWay.SWIFT, bankcode="ICBK", card_no="6222020200112233445", mobile="13800138000")


class FakeCompany:
    def __init__(self, code: PayCompany, ways=frozenset(RechargeWay), banks=frozenset({"ICBK", "PCBC"})):
        self._code = code
        self.ways = ways
        self.banks = banks
        self.started: list[PayRequest] = []

    @property
    def code(self) -> PayCompany:
        return self._code

    def supports(self, way, pay_type, bankcode) -> None:
        if way not in self.ways:
            raise PayWayNotSupported(str(way))
        if bankcode is not None and bankcode not in self.banks:
            raise BankNotSupported(bankcode)

    def start(self, req: PayRequest) -> StartResult:
        self.started.append(req)
        return StartResult(StartAnswer.ACCEPTED, f"{self._code}-{req.order_no}")

    def query(self, order_no: str) -> PayResult:
        return PayResult(PayStatus.PENDDING, order_no)

    def parse_notification(self, fields: Mapping[str, str]) -> PayNotification:
        raise NotificationRejected("fake")


def test_payments_routes_by_expect_pay_company():
    yee, fuiou = FakeCompany(PayCompany.YEEPAY), FakeCompany(PayCompany.FUIOU)
    cloud = PaymentCloud([yee, fuiou])
    assert cloud.enabled == [PayCompany.FUIOU, PayCompany.YEEPAY]
    res = cloud.start("FUIOU", PayRequest("R1", 100, **SWIFT))
    assert res.company_order_no == "FUIOU-R1"
    assert [r.order_no for r in fuiou.started] == ["R1"] and yee.started == []
    cloud.start("YEEPAY", PayRequest("R2", 100, RechargeWay.WEB, pay_type=PayType.B2B, bankcode="PCBC"))
    assert [r.order_no for r in yee.started] == ["R2"]
    assert cloud.query("YEEPAY", "R2").status is PayStatus.PENDDING


def test_payments_unknown_or_disabled_company_is_typed():
    cloud = PaymentCloud([FakeCompany(PayCompany.YEEPAY)])
    with pytest.raises(UnknownPayCompany) as err:
        cloud.start("PAYPAL", PayRequest("R1", 100, **SWIFT))
    assert err.value.wire_code == "100006"
    with pytest.raises(PayCompanyNotEnabled) as err2:
        cloud.start("BAOFOO", PayRequest("R1", 100, **SWIFT))
    assert err2.value.wire_code == "100006"
    with pytest.raises(NotificationRejected):
        cloud.parse_notification("PAYPAL", {})


def test_payments_way_and_bank_support_are_typed():
    cloud = PaymentCloud([FakeCompany(PayCompany.LIANLIAN, ways=frozenset({RechargeWay.SWIFT}))])
    with pytest.raises(PayWayNotSupported) as err:
        cloud.start("LIANLIAN", PayRequest("R1", 100, RechargeWay.WEB, pay_type=PayType.B2C, bankcode="ICBK"))
    assert err.value.wire_code == "100006"
    with pytest.raises(BankNotSupported) as err2:
        cloud.start("LIANLIAN", PayRequest("R1", 100, **{**SWIFT, "bankcode": "CMBC"}))
    assert err2.value.wire_code == "100012"
    with pytest.raises(BankNotSupported):
        cloud.start("LIANLIAN", PayRequest("R1", 100, **{**SWIFT, "bankcode": "XXXX"}))
    with pytest.raises(PayWayNotSupported):
        PayRequest("R1", 100, "BANK")  # type: ignore[arg-type]


@pytest.mark.parametrize(("kw", "field"), [
    ({**SWIFT, "bankcode": None}, "bankcode"),
    ({**SWIFT, "card_no": "1234"}, "card_no"),
    ({**SWIFT, "mobile": "02112345678"}, "mobile"),
    ({**SWIFT, "pay_type": PayType.B2C}, "pay_type"),
    ({"way": RechargeWay.WEB, "bankcode": "ICBK"}, "pay_type"),
    ({"way": RechargeWay.WEB, "pay_type": "B2C", "mobile": "13800138000"}, "SWIFT only"),
])
def test_payments_request_checks_name_the_field(kw, field):
    cloud = PaymentCloud([FakeCompany(PayCompany.YEEPAY)])
    with pytest.raises(InvalidPayRequest) as err:
        cloud.start("YEEPAY", PayRequest("R1", 100, **kw))
    assert field in str(err.value)


@pytest.mark.parametrize("amount", [0, -1, True])
def test_payments_request_amount_must_be_positive_fen(amount):
    with pytest.raises(InvalidPayRequest):
        PayRequest("R1", amount, **SWIFT).validate()
    with pytest.raises(InvalidPayRequest):
        PayRequest("", 100, **SWIFT).validate()


def test_payments_web_without_bank_goes_to_the_cashier():
    PayRequest("R1", 100, RechargeWay.WEB).validate()  # no bankcode: the company's cashier page
    PayRequest("R1", 100, "WEB", pay_type="B2B", bankcode="ICBK").validate()  # wire strings accepted


def _sim(profile: CompanyProfile | None = None) -> PaymentCompanySimulator:
    clock = FixedClock(dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    return PaymentCompanySimulator(None, clock, "YEEPAY", profile=profile)  # type: ignore[arg-type]


def _fields(**over: str) -> dict[str, str]:
    f = {"company": "YEEPAY", "notifyId": "N1-SUCCESS", "orderNo": "R1", "companyOrderNo": "N1",
         "status": "SUCCESS", "amountFen": "10000", "feeFen": "20", "paidAt": "2026-11-23T02:00:00+00:00",
         "errorCode": "", "errorMessage": "", **over}
    f["sign"] = sign_fields(f, CompanyProfile().secret)
    return f


def test_payments_notification_signature_is_verified():
    sim = _sim()
    note = sim.parse_notification(_fields())
    assert (note.status, note.amount_fen, note.fee_fen) == (PayStatus.SUCCESS, 10_000, 20)
    tampered = {**_fields(), "amountFen": "99999"}
    with pytest.raises(NotificationRejected, match="signature"):
        sim.parse_notification(tampered)
    with pytest.raises(NotificationRejected, match="another company"):
        sim.parse_notification(_fields(company="FUIOU"))
    with pytest.raises(NotificationRejected):
        sim.parse_notification(_fields(status="PENDDING"))
    with pytest.raises(NotificationRejected):
        sim.parse_notification(_fields(paidAt=""))  # SUCCESS without a pay time
    with pytest.raises(NotificationRejected):
        sim.parse_notification({k: v for k, v in _fields().items() if k != "feeFen"})
    other_key = _sim(CompanyProfile(secret=b"other"))
    with pytest.raises(NotificationRejected):
        other_key.parse_notification(_fields())


def test_payments_simulator_offer_and_fee():
    sim = _sim(CompanyProfile(ways=frozenset({RechargeWay.WEB}), pay_types=frozenset({PayType.B2C}),
                              banks=frozenset({"ICBK"})))
    sim.supports(RechargeWay.WEB, PayType.B2C, "ICBK")
    with pytest.raises(PayWayNotSupported):
        sim.supports(RechargeWay.SWIFT, None, "ICBK")
    with pytest.raises(PayWayNotSupported):
        sim.supports(RechargeWay.WEB, PayType.B2B, "ICBK")
    with pytest.raises(BankNotSupported):
        sim.supports(RechargeWay.WEB, PayType.B2C, "PCBC")
    assert fee_for(10_000, 20) == 20
    assert fee_for(2_499, 20) == 5  # 4.998 -> 5 (half up)
    assert fee_for(2_474, 20) == 5 and fee_for(2_475, 20) == 5 and fee_for(2_474, 0) == 0
    assert fee_for(1, 20_000) == 1  # never above the amount
