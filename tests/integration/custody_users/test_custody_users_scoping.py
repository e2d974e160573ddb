"""A platform never sees another platform's users, even with the same platformUserNo."""

import pytest

from cunguan.custody import authorizations, cards, users
from cunguan.custody.user_errors import UserNotFound
from cunguan.db.tx import run_in_transaction

from .conftest import P1, P2, PASSWORD


def test_same_user_no_on_two_platforms_are_two_users(svc):
    svc.register("u1", platform_no=P1, role="INVESTOR")
    svc.register("u1", platform_no=P2, role="BORROWERS")
    one = svc(users.query_user_information, users.QueryUserInformationRequest("u1"), platform_no=P1)
    two = svc(users.query_user_information, users.QueryUserInformationRequest("u1"), platform_no=P2)
    assert (one.user_role, two.user_role) == ("INVESTOR", "BORROWERS")
    assert one.bankcard_no != two.bankcard_no


def test_other_platform_cannot_reach_a_user(svc):
    svc.register("u1", platform_no=P1, auth_list="TENDER")
    with pytest.raises(UserNotFound):
        svc(users.query_user_information, users.QueryUserInformationRequest("u1"), platform_no=P2)
    with pytest.raises(UserNotFound):
        svc(cards.unbind_bankcard, cards.UnbindBankcardRequest("UNB-1", "u1", password=PASSWORD), platform_no=P2)
    with pytest.raises(UserNotFound):
        run_in_transaction(svc.engine, lambda c: authorizations.require_authorization(
            c, P2, "u1", "TENDER", 1, svc.clock.now()))
    run_in_transaction(svc.engine, lambda c: authorizations.require_authorization(
        c, P1, "u1", "TENDER", 1, svc.clock.now()))
