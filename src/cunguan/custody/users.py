"""Personal users: PERSONAL_REGISTER_EXPAND and QUERY_USER_INFORMATION.

The system accounts `SYS_GENERATE_000`…`007` are created with the platform (platforms.py); the
query answers for them from there.

Registration (scenario 1 of custody.md): the four elements are checked — real name, PRC ID number
(checksum, birth date, area; holder 18 or older on the clock's Beijing date), debit card (Luhn, BIN of
a supported bank) and the mobile reserved at the card's bank — first here, then by the card's bank
through the `CardVerifier`. The ID number is unique per platform. A passport, Hong Kong/Macau/Taiwan
pass or permanent-residence card cannot be checked by the bank: the user is created for manual review
(accessType AUDIT_AUTH, auditStatus AUDIT, DEACTIVATED until an operator passes it, see reviews.py).
The user's ledger account, trade password, bound card, authorizations and the request record are
written in the caller's transaction. The bank call is slow I/O: a page should verify first, outside
any transaction, and pass `verifier=card_verifier.Preverified(elements)` so no lock is held across it.

Results carry masked ID and card numbers: full numbers never leave the bank (DESIGN: no full card or
ID numbers to clients or logs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.custody import authorizations, bins, card_verifier, identity, passwords, requests
from cunguan.custody.card_verifier import CardVerifier, FourElements
from cunguan.custody.cards import record_bound_card
from cunguan.custody.fields import opt_enum, req_enum
from cunguan.custody.masking import mask_card, mask_id_card
from cunguan.custody.roles import PERSONAL_ROLES, SYSTEM_USER_PREFIX
from cunguan.custody.user_errors import InvalidField
from cunguan.custody.user_store import (
    check_platform_no,
    create_user,
    ensure_absent,
    ensure_id_unique,
    find_user,
    get_user,
    platform_user_no,
)
from cunguan.db import ledger_store

SERVICE = "PERSONAL_REGISTER_EXPAND"


def new_user_no(value: object) -> str:
    user_no = platform_user_no(value)
    if user_no.upper().startswith(SYSTEM_USER_PREFIX):
        raise InvalidField(f"platformUserNo: numbers starting {SYSTEM_USER_PREFIX} are reserved for "
                           "the platform's system accounts", field="platformUserNo")
    return user_no


@dataclass(frozen=True)
class PersonalRegisterRequest:
    """reqData of PERSONAL_REGISTER_EXPAND, completed by what the user typed on the bank's page
    (the four elements and the new trade password)."""

    request_no: str
    platform_user_no: str
    user_role: str
    real_name: str | None
    id_card_no: str | None = field(repr=False)
    bankcard_no: str | None = field(repr=False)
    mobile: str | None = field(repr=False)
    password: str = field(repr=False)
    id_card_type: str | None = None
    check_type: str | None = "LIMIT"
    user_limit_type: str | None = None
    auth_list: str | None = None
    fail_time: str | None = None
    amount: object = None
    redirect_url: str | None = None


@dataclass(frozen=True)
class PersonalRegisterResult:
    request_no: str
    platform_user_no: str
    real_name: str
    id_card_type: str
    id_card_no: str  # masked
    user_role: str
    mobile: str
    bankcard_no: str  # masked
    bankcode: str
    access_type: str
    audit_status: str
    auth_list: str | None


def personal_register(conn: Connection, clock: Clock, platform_no: str, req: PersonalRegisterRequest, *,
                      verifier: CardVerifier | None = None) -> PersonalRegisterResult:
    """PERSONAL_REGISTER_EXPAND: open a personal custody account with a four-element-checked card."""
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    user_no = new_user_no(req.platform_user_no)
    role = req_enum(req.user_role, "userRole", PERSONAL_ROLES)
    req_enum(req.check_type, "checkType", ("LIMIT",))
    opt_enum(req.user_limit_type, "userLimitType", ("ID_CARD_NO_UNIQUE",))
    id_type = identity.validate_id_card_type(req.id_card_type)
    name = identity.validate_name(req.real_name)
    today = clock.beijing_date()
    if id_type == identity.PRC_ID:
        id_no = identity.validate_prc_id(req.id_card_no or "")
        identity.require_adult(identity.birth_date(id_no), today)
    else:
        id_no = identity.validate_other_id(req.id_card_no)
    card = bins.validate_personal_card(req.bankcard_no)
    mobile = identity.validate_mobile(req.mobile)
    password = passwords.validate_new_password(req.password)
    terms = authorizations.parse_terms(req.auth_list, req.fail_time, req.amount, today, required=False)

    authorizations.check_role_allows(role, terms.types)

    requests.claim(conn, clock, platform_no, request_no, SERVICE, user_no)
    ensure_absent(conn, platform_no, user_no)
    ensure_id_unique(conn, platform_no, id_no)

    if id_type == identity.PRC_ID:
        card_verifier.resolve(verifier).verify(FourElements(name, id_no, card.card_no, mobile, card.bankcode))
        access, audit, active = "FULL_CHECKED", "PASSED", "ACTIVATED"
    else:
        access, audit, active = "AUDIT_AUTH", "AUDIT", "DEACTIVATED"

    now_us = requests.clock_us(clock)
    user = create_user(conn, now_us, platform_no=platform_no, platform_user_no=user_no, user_type="PERSONAL",
                       user_role=role, name=name, id_card_type=id_type, id_card_no=id_no, personal_id_unique=True,
                       mobile=mobile, bankcard_no=card.card_no, bankcode=card.bankcode, access_type=access,
                       audit_status=audit, active_status=active, request_no=request_no)
    passwords.set_password(conn, user.id, password, now_us)
    record_bound_card(conn, user, request_no, SERVICE, card.card_no, card.bankcode, mobile, now_us)
    if terms.types:
        authorizations.grant(conn, user, terms, request_no, now_us)
    auth_list = ",".join(terms.types) or None
    result = PersonalRegisterResult(request_no, user_no, name, id_type, mask_id_card(id_no), role, mobile,
                                    mask_card(card.card_no), card.bankcode, access, audit, auth_list)
    requests.record(conn, platform_no, request_no, user_no,
                    {"accessType": access, "auditStatus": audit, "bankcode": card.bankcode,
                     "bankcardNo": result.bankcard_no, "authList": auth_list})
    return result


# ---------------------------------------------------------------- QUERY_USER_INFORMATION


@dataclass(frozen=True)
class QueryUserInformationRequest:
    platform_user_no: str


@dataclass(frozen=True)
class QueryUserInformationResult:
    """The response table of protocol §2.7; amounts in fen (the wire adapter renders yuan)."""

    platform_user_no: str
    user_type: str
    user_role: str
    audit_status: str
    active_status: str
    balance_fen: int
    available_amount_fen: int
    freeze_amount_fen: int
    bankcode: str | None
    bankcard_no: str | None  # masked
    mobile: str | None
    auth_list: str
    is_import_user_activate: bool
    access_type: str
    id_card_type: str | None
    id_card_no: str | None  # masked
    name: str | None


def query_user_information(conn: Connection, clock: Clock, platform_no: str, req: QueryUserInformationRequest
                           ) -> QueryUserInformationResult:
    """QUERY_USER_INFORMATION: read-only; unknown user → 100009."""
    check_platform_no(platform_no)
    user_no = platform_user_no(req.platform_user_no)
    user = find_user(conn, platform_no, user_no)
    if user is None:
        system = _system_account(conn, clock, platform_no, user_no)
        if system is not None:
            return system
    user = get_user(conn, platform_no, user_no)
    balance, frozen = ledger_store.get_balance(conn, user.ledger_account_id)
    auth_list = authorizations.active_auth_list(conn, user.id, clock.beijing_date())
    return QueryUserInformationResult(
        platform_user_no=user.platform_user_no, user_type=user.user_type, user_role=user.user_role,
        audit_status=user.audit_status, active_status=user.active_status, balance_fen=balance,
        available_amount_fen=balance - frozen, freeze_amount_fen=frozen, bankcode=user.bankcode,
        bankcard_no=mask_card(user.bankcard_no) or None, mobile=user.mobile, auth_list=",".join(auth_list),
        is_import_user_activate=user.is_import_user_activate, access_type=user.access_type,
        id_card_type=user.id_card_type, id_card_no=mask_id_card(user.id_card_no) or None, name=user.name)


def _system_account(conn: Connection, clock: Clock, platform_no: str, user_no: str
                    ) -> QueryUserInformationResult | None:
    """The platform's bank-created system accounts (`SYS_GENERATE_00x`, kept by platforms.py)."""
    if not user_no.startswith(SYSTEM_USER_PREFIX):
        return None
    from cunguan.custody import platforms  # the platforms room owns these accounts

    account = platforms.system_account(conn, platform_no, user_no)
    platform = platforms.find_platform(conn, platform_no)
    if account is None or platform is None:
        return None
    return QueryUserInformationResult(
        platform_user_no=user_no, user_type="ORGANIZATION", user_role=account.user_role, audit_status="PASSED",
        active_status="ACTIVATED", balance_fen=account.balance_fen, available_amount_fen=account.available_fen,
        freeze_amount_fen=account.frozen_fen, bankcode=None, bankcard_no=None, mobile=None, auth_list="",
        is_import_user_activate=True, access_type="PART_CHECKED", id_card_type=None, id_card_no=None,
        name=platform.name)
