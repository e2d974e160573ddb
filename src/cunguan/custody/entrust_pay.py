"""AUTHORIZATION_ENTRUST_PAY: a borrower entrusts the loan of an ENTRUST_PAY project to a third party
(protocol §2.6), so that the release pays the entrusted user instead of the borrower.

Both users must exist on the platform (else 100009 用户不存在) and be active; the entrusted user's type
must match `entrustedType`. One grant per project. The project itself belongs to the projects room:
`project_check` is the hook through which it can refuse (unknown project, not ENTRUST_PAY, not the
borrower's); until it is wired, the project number is recorded as given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.custody import requests
from cunguan.custody.fields import req_enum, req_text
from cunguan.custody.user_errors import UserUnavailable, WrongState
from cunguan.custody.user_store import check_platform_no, get_user
from cunguan.db.tables.custody_users import custody_entrust_pay, custody_users

SERVICE = "AUTHORIZATION_ENTRUST_PAY"
_TYPE_OF = {"PERSONAL": "PERSONAL", "ENTERPRISE": "ORGANIZATION"}

ProjectCheck = Callable[[Connection, str, str, str], None]
"""(conn, platform_no, project_no, borrower platformUserNo) -> None or a typed error."""
project_check: ProjectCheck | None = None


@dataclass(frozen=True)
class AuthorizationEntrustPayRequest:
    request_no: str
    borrow_platform_user_no: str
    project_no: str
    check_type: str | None
    entrusted_type: str
    entrusted_platform_user_no: str


@dataclass(frozen=True)
class AuthorizationEntrustPayResult:
    request_no: str
    authorize_status: str


def authorization_entrust_pay(conn: Connection, clock: Clock, platform_no: str,
                              req: AuthorizationEntrustPayRequest) -> AuthorizationEntrustPayResult:
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    borrower_no = req_text(req.borrow_platform_user_no, "borrowPlatformUserNo")
    project_no = req_text(req.project_no, "projectNo")
    req_enum(req.check_type, "checkType", ("LIMIT",))
    entrusted_type = req_enum(req.entrusted_type, "entrustedType", tuple(_TYPE_OF))
    entrusted_no = req_text(req.entrusted_platform_user_no, "entrustedPlatformUserNo")
    if entrusted_no == borrower_no:
        raise WrongState("entrustedPlatformUserNo must differ from borrowPlatformUserNo",
                         field="entrustedPlatformUserNo")
    requests.claim(conn, clock, platform_no, request_no, SERVICE, borrower_no)
    borrower = get_user(conn, platform_no, borrower_no, field="borrowPlatformUserNo")
    entrusted = get_user(conn, platform_no, entrusted_no, field="entrustedPlatformUserNo")
    for user, name in ((borrower, "borrowPlatformUserNo"), (entrusted, "entrustedPlatformUserNo")):
        if not user.active:
            raise UserUnavailable(f"{name}: the user's account is not active", field=name)
    if entrusted.user_type != _TYPE_OF[entrusted_type]:
        raise WrongState(f"entrustedType {entrusted_type} does not match the entrusted user", field="entrustedType")
    if project_check is not None:
        project_check(conn, platform_no, project_no, borrower_no)
    table = custody_entrust_pay.c
    if conn.execute(select(table.id).where(table.platform_no == platform_no, table.project_no == project_no)
                    ).first() is not None:
        raise WrongState("projectNo already has an entrusted-payment authorization", field="projectNo")
    conn.execute(custody_entrust_pay.insert().values(
        platform_no=platform_no, request_no=request_no, borrow_user_id=borrower.id, project_no=project_no,
        entrusted_type=entrusted_type, entrusted_user_id=entrusted.id, authorize_status="PASSED",
        created_us=requests.clock_us(clock)))
    requests.record(conn, platform_no, request_no, borrower_no,
                    {"projectNo": project_no, "authorizeStatus": "PASSED"})
    return AuthorizationEntrustPayResult(request_no, "PASSED")


def entrusted_payee(conn: Connection, platform_no: str, project_no: str) -> str | None:
    """The entrusted user's platformUserNo for a project, for the release (projects room)."""
    row = conn.execute(
        select(custody_users.c.platform_user_no)
        .join(custody_entrust_pay, custody_entrust_pay.c.entrusted_user_id == custody_users.c.id)
        .where(custody_entrust_pay.c.platform_no == platform_no, custody_entrust_pay.c.project_no == project_no)
    ).first()
    return row[0] if row is not None else None
