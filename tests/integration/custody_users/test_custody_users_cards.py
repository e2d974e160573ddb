import pytest
from sqlalchemy import select

from cunguan.custody import cards, enterprise, users
from cunguan.custody.sample_identities import make_card
from cunguan.custody.user_errors import (
    AlreadyAudited,
    CardHolderMismatch,
    CardMobileMismatch,
    DuplicateRequest,
    QueryTargetNotFound,
    UserNotFound,
    UserUnavailable,
    WrongState,
)
from cunguan.db.tables.custody_users import custody_card_changes

from .conftest import P1, P2, PASSWORD


def _info(svc, user_no="u1", platform_no=P1):
    return svc(users.query_user_information, users.QueryUserInformationRequest(user_no), platform_no=platform_no)


def _new_card(svc, person, serial, bin_prefix="622848", mobile=None):
    card = make_card(bin_prefix, serial=serial)
    svc.bank.add_card(card, real_name=person.name, id_card_no=person.id_card_no, mobile=mobile or person.mobile)
    return card


def _bind(person, card, request_no, mobile=None):
    return cards.PersonalBindBankcardRequest(request_no, person.user_no, bankcard_no=card,
                                             mobile=mobile or person.mobile, bind_type="UPDATE_BANKCARD")


def test_card_change_waits_for_audit_then_passes_once(svc, assert_nothing_written):
    person, _ = svc.register("u1")
    new_card = _new_card(svc, person, 900)
    result = svc(cards.personal_bind_bankcard, _bind(person, new_card, "BIND-1"))
    assert (result.audit_status, result.bankcode) == ("AUDIT", "ABOC")
    assert _info(svc).bankcode == "ICBK"  # still the old card
    audit = svc(cards.audit_bind_card, cards.AuditBindCardRequest("AUD-1", "BIND-1", "PASSED"))
    assert audit.platform_user_no == "u1"
    info = _info(svc)
    assert info.bankcode == "ABOC" and info.bankcard_no.endswith(new_card[-4:])
    with assert_nothing_written(), pytest.raises(AlreadyAudited, match="已经审核") as exc:
        svc(cards.audit_bind_card, cards.AuditBindCardRequest("AUD-2", "BIND-1", "PASSED"))
    assert exc.value.call_code == "0"


def test_refused_change_keeps_the_old_card(svc):
    person, _ = svc.register("u1")
    svc(cards.personal_bind_bankcard, _bind(person, _new_card(svc, person, 901), "BIND-1"))
    svc(cards.audit_bind_card, cards.AuditBindCardRequest("AUD-1", "BIND-1", "REFUSED"))
    assert _info(svc).bankcode == "ICBK"


def test_audit_of_unknown_or_other_platform_change_is_not_found(svc, assert_nothing_written):
    person, _ = svc.register("u1")
    svc(cards.personal_bind_bankcard, _bind(person, _new_card(svc, person, 902), "BIND-1"))
    with assert_nothing_written():
        with pytest.raises(QueryTargetNotFound, match="不存在"):
            svc(cards.audit_bind_card, cards.AuditBindCardRequest("AUD-1", "NOPE", "PASSED"))
        with pytest.raises(QueryTargetNotFound):
            svc(cards.audit_bind_card, cards.AuditBindCardRequest("AUD-1", "BIND-1", "PASSED"), platform_no=P2)


def test_newer_change_supersedes_pending_one(svc):
    person, _ = svc.register("u1")
    svc(cards.personal_bind_bankcard, _bind(person, _new_card(svc, person, 903), "BIND-1"))
    svc(cards.personal_bind_bankcard, _bind(person, _new_card(svc, person, 904, "621700"), "BIND-2"))
    with pytest.raises(AlreadyAudited, match="CANCELLED"):
        svc(cards.audit_bind_card, cards.AuditBindCardRequest("AUD-1", "BIND-1", "PASSED"))
    svc(cards.audit_bind_card, cards.AuditBindCardRequest("AUD-2", "BIND-2", "PASSED"))
    assert _info(svc).bankcode == "PCBC"


def test_unbind_then_bind_takes_effect_at_once(svc, assert_nothing_written):
    person, _ = svc.register("u1")
    svc(cards.unbind_bankcard, cards.UnbindBankcardRequest("UNB-1", "u1", password=PASSWORD))
    info = _info(svc)
    assert info.bankcard_no is None and info.bankcode is None
    with assert_nothing_written(), pytest.raises(WrongState, match="no bound card"):
        svc(cards.unbind_bankcard, cards.UnbindBankcardRequest("UNB-2", "u1", password=PASSWORD))
    result = svc(cards.personal_bind_bankcard, _bind(person, _new_card(svc, person, 905), "BIND-1"))
    assert result.audit_status == "PASSED" and _info(svc).bankcode == "ABOC"
    history = svc.read(lambda c: c.execute(select(custody_card_changes.c.service_name, custody_card_changes.c.status)
                                           .order_by(custody_card_changes.c.id)).all())
    assert [tuple(h) for h in history] == [("PERSONAL_REGISTER_EXPAND", "PASSED"),
                                           ("PERSONAL_BIND_BANKCARD_EXPAND", "PASSED")]


def test_bind_refusals_write_nothing(svc, assert_nothing_written):
    person, _ = svc.register("u1")
    stranger_card = make_card("622848", serial=906)
    svc.bank.add_card(stranger_card, real_name="李四", id_card_no=person.id_card_no, mobile=person.mobile)
    with assert_nothing_written():
        with pytest.raises(CardHolderMismatch):
            svc(cards.personal_bind_bankcard, _bind(person, stranger_card, "BIND-1"))
        with pytest.raises(WrongState, match="already"):
            svc(cards.personal_bind_bankcard, _bind(person, person.card, "BIND-1"))
        with pytest.raises(UserNotFound):
            svc(cards.personal_bind_bankcard, _bind(person, _new_card(svc, person, 907), "BIND-1"), platform_no=P2)
        with pytest.raises(DuplicateRequest):
            svc(cards.personal_bind_bankcard, _bind(person, _new_card(svc, person, 908), "REG-u1"))


def test_modify_mobile_checks_the_new_number_at_the_bank(svc, assert_nothing_written):
    person, _ = svc.register("u1")
    with assert_nothing_written(), pytest.raises(CardMobileMismatch):
        svc(cards.modify_mobile, cards.ModifyMobileRequest("MOB-1", "u1", mobile="13900000001", check_type="LIMIT"))
    svc.bank.set_mobile(person.card, "13900000001")
    result = svc(cards.modify_mobile, cards.ModifyMobileRequest("MOB-1", "u1", mobile="13900000001"))
    assert result.mobile == "13900000001" and result.bankcode == "ICBK"
    assert _info(svc).mobile == "13900000001"
    with assert_nothing_written(), pytest.raises(WrongState, match="already"):
        svc(cards.modify_mobile, cards.ModifyMobileRequest("MOB-2", "u1", mobile="13900000001"))


def test_enterprise_card_binding(platforms_on, svc, assert_nothing_written):
    from cunguan.custody import reviews
    from cunguan.db.tx import run_in_transaction

    svc(enterprise.enterprise_register, svc.enterprise_request("e1"))
    req = cards.EnterpriseBindBankcardRequest("EB-1", "e1", bankcard_no="4000023409200123456", bankcode="ICBK")
    with assert_nothing_written(), pytest.raises(UserUnavailable):
        svc(cards.enterprise_bind_bankcard, req)  # still in review
    run_in_transaction(svc.engine, lambda c: reviews.review_user(c, svc.clock, P1, "e1", operator_id="op",
                                                                 decision="PASSED"))
    result = svc(cards.enterprise_bind_bankcard, req)
    assert result.audit_status == "AUDIT" and "0923" not in result.bankcard_no[:-4]
    svc(cards.audit_bind_card, cards.AuditBindCardRequest("AUD-1", "EB-1", "PASSED"))
    assert _info(svc, "e1").bankcode == "ICBK"
    person, _ = svc.register("u1")
    with assert_nothing_written(), pytest.raises(WrongState, match="not an enterprise"):
        svc(cards.enterprise_bind_bankcard,
            cards.EnterpriseBindBankcardRequest("EB-2", "u1", bankcard_no="4000023409200123456", bankcode="ICBK"))


def test_unbind_needs_the_right_trade_password(svc):
    svc.register("u1")
    wrong = svc(cards.unbind_bankcard, cards.UnbindBankcardRequest("UNB-1", "u1", password="not-it-1"))
    assert not wrong.password_ok and _info(svc).bankcode == "ICBK"
    assert svc(cards.unbind_bankcard, cards.UnbindBankcardRequest("UNB-1", "u1", password=PASSWORD)).password_ok
    assert _info(svc).bankcode is None
