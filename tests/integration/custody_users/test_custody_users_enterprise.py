import pytest
from sqlalchemy import select

from cunguan.custody import enterprise, reviews, users
from cunguan.custody.sample_identities import make_uscc
from cunguan.custody.user_errors import (
    CustodyUserError,
    DuplicateRequest,
    InvalidField,
    UserNotFound,
    WrongState,
)
from cunguan.db.tables.custody_users import custody_enterprises, custody_user_reviews
from cunguan.db.tables.notify import notify_outbox
from cunguan.db.tx import run_in_transaction

from .conftest import P1, P2


def _query(svc, user_no, platform_no=P1):
    return svc(users.query_user_information, users.QueryUserInformationRequest(user_no), platform_no=platform_no)


def test_enterprise_register_waits_for_review(svc):
    result = svc(enterprise.enterprise_register, svc.enterprise_request("e1"))
    assert (result.audit_status, result.user_role, result.bankcode) == ("AUDIT", "BORROWERS", "COMM")
    assert result.bankcard_no.startswith("110060") and "149018000" not in result.bankcard_no
    info = _query(svc, "e1")
    assert (info.user_type, info.access_type, info.active_status) == ("ORGANIZATION", "PART_CHECKED", "DEACTIVATED")
    assert info.name == "懒猫科技有限公司"


def test_review_passed_activates_and_notifies(platforms_on, svc):
    svc(enterprise.enterprise_register, svc.enterprise_request("e1"))
    review = run_in_transaction(svc.engine, lambda c: reviews.review_user(
        c, svc.clock, P1, "e1", operator_id="op-7", decision="PASSED", remark="资料齐全"))
    assert (review.audit_status, review.active_status) == ("PASSED", "ACTIVATED")
    assert review.service_name == "ENTERPRISE_REGISTER"
    assert review.resp_data["auditStatus"] == "PASSED" and review.resp_data["requestNo"] == "EREG-e1"
    assert review.resp_data["remark"] == "资料齐全" and review.resp_data["code"] == "0"
    queued = svc.read(lambda c: c.execute(select(notify_outbox)).mappings().all())
    assert [(q["platform_no"], q["service_name"], q["notify_url"]) for q in queued] == [
        (P1, "ENTERPRISE_REGISTER", f"http://127.0.0.1:9/notify/{P1}")]
    assert '"auditStatus":"PASSED"' in queued[0]["resp_data"]
    assert _query(svc, "e1").active_status == "ACTIVATED"
    rows = svc.read(lambda c: c.execute(select(custody_user_reviews)).mappings().all())
    assert [(r["operator_id"], r["from_status"], r["to_status"]) for r in rows] == [("op-7", "AUDIT", "PASSED")]
    with pytest.raises(WrongState):
        run_in_transaction(svc.engine, lambda c: reviews.review_user(
            c, svc.clock, P1, "e1", operator_id="op-7", decision="REFUSED"))


def _review(svc, user_no, decision, platform_no=P1, remark=None):
    return run_in_transaction(svc.engine, lambda c: reviews.review_user(
        c, svc.clock, platform_no, user_no, operator_id="op-1", decision=decision, remark=remark))


def test_back_then_information_update_then_passed(platforms_on, svc, assert_nothing_written):
    svc(enterprise.enterprise_register, svc.enterprise_request("e1"))
    back = _review(svc, "e1", "BACK", remark="开户许可证模糊")
    assert (back.audit_status, back.active_status) == ("BACK", "DEACTIVATED")
    # a fresh request with nothing to update is refused
    with assert_nothing_written(), pytest.raises(InvalidField):
        svc(enterprise.enterprise_information_update,
            enterprise.EnterpriseInformationUpdateRequest("UPD-0", "e1"))
    upd = svc(enterprise.enterprise_information_update,
              enterprise.EnterpriseInformationUpdateRequest("UPD-1", "e1", bank_license="J1000099999901"))
    assert upd.audit_status == "AUDIT"
    doc = svc.read(lambda c: c.execute(select(custody_enterprises)).mappings().one())
    assert doc["bank_license"] == "J1000099999901" and doc["enterprise_name"] == "懒猫科技有限公司"
    # while in review it cannot be updated again
    with assert_nothing_written(), pytest.raises(WrongState):
        svc(enterprise.enterprise_information_update,
            enterprise.EnterpriseInformationUpdateRequest("UPD-2", "e1", contact="赵六"))
    passed = _review(svc, "e1", "PASSED")
    assert passed.service_name == "ENTERPRISE_INFORMATION_UPDATE" and passed.resp_data["requestNo"] == "UPD-1"
    assert _query(svc, "e1").active_status == "ACTIVATED"


def test_refused_is_final(platforms_on, svc, assert_nothing_written):
    svc(enterprise.enterprise_register, svc.enterprise_request("e1"))
    refused = _review(svc, "e1", "REFUSED")
    assert (refused.audit_status, refused.active_status) == ("REFUSED", "DEACTIVATED")
    with assert_nothing_written(), pytest.raises(WrongState):
        svc(enterprise.enterprise_information_update,
            enterprise.EnterpriseInformationUpdateRequest("UPD-1", "e1", contact="赵六"))


def test_invalid_review_decision_and_unknown_user(platforms_on, svc):
    svc(enterprise.enterprise_register, svc.enterprise_request("e1"))
    with pytest.raises(InvalidField, match="auditStatus"):
        _review(svc, "e1", "MAYBE")
    with pytest.raises(UserNotFound):
        _review(svc, "e1", "PASSED", platform_no=P2)


def test_three_certificates_instead_of_uscc(svc):
    req = svc.enterprise_request("e1", unified_code=None, org_no="60003734-1", business_license="110000000000001",
                                 tax_no="110105600037341")
    assert svc(enterprise.enterprise_register, req).audit_status == "AUDIT"


INVALID_CASES = [
    ({"unified_code": make_uscc()[:-1] + "0" if not make_uscc().endswith("0") else make_uscc()[:-1] + "1"},
     "unifiedCode"),
    ({"unified_code": None, "org_no": "60003734-1"}, "unifiedCode"),
    ({"bankcode": "HSBC"}, "bankcode"),
    ({"bankcard_no": "12"}, "bankcardNo"),
    ({"legal_id_card_no": "110105199001011230"}, "legalIdCardNo"),
    ({"id_card_type": None}, "idCardType"),
    ({"contact_phone": "phone"}, "contactPhone"),
    ({"user_role": "PLATFORM_INCOME"}, "userRole"),
    ({"bank_license": ""}, "bankLicense"),
    ({"enterprise_name": ""}, "enterpriseName"),
]


def test_enterprise_invalid_fields_write_nothing(svc, assert_nothing_written):
    with assert_nothing_written():
        for override, field in INVALID_CASES:
            with pytest.raises(CustodyUserError) as exc:
                svc(enterprise.enterprise_register, svc.enterprise_request("e1", **override))
            assert exc.value.field == field, override
            assert exc.value.code in ("100002", "100012")


def test_enterprise_duplicate_request_no(svc, assert_nothing_written):
    svc(enterprise.enterprise_register, svc.enterprise_request("e1"))
    with assert_nothing_written(), pytest.raises(DuplicateRequest):
        svc(enterprise.enterprise_register, svc.enterprise_request("e2", request_no="EREG-e1"))


def test_passport_person_review_frees_id_when_refused(platforms_on, svc):
    person = svc.new_person("u1", on_bank=False)
    svc(users.personal_register, svc.register_request(person, id_card_type="PASSPORT", id_card_no="E12345678"))
    refused = _review(svc, "u1", "REFUSED")
    assert refused.service_name == "PERSONAL_REGISTER_EXPAND"
    assert refused.resp_data["accessType"] == "AUDIT_AUTH" and "E12345678" not in str(refused.resp_data)
    again = svc.new_person("u2", on_bank=False)
    result = svc(users.personal_register, svc.register_request(again, id_card_type="PASSPORT",
                                                                 id_card_no="E12345678"))
    assert result.audit_status == "AUDIT"
    assert [u.platform_user_no for u in svc.read(lambda c: reviews.pending_reviews(c, P1))] == ["u2"]


def test_review_without_a_platform_writes_nothing(svc, assert_nothing_written):
    from cunguan.custody.errors import PlatformNotFound

    svc(enterprise.enterprise_register, svc.enterprise_request("e1"))
    with assert_nothing_written(), pytest.raises(PlatformNotFound):
        _review(svc, "e1", "PASSED")
    assert _query(svc, "e1").audit_status == "AUDIT"
