"""Bound cards: personal and enterprise card binding/change, the platform's audit of a change,
unbinding, and the change of the mobile reserved at the card's bank.

A user holds at most one bound card (protocol §5.1). Binding when the user has no card takes effect
at once; changing an existing card waits for AUDIT_BIND_CARD (auditStatus AUDIT), referenced by the
change's requestNo, and can be audited once ("已经审核" afterwards). A newer change supersedes a
pending one (CANCELLED), and so does unbinding. Every change is a row of `custody_card_changes`,
so the card history of a user is on record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.custody import bins, card_verifier, identity, passwords, requests
from cunguan.custody.card_verifier import CardVerifier, FourElements
from cunguan.custody.fields import opt, opt_enum, req_enum, req_text
from cunguan.custody.masking import mask_card
from cunguan.custody.user_errors import (
    AlreadyAudited,
    InvalidField,
    QueryTargetNotFound,
    UserUnavailable,
    WrongState,
)
from cunguan.custody.user_store import User, check_platform_no, get_user, platform_user_no, update_user
from cunguan.db.tables.custody_users import custody_card_changes, custody_users


def record_bound_card(conn: Connection, user: User, request_no: str, service_name: str, card_no: str,
                      bankcode: str, mobile: str | None, now_us: int, *, status: str = "PASSED") -> None:
    conn.execute(custody_card_changes.insert().values(
        platform_no=user.platform_no, request_no=request_no, user_id=user.id, service_name=service_name,
        bankcard_no=card_no, bankcode=bankcode, mobile=mobile, status=status, created_us=now_us,
        decided_us=now_us if status != "AUDIT" else None))


def _cancel_pending(conn: Connection, user_id: int, now_us: int) -> None:
    table = custody_card_changes.c
    conn.execute(update(custody_card_changes).where(table.user_id == user_id, table.status == "AUDIT")
                 .values(status="CANCELLED", decided_us=now_us))


def _require_active(user: User) -> None:
    if not user.active:
        raise UserUnavailable("platformUserNo: the user's account is not active", field="platformUserNo")


def _require_type(user: User, user_type: str) -> None:
    if user.user_type != user_type:
        kind = "a personal" if user_type == "PERSONAL" else "an enterprise"
        raise WrongState(f"platformUserNo is not {kind} user", field="platformUserNo")


def _verify_elements(user: User, card: bins.CardInfo, mobile: str, verifier: CardVerifier | None) -> None:
    """The card's bank confirms name, ID, card and phone; only PRC IDs can be checked this way (other
    documents were reviewed by an operator when the account was opened)."""
    if user.id_card_type == identity.PRC_ID:
        card_verifier.resolve(verifier).verify(
            FourElements(user.name or "", user.id_card_no or "", card.card_no, mobile, card.bankcode))


def _bind_or_queue(conn: Connection, user: User, request_no: str, service: str, card: bins.CardInfo,
                   mobile: str | None, now_us: int) -> str:
    """Bind at once when the user has no card; otherwise queue the change for AUDIT_BIND_CARD."""
    if user.bankcard_no == card.card_no:
        raise WrongState("bankcardNo is already the user's bound card", field="bankcardNo")
    _cancel_pending(conn, user.id, now_us)
    if user.bankcard_no is None:
        record_bound_card(conn, user, request_no, service, card.card_no, card.bankcode, mobile, now_us)
        changes: dict[str, object] = dict(bankcard_no=card.card_no, bankcode=card.bankcode)
        if mobile is not None:
            changes["mobile"] = mobile
        update_user(conn, user, now_us, **changes)
        return "PASSED"
    record_bound_card(conn, user, request_no, service, card.card_no, card.bankcode, mobile, now_us, status="AUDIT")
    return "AUDIT"


# ---------------------------------------------------------------- PERSONAL_BIND_BANKCARD_EXPAND


@dataclass(frozen=True)
class PersonalBindBankcardRequest:
    request_no: str
    platform_user_no: str
    bankcard_no: str | None = field(repr=False)
    mobile: str | None = field(repr=False)
    check_type: str | None = "LIMIT"
    bind_type: str | None = None
    redirect_url: str | None = None


@dataclass(frozen=True)
class PersonalBindBankcardResult:
    request_no: str
    platform_user_no: str
    bankcard_no: str  # masked
    bankcode: str
    mobile: str
    access_type: str
    audit_status: str


def personal_bind_bankcard(conn: Connection, clock: Clock, platform_no: str, req: PersonalBindBankcardRequest,
                           *, verifier: CardVerifier | None = None) -> PersonalBindBankcardResult:
    """PERSONAL_BIND_BANKCARD_EXPAND: bind a card (no card yet) or request a card change (AUDIT)."""
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    user_no = platform_user_no(req.platform_user_no)
    req_enum(req.check_type, "checkType", ("LIMIT",))
    opt_enum(req.bind_type, "bindType", ("UPDATE_BANKCARD",))
    card = bins.validate_personal_card(req.bankcard_no)
    mobile = identity.validate_mobile(req.mobile)
    requests.claim(conn, clock, platform_no, request_no, "PERSONAL_BIND_BANKCARD_EXPAND", user_no)
    user = get_user(conn, platform_no, user_no, for_update=True)
    _require_type(user, "PERSONAL")
    _require_active(user)
    _verify_elements(user, card, mobile, verifier)
    now_us = requests.clock_us(clock)
    status = _bind_or_queue(conn, user, request_no, "PERSONAL_BIND_BANKCARD_EXPAND", card, mobile, now_us)
    result = PersonalBindBankcardResult(request_no, user_no, mask_card(card.card_no), card.bankcode, mobile,
                                        user.access_type, status)
    requests.record(conn, platform_no, request_no, user_no,
                    {"bankcardNo": result.bankcard_no, "bankcode": card.bankcode, "auditStatus": status})
    return result


# ---------------------------------------------------------------- ENTERPRISE_BIND_BANKCARD


@dataclass(frozen=True)
class EnterpriseBindBankcardRequest:
    request_no: str
    platform_user_no: str
    bankcard_no: str | None = field(repr=False)
    bankcode: str | None = None
    bind_type: str | None = None
    redirect_url: str | None = None


@dataclass(frozen=True)
class EnterpriseBindBankcardResult:
    request_no: str
    platform_user_no: str
    bankcard_no: str  # masked
    bankcode: str
    audit_status: str


def enterprise_bind_bankcard(conn: Connection, clock: Clock, platform_no: str, req: EnterpriseBindBankcardRequest
                             ) -> EnterpriseBindBankcardResult:
    """ENTERPRISE_BIND_BANKCARD: bind or change (AUDIT) an enterprise's corporate settlement account."""
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    user_no = platform_user_no(req.platform_user_no)
    opt_enum(req.bind_type, "bindType", ("UPDATE_BANKCARD",))
    card = bins.validate_corporate_account(req.bankcard_no, req.bankcode)
    requests.claim(conn, clock, platform_no, request_no, "ENTERPRISE_BIND_BANKCARD", user_no)
    user = get_user(conn, platform_no, user_no, for_update=True)
    _require_type(user, "ORGANIZATION")
    _require_active(user)
    now_us = requests.clock_us(clock)
    status = _bind_or_queue(conn, user, request_no, "ENTERPRISE_BIND_BANKCARD", card, None, now_us)
    result = EnterpriseBindBankcardResult(request_no, user_no, mask_card(card.card_no), card.bankcode, status)
    requests.record(conn, platform_no, request_no, user_no,
                    {"bankcardNo": result.bankcard_no, "bankcode": card.bankcode, "auditStatus": status})
    return result


# ---------------------------------------------------------------- AUDIT_BIND_CARD


@dataclass(frozen=True)
class AuditBindCardRequest:
    request_no: str
    original_request_no: str
    audit_type: str


@dataclass(frozen=True)
class AuditBindCardResult:
    request_no: str
    original_request_no: str
    platform_user_no: str
    audit_type: str


def audit_bind_card(conn: Connection, clock: Clock, platform_no: str, req: AuditBindCardRequest
                    ) -> AuditBindCardResult:
    """AUDIT_BIND_CARD: the platform passes or refuses a pending card change, once."""
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    original = req_text(req.original_request_no, "originalRequestNo")
    audit_type = req_enum(req.audit_type, "auditType", ("PASSED", "REFUSED"))
    requests.claim(conn, clock, platform_no, request_no, "AUDIT_BIND_CARD", None)
    table = custody_card_changes.c
    stmt = select(custody_card_changes).where(table.platform_no == platform_no, table.request_no == original)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    change = conn.execute(stmt).mappings().first()
    if change is None:
        raise QueryTargetNotFound("originalRequestNo: 换卡记录不存在 (no card change with this requestNo)",
                                  field="originalRequestNo")
    if change["status"] != "AUDIT":
        raise AlreadyAudited(f"originalRequestNo: 已经审核 (the card change is {change['status']})",
                             field="originalRequestNo")
    user_row = conn.execute(select(custody_users.c.platform_user_no).where(custody_users.c.id == change["user_id"])
                            ).first()
    assert user_row is not None
    user = get_user(conn, platform_no, user_row[0], for_update=True)
    now_us = requests.clock_us(clock)
    conn.execute(update(custody_card_changes).where(table.id == change["id"])
                 .values(status=audit_type, decided_us=now_us))
    if audit_type == "PASSED":
        changes: dict[str, object] = dict(bankcard_no=change["bankcard_no"], bankcode=change["bankcode"])
        if change["mobile"] is not None:
            changes["mobile"] = change["mobile"]
        update_user(conn, user, now_us, **changes)
    requests.record(conn, platform_no, request_no, user.platform_user_no,
                    {"originalRequestNo": original, "auditType": audit_type})
    return AuditBindCardResult(request_no, original, user.platform_user_no, audit_type)


# ---------------------------------------------------------------- UNBIND_BANKCARD


@dataclass(frozen=True)
class UnbindBankcardRequest:
    """reqData plus the trade password the user confirms the unbinding with on the bank's page."""

    request_no: str
    platform_user_no: str
    redirect_url: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class UnbindBankcardResult(passwords.PasswordOutcome):
    request_no: str
    platform_user_no: str


def unbind_bankcard(conn: Connection, clock: Clock, platform_no: str, req: UnbindBankcardRequest
                    ) -> UnbindBankcardResult:
    """UNBIND_BANKCARD: the account becomes cardless (confirmed with the trade password); a pending
    change is cancelled with it."""
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    user_no = platform_user_no(req.platform_user_no)
    password = passwords.require_page_password(req.password)
    requests.claim(conn, clock, platform_no, request_no, "UNBIND_BANKCARD", user_no)
    user = get_user(conn, platform_no, user_no, for_update=True)
    _require_active(user)
    if user.bankcard_no is None:
        raise WrongState("platformUserNo has no bound card", field="platformUserNo")
    now_us = requests.clock_us(clock)
    check = passwords.verify(conn, user.id, password, now_us)
    if not check.ok:
        requests.release(conn, platform_no, request_no)
        return UnbindBankcardResult(False, check.attempts_left, check.locked, request_no, user_no)
    _cancel_pending(conn, user.id, now_us)
    update_user(conn, user, now_us, bankcard_no=None, bankcode=None)
    requests.record(conn, platform_no, request_no, user_no,
                    {"unbound": mask_card(user.bankcard_no)})
    return UnbindBankcardResult(True, check.attempts_left, False, request_no, user_no)


# ---------------------------------------------------------------- MODIFY_MOBILE_EXPAND


@dataclass(frozen=True)
class ModifyMobileRequest:
    request_no: str
    platform_user_no: str
    mobile: str | None = field(repr=False)
    check_type: str | None = None
    modify_type: str | None = None
    redirect_url: str | None = None


@dataclass(frozen=True)
class ModifyMobileResult:
    request_no: str
    platform_user_no: str
    bankcard_no: str  # masked
    bankcode: str
    mobile: str


def modify_mobile(conn: Connection, clock: Clock, platform_no: str, req: ModifyMobileRequest, *,
                  verifier: CardVerifier | None = None) -> ModifyMobileResult:
    """MODIFY_MOBILE_EXPAND: change the reserved mobile; the four elements with the new number must
    match at the card's bank (checkType LIMIT is the only check there is)."""
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    user_no = platform_user_no(req.platform_user_no)
    opt_enum(req.check_type, "checkType", ("LIMIT",))
    opt_enum(req.modify_type, "modifyType", ("MODIFYMOBILE", "CHECKTYPEUPDATE"))
    if opt(req.mobile) is None:
        raise InvalidField("mobile is required", field="mobile")
    mobile = identity.validate_mobile(req.mobile)
    requests.claim(conn, clock, platform_no, request_no, "MODIFY_MOBILE_EXPAND", user_no)
    user = get_user(conn, platform_no, user_no, for_update=True)
    _require_type(user, "PERSONAL")
    _require_active(user)
    if user.bankcard_no is None or user.bankcode is None:
        raise WrongState("platformUserNo has no bound card to check the mobile against", field="platformUserNo")
    if user.mobile == mobile:
        raise WrongState("mobile is already the reserved mobile", field="mobile")
    _verify_elements(user, bins.CardInfo(user.bankcard_no, user.bankcode, "DEBIT"), mobile, verifier)
    now_us = requests.clock_us(clock)
    update_user(conn, user, now_us, mobile=mobile)
    result = ModifyMobileResult(request_no, user_no, mask_card(user.bankcard_no), user.bankcode, mobile)
    requests.record(conn, platform_no, request_no, user_no,
                    {"bankcode": user.bankcode, "mobile": mobile})
    return result
