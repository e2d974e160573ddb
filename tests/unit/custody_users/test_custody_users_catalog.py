from decimal import Decimal

from cunguan.custody import authorizations, passwords, users
from cunguan.custody.user_catalog import CATALOG, build_request, camel, result_fields


def test_camel_case_names_match_the_protocol():
    assert camel("request_no") == "requestNo"
    assert camel("bankcard_no") == "bankcardNo"
    assert camel("id_card_no") == "idCardNo"
    assert camel("biz_type_description") == "bizTypeDescription"
    assert camel("is_import_user_activate") == "isImportUserActivate"
    assert camel("bankcode") == "bankcode"


def test_every_catalogued_service_has_a_request_type_and_mode():
    user_services = {"PERSONAL_REGISTER_EXPAND", "ENTERPRISE_REGISTER", "PERSONAL_BIND_BANKCARD_EXPAND",
                     "ENTERPRISE_BIND_BANKCARD", "AUDIT_BIND_CARD", "UNBIND_BANKCARD", "MODIFY_MOBILE_EXPAND",
                     "RESET_PASSWORD", "CHECK_PASSWORD", "UNFREEZE_TRADE_PASSWORD", "ENTERPRISE_INFORMATION_UPDATE",
                     "USER_AUTHORIZATION", "CANCEL_USER_AUTHORIZATION", "AUTHORIZATION_ENTRUST_PAY",
                     "QUERY_USER_INFORMATION"}
    assert user_services <= set(CATALOG)  # the money, trade and migration pages join the same catalogue
    for service in CATALOG.values():
        assert service.mode in ("gateway", "service")
        assert service.request_type.__dataclass_fields__


def test_build_request_reads_camel_keys_and_ignores_unknown_ones():
    req = build_request(authorizations.UserAuthorizationRequest,
                        {"requestNo": "R1", "platformUserNo": "u1", "authList": "TENDER", "failTime": "",
                         "amount": Decimal("50.5"), "whatever": 1})
    assert req == authorizations.UserAuthorizationRequest("R1", "u1", "TENDER", "", Decimal("50.5"), None)


def test_passwords_only_come_from_the_page():
    req = build_request(passwords.CheckPasswordRequest,
                        {"requestNo": "R1", "platformUserNo": "u1", "bizTypeDescription": "x", "password": "evil"},
                        page={"password": "typed-by-user"})
    assert req.password == "typed-by-user"
    reset = build_request(passwords.ResetPasswordRequest,
                          {"requestNo": "R1", "platformUserNo": "u1", "idCardNo": "from-platform"}, page={})
    assert reset.id_card_no is None and reset.new_password is None


def test_page_values_win_over_prefill():
    req = build_request(users.PersonalRegisterRequest, {"requestNo": "R1", "mobile": "13800000000"},
                        page={"mobile": "13900000000", "password": "p"})
    assert req.mobile == "13900000000" and req.request_no == "R1"


def test_result_fields_render_fen_as_yuan_and_drop_none():
    result = users.QueryUserInformationResult(
        platform_user_no="u1", user_type="PERSONAL", user_role="INVESTOR", audit_status="PASSED",
        active_status="ACTIVATED", balance_fen=12_345, available_amount_fen=10_000, freeze_amount_fen=2_345,
        bankcode="ICBK", bankcard_no="622202*********0018", mobile="13800000000", auth_list="",
        is_import_user_activate=True, access_type="FULL_CHECKED", id_card_type="PRC_ID", id_card_no=None, name="张三")
    fields = result_fields(result)
    assert fields["balance"] == Decimal("123.45") and fields["availableAmount"] == Decimal("100.00")
    assert fields["freezeAmount"] == Decimal("23.45") and fields["isImportUserActivate"] is True
    assert "idCardNo" not in fields and fields["authList"] == ""
    checked = result_fields(passwords.CheckPasswordResult(True, 5, False, "R1", "u1", "x"))
    assert checked == {"requestNo": "R1", "platformUserNo": "u1", "bizTypeDescription": "x"}
