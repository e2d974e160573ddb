"""Enterprise users: ENTERPRISE_REGISTER and ENTERPRISE_INFORMATION_UPDATE.

An enterprise submits its documents — either the unified social credit code (checked with
python-stdnum) or the three older certificates (organisation code, business licence, tax number) —
plus the bank licence, the legal representative and a contact, and its corporate settlement account.
The account is opened at once (ledger account included) but stays DEACTIVATED with auditStatus
AUDIT until a bank operator reviews it (reviews.py: PASSED / BACK / REFUSED, each notified).
A returned (BACK) or already PASSED enterprise may resubmit its information, which goes to review
again; a PASSED enterprise stays usable meanwhile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.custody import authorizations, bins, identity, passwords, requests
from cunguan.custody.cards import record_bound_card
from cunguan.custody.fields import opt, opt_text, req_enum, req_text
from cunguan.custody.masking import mask_card
from cunguan.custody.roles import ENTERPRISE_ROLES
from cunguan.custody.user_errors import InvalidField, WrongState
from cunguan.custody.user_store import (
    User,
    check_platform_no,
    create_user,
    ensure_absent,
    get_user,
    update_user,
)
from cunguan.custody.users import new_user_no
from cunguan.db.tables.custody_users import custody_enterprises

REGISTER = "ENTERPRISE_REGISTER"
UPDATE = "ENTERPRISE_INFORMATION_UPDATE"
_PHONE = re.compile(r"\+?[0-9][0-9-]{5,19}")


def _phone(value: object, field_name: str) -> str:
    text = req_text(value, field_name, max_len=20)
    if not _PHONE.fullmatch(text):
        raise InvalidField(f"{field_name} must be a phone number (digits and '-', 6-20)", field=field_name)
    return text


def _legal_id(id_type_value: object, id_no_value: object, today) -> tuple[str, str]:
    id_type = identity.validate_id_card_type(opt(id_type_value), default=None)  # type: ignore[arg-type]
    if id_type == identity.PRC_ID:
        id_no = identity.validate_prc_id(str(id_no_value or ""), field="legalIdCardNo")
        identity.require_adult(identity.birth_date(id_no), today, field="legalIdCardNo")
    else:
        id_no = identity.validate_other_id(opt(id_no_value), field="legalIdCardNo")  # type: ignore[arg-type]
    return id_type, id_no


@dataclass(frozen=True)
class EnterpriseDocuments:
    enterprise_name: str
    bank_license: str
    org_no: str | None
    business_license: str | None
    tax_no: str | None
    unified_code: str | None
    credit_code: str | None
    legal: str
    legal_id_card_type: str
    legal_id_card_no: str
    contact: str
    contact_phone: str


def validate_documents(src, today) -> EnterpriseDocuments:
    """Either `unifiedCode` (a valid USCC) or all of `orgNo`, `businessLicense`, `taxNo`."""
    unified = opt(src.unified_code)
    org_no = opt_text(src.org_no, "orgNo")
    business_license = opt_text(src.business_license, "businessLicense")
    tax_no = opt_text(src.tax_no, "taxNo")
    if unified is not None:
        unified = identity.validate_uscc(str(unified))
    else:
        for name, value in (("orgNo", org_no), ("businessLicense", business_license), ("taxNo", tax_no)):
            if value is None:
                raise InvalidField(f"unifiedCode is required (or all of orgNo, businessLicense, taxNo; {name} "
                                   "is missing)", field="unifiedCode")
    id_type, id_no = _legal_id(src.id_card_type, src.legal_id_card_no, today)
    return EnterpriseDocuments(
        enterprise_name=identity.validate_name(src.enterprise_name, field="enterpriseName"),
        bank_license=req_text(src.bank_license, "bankLicense"),
        org_no=org_no, business_license=business_license, tax_no=tax_no, unified_code=unified,
        credit_code=opt_text(src.credit_code, "creditCode"),
        legal=identity.validate_name(src.legal, field="legal"),
        legal_id_card_type=id_type, legal_id_card_no=id_no,
        contact=identity.validate_name(src.contact, field="contact"),
        contact_phone=_phone(src.contact_phone, "contactPhone"),
    )


def _document_values(doc: EnterpriseDocuments) -> dict[str, object]:
    return {k: getattr(doc, k) for k in EnterpriseDocuments.__dataclass_fields__}


def legal_id_card_no(conn: Connection, user: User) -> str | None:
    row = conn.execute(select(custody_enterprises.c.legal_id_card_no)
                       .where(custody_enterprises.c.user_id == user.id)).first()
    return row[0] if row is not None else None


def enterprise_documents(conn: Connection, user: User) -> dict | None:
    row = conn.execute(select(custody_enterprises).where(custody_enterprises.c.user_id == user.id)).mappings().first()
    return dict(row) if row is not None else None


# ---------------------------------------------------------------- ENTERPRISE_REGISTER


@dataclass(frozen=True)
class EnterpriseRegisterRequest:
    request_no: str
    platform_user_no: str
    enterprise_name: str | None
    bank_license: str | None
    legal: str | None
    id_card_type: str | None
    legal_id_card_no: str | None = field(repr=False)
    contact: str | None
    contact_phone: str | None = field(repr=False)
    user_role: str | None
    bankcard_no: str | None = field(repr=False)
    bankcode: str | None
    password: str = field(repr=False)
    org_no: str | None = None
    business_license: str | None = None
    tax_no: str | None = None
    unified_code: str | None = None
    credit_code: str | None = None
    auth_list: str | None = None
    fail_time: str | None = None
    amount: object = None
    redirect_url: str | None = None


@dataclass(frozen=True)
class EnterpriseRegisterResult:
    request_no: str
    platform_user_no: str
    audit_status: str
    user_role: str
    bankcard_no: str  # masked
    bankcode: str
    remark: str | None


def enterprise_register(conn: Connection, clock: Clock, platform_no: str, req: EnterpriseRegisterRequest
                        ) -> EnterpriseRegisterResult:
    """ENTERPRISE_REGISTER: open an enterprise account, pending the bank operators' review."""
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    user_no = new_user_no(req.platform_user_no)
    role = req_enum(req.user_role, "userRole", ENTERPRISE_ROLES)
    today = clock.beijing_date()
    doc = validate_documents(req, today)
    card = bins.validate_corporate_account(req.bankcard_no, req.bankcode)
    password = passwords.validate_new_password(req.password)
    terms = authorizations.parse_terms(req.auth_list, req.fail_time, req.amount, today, required=False)
    authorizations.check_role_allows(role, terms.types)

    requests.claim(conn, clock, platform_no, request_no, REGISTER, user_no)
    ensure_absent(conn, platform_no, user_no)
    now_us = requests.clock_us(clock)
    user = create_user(conn, now_us, platform_no=platform_no, platform_user_no=user_no, user_type="ORGANIZATION",
                       user_role=role, name=doc.enterprise_name, id_card_type=doc.legal_id_card_type,
                       id_card_no=doc.legal_id_card_no, personal_id_unique=False, mobile=doc.contact_phone,
                       bankcard_no=card.card_no, bankcode=card.bankcode, access_type="PART_CHECKED",
                       audit_status="AUDIT", active_status="DEACTIVATED", request_no=request_no)
    conn.execute(custody_enterprises.insert().values(user_id=user.id, updated_us=now_us, **_document_values(doc)))
    passwords.set_password(conn, user.id, password, now_us)
    record_bound_card(conn, user, request_no, REGISTER, card.card_no, card.bankcode, None, now_us)
    if terms.types:
        authorizations.grant(conn, user, terms, request_no, now_us)
    result = EnterpriseRegisterResult(request_no, user_no, "AUDIT", role, mask_card(card.card_no), card.bankcode,
                                      None)
    requests.record(conn, platform_no, request_no, user_no,
                    {"auditStatus": "AUDIT", "userRole": role, "bankcode": card.bankcode})
    return result


# ---------------------------------------------------------------- ENTERPRISE_INFORMATION_UPDATE


@dataclass(frozen=True)
class EnterpriseInformationUpdateRequest:
    """reqData (requestNo, platformUserNo) plus the documents the enterprise submits on the page;
    fields left empty keep their current value."""

    request_no: str
    platform_user_no: str
    enterprise_name: str | None = None
    bank_license: str | None = None
    org_no: str | None = None
    business_license: str | None = None
    tax_no: str | None = None
    unified_code: str | None = None
    credit_code: str | None = None
    legal: str | None = None
    id_card_type: str | None = None
    legal_id_card_no: str | None = field(default=None, repr=False)
    contact: str | None = None
    contact_phone: str | None = field(default=None, repr=False)
    redirect_url: str | None = None


@dataclass(frozen=True)
class EnterpriseInformationUpdateResult:
    request_no: str
    platform_user_no: str
    audit_status: str


_UPDATABLE = ("enterprise_name", "bank_license", "org_no", "business_license", "tax_no", "unified_code",
              "credit_code", "legal", "id_card_type", "legal_id_card_no", "contact", "contact_phone")


@dataclass(frozen=True)
class _Merged:
    enterprise_name: object
    bank_license: object
    org_no: object
    business_license: object
    tax_no: object
    unified_code: object
    credit_code: object
    legal: object
    id_card_type: object
    legal_id_card_no: object
    contact: object
    contact_phone: object


def enterprise_information_update(conn: Connection, clock: Clock, platform_no: str,
                                  req: EnterpriseInformationUpdateRequest) -> EnterpriseInformationUpdateResult:
    """ENTERPRISE_INFORMATION_UPDATE: resubmit documents (after BACK, or to change them); → AUDIT."""
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    user_no = req_text(req.platform_user_no, "platformUserNo")
    if all(opt(getattr(req, name)) is None for name in _UPDATABLE):
        raise InvalidField("nothing to update: give at least one enterprise field", field="enterpriseName")
    requests.claim(conn, clock, platform_no, request_no, UPDATE, user_no)
    user = get_user(conn, platform_no, user_no, for_update=True)
    current = enterprise_documents(conn, user)
    if user.user_type != "ORGANIZATION" or current is None:
        raise WrongState("platformUserNo is not an enterprise user", field="platformUserNo")
    if user.audit_status not in ("BACK", "PASSED"):
        raise WrongState(f"the enterprise is {user.audit_status}; only BACK or PASSED enterprises can update",
                         field="platformUserNo")
    stored = dict(current, id_card_type=current["legal_id_card_type"])
    merged = _Merged(**{name: (getattr(req, name) if opt(getattr(req, name)) is not None else stored[name])
                        for name in _UPDATABLE})
    doc = validate_documents(merged, clock.beijing_date())
    now_us = requests.clock_us(clock)
    conn.execute(update(custody_enterprises).where(custody_enterprises.c.user_id == user.id)
                 .values(updated_us=now_us, remark=None, **_document_values(doc)))
    update_user(conn, user, now_us, name=doc.enterprise_name, id_card_type=doc.legal_id_card_type,
                id_card_no=doc.legal_id_card_no, mobile=doc.contact_phone, audit_status="AUDIT",
                request_no=request_no)
    requests.record(conn, platform_no, request_no, user_no, {"auditStatus": "AUDIT"})
    return EnterpriseInformationUpdateResult(request_no, user_no, "AUDIT")
