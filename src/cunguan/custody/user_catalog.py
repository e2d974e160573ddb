"""The user services by serviceName, with the two conversions the wire adapter needs: reqData (a dict
of camelCase keys) → request dataclass, and result dataclass → response fields (camelCase, amounts as
exact yuan `Decimal`). No HTTP here: `run` takes an engine and plain values, so the Lanmao handler is
three lines (see the docstring of `run`).

Page-only inputs (the passwords and, for RESET_PASSWORD, the ID number typed on the bank's page) are
not reqData: the page passes them as `page={...}` with the dataclass field names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from cunguan.clock import Clock
from cunguan.custody import (  # trade core: USER_PRE_TRANSACTION / VERIFY_DEDUCT pages
    authorizations,
    cards,
    enterprise,
    entrust_pay,
    passwords,
    pre_transactions,
    stocked_users,
    trades,
    users,
)
from cunguan.custody import recharges as money_recharges  # money room: RECHARGE page
from cunguan.custody import withdrawals as money_withdrawals  # money room: WITHDRAW page
from cunguan.custody.card_verifier import CardVerifier
from cunguan.db.reads import reading
from cunguan.db.tx import run_in_transaction
from cunguan.money import fen_to_decimal


@dataclass(frozen=True)
class UserService:
    name: str
    mode: str  # "gateway" | "service" (protocol §2.1, §2.6, §2.7)
    function: Callable[..., Any]
    request_type: type
    uses_verifier: bool = False


CATALOG: dict[str, UserService] = {s.name: s for s in (
    UserService("PERSONAL_REGISTER_EXPAND", "gateway", users.personal_register, users.PersonalRegisterRequest, True),
    UserService("ENTERPRISE_REGISTER", "gateway", enterprise.enterprise_register,
                enterprise.EnterpriseRegisterRequest),
    UserService("PERSONAL_BIND_BANKCARD_EXPAND", "gateway", cards.personal_bind_bankcard,
                cards.PersonalBindBankcardRequest, True),
    UserService("ENTERPRISE_BIND_BANKCARD", "gateway", cards.enterprise_bind_bankcard,
                cards.EnterpriseBindBankcardRequest),
    UserService("AUDIT_BIND_CARD", "service", cards.audit_bind_card, cards.AuditBindCardRequest),
    UserService("UNBIND_BANKCARD", "gateway", cards.unbind_bankcard, cards.UnbindBankcardRequest),
    UserService("MODIFY_MOBILE_EXPAND", "gateway", cards.modify_mobile, cards.ModifyMobileRequest, True),
    UserService("RESET_PASSWORD", "gateway", passwords.reset_password, passwords.ResetPasswordRequest),
    UserService("CHECK_PASSWORD", "gateway", passwords.check_password, passwords.CheckPasswordRequest),
    UserService("UNFREEZE_TRADE_PASSWORD", "service", passwords.unfreeze_trade_password,
                passwords.UnfreezeTradePasswordRequest),
    UserService("ENTERPRISE_INFORMATION_UPDATE", "gateway", enterprise.enterprise_information_update,
                enterprise.EnterpriseInformationUpdateRequest),
    UserService("USER_AUTHORIZATION", "gateway", authorizations.user_authorization,
                authorizations.UserAuthorizationRequest),
    UserService("CANCEL_USER_AUTHORIZATION", "service", authorizations.cancel_user_authorization,
                authorizations.CancelUserAuthorizationRequest),
    UserService("AUTHORIZATION_ENTRUST_PAY", "service", entrust_pay.authorization_entrust_pay,
                entrust_pay.AuthorizationEntrustPayRequest),
    UserService("ACTIVATE_STOCKED_USER", "gateway", stocked_users.activate_stocked_user, stocked_users.ActivateStockedUserRequest),
    UserService("QUERY_USER_INFORMATION", "service", users.query_user_information,
                users.QueryUserInformationRequest),
    UserService("USER_PRE_TRANSACTION", "gateway", pre_transactions.user_pre_transaction, pre_transactions.UserPreTransactionRequest),  # noqa: E501
    UserService("VERIFY_DEDUCT", "gateway", trades.verify_deduct, trades.VerifyDeductRequest),
    UserService("RECHARGE", "gateway", money_recharges.recharge, money_recharges.RechargeRequest),
    UserService("WITHDRAW", "gateway", money_withdrawals.withdraw, money_withdrawals.WithdrawRequest),
)}

PAGE_ONLY_FIELDS = frozenset({"password", "new_password", "old_password"})
_PAGE_ONLY_BY_TYPE = {passwords.ResetPasswordRequest: frozenset({"id_card_no"})}
_RESULT_SKIP = frozenset({"password_ok", "attempts_left", "locked"})


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def build_request(request_type: type, req_data: Mapping[str, Any], page: Mapping[str, Any] | None = None) -> Any:
    """reqData → request dataclass: each field from its camelCase key (absent → None); page-only
    fields come from `page` only, never from reqData (a platform cannot type a user's password)."""
    page = dict(page or {})
    page_only = PAGE_ONLY_FIELDS | _PAGE_ONLY_BY_TYPE.get(request_type, frozenset())
    values: dict[str, Any] = {}
    for f in dataclasses.fields(request_type):
        if f.name in page_only:
            values[f.name] = page.get(f.name)
        elif f.name in page:
            values[f.name] = page[f.name]  # what the user typed on the page wins over the prefill
        else:
            values[f.name] = req_data.get(camel(f.name))
    return request_type(**values)


def result_fields(result: Any) -> dict[str, Any]:
    """Result dataclass → response fields: camelCase keys, `*_fen` as yuan Decimal under the name
    without the suffix, None left out, password outcome fields dropped."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        if f.name in _RESULT_SKIP or value is None:
            continue
        if f.name.endswith("_fen"):
            out[camel(f.name[: -len("_fen")])] = fen_to_decimal(value)
        else:
            out[camel(f.name)] = value
    return out


def run(name: str, engine: Engine, clock: Clock, platform_no: str, req_data: Mapping[str, Any], *,
        page: Mapping[str, Any] | None = None, verifier: CardVerifier | None = None) -> dict[str, Any]:
    """Build, run in one transaction, and render. A wrong password is committed (the failure count)
    and then raised as its typed error. A Lanmao handler is:

        def handler(ctx, req):
            return user_catalog.run(ctx.service_name, ctx.engine, ctx.clock, ctx.platform_no, req)
    """
    service = CATALOG[name]
    request = build_request(service.request_type, req_data, page)
    kwargs = {"verifier": verifier} if service.uses_verifier else {}
    if name.startswith("QUERY_"):  # read-only: no write lock (SQLite deferred BEGIN)
        with reading(engine) as conn:
            result = service.function(conn, clock, platform_no, request)
    else:
        result = run_in_transaction(engine, lambda conn: service.function(conn, clock, platform_no, request,
                                                                          **kwargs))
    raise_for_password = getattr(result, "raise_for_password", None)
    if raise_for_password is not None:
        raise_for_password()
    return result_fields(result)
