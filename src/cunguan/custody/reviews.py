"""Bank operators' review of users waiting in AUDIT: enterprises (ENTERPRISE_REGISTER /
ENTERPRISE_INFORMATION_UPDATE) and persons registered with a non-PRC document (accessType AUDIT_AUTH).

PASSED activates the account; BACK returns it for correction (the enterprise resubmits through
ENTERPRISE_INFORMATION_UPDATE); REFUSED closes it for good (and frees a person's ID number, so the
person may register again). Every decision is a row of `custody_user_reviews` (who, when, from, to,
remark) and produces a NOTIFY of the original service to the platform, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.custody import platforms, requests
from cunguan.custody.errors import PlatformNotFound
from cunguan.custody.fields import opt_text, req_enum, req_text
from cunguan.custody.masking import mask_card, mask_id_card
from cunguan.custody.user_errors import WrongState
from cunguan.custody.user_store import User, check_platform_no, get_user, to_user, update_user
from cunguan.db.tables.custody_users import custody_enterprises, custody_user_reviews, custody_users
from cunguan.notify import outbox

DECISIONS = ("PASSED", "BACK", "REFUSED")


@dataclass(frozen=True)
class ReviewResult:
    platform_user_no: str
    from_status: str
    audit_status: str
    active_status: str
    service_name: str
    resp_data: dict


def _notify(conn: Connection, clock: Clock, *, platform_no: str, service_name: str, resp_data: dict,
            biz_ref: str | None) -> None:
    """The single place a review result becomes a platform notification: an outbox row in the
    caller's transaction, to the platform's notify URL, signed later with the bank key (serial "1").
    A platform that does not exist cannot have users; refusing here keeps the review unwritten."""
    platform = platforms.find_platform(conn, platform_no)
    if platform is None:
        raise PlatformNotFound(f"platform {platform_no} does not exist", field="platformNo")
    outbox.enqueue(conn, platform_no=platform_no, service_name=service_name, notify_url=platform.notify_url,
                   resp_data=resp_data, key_serial=platforms.BANK_KEY_SERIAL, clock=clock, biz_ref=biz_ref)


def _original_service(conn: Connection, user: User) -> str:
    if user.request_no:
        row = requests.find(conn, user.platform_no, user.request_no)
        if row is not None:
            return str(row["service_name"])
    return "ENTERPRISE_REGISTER" if user.user_type == "ORGANIZATION" else "PERSONAL_REGISTER_EXPAND"


def _resp_data(user: User, service_name: str, remark: str | None) -> dict:
    data: dict[str, object] = {"code": "0", "status": "SUCCESS", "requestNo": user.request_no,
                               "platformUserNo": user.platform_user_no, "auditStatus": user.audit_status}
    if service_name == "ENTERPRISE_REGISTER":
        data.update(userRole=user.user_role, bankcardNo=mask_card(user.bankcard_no), bankcode=user.bankcode,
                    remark=remark)
    elif service_name == "PERSONAL_REGISTER_EXPAND":
        data.update(realName=user.name, idCardType=user.id_card_type, idCardNo=mask_id_card(user.id_card_no),
                    userRole=user.user_role, mobile=user.mobile, bankcardNo=mask_card(user.bankcard_no),
                    bankcode=user.bankcode, accessType=user.access_type)
    else:
        data.update(remark=remark)
    return {k: v for k, v in data.items() if v is not None and v != ""}


def review_user(conn: Connection, clock: Clock, platform_no: str, platform_user_no: str, *, operator_id: str,
                decision: str, remark: str | None = None) -> ReviewResult:
    """Decide a user in AUDIT; any other state is refused (a decision is taken once). The one entry of
    the console and `cunguan users review`: a user imported by migration is decided by
    `stocked_users.review_stocked_user` (which keeps an imported user with an invalid card blocked
    and records the migration state), every other user by `decide_user`."""
    from cunguan.custody import stocked_users  # stocked_users builds on this module

    check_platform_no(platform_no)
    user = get_user(conn, platform_no, req_text(platform_user_no, "platformUserNo"), for_update=True)
    if stocked_users.migration_state(conn, user) is not None:
        return stocked_users.review_stocked_user(conn, clock, platform_no, user.platform_user_no,
                                                 operator_id=operator_id, decision=decision, remark=remark)
    return decide_user(conn, clock, platform_no, platform_user_no, operator_id=operator_id, decision=decision,
                       remark=remark)


def decide_user(conn: Connection, clock: Clock, platform_no: str, platform_user_no: str, *, operator_id: str,
                decision: str, remark: str | None = None) -> ReviewResult:
    """The decision itself, for any user in AUDIT (callers: `review_user`, `review_stocked_user`)."""
    check_platform_no(platform_no)
    user_no = req_text(platform_user_no, "platformUserNo")
    operator = req_text(operator_id, "operatorId")
    decision = req_enum(decision, "auditStatus", DECISIONS)
    remark = opt_text(remark, "remark", max_len=200)
    user = get_user(conn, platform_no, user_no, for_update=True)
    if user.audit_status != "AUDIT":
        raise WrongState(f"platformUserNo is {user.audit_status}, not waiting for review", field="platformUserNo")
    now_us = requests.clock_us(clock)
    changes: dict[str, object] = {"audit_status": decision}
    if decision == "PASSED":
        changes["active_status"] = "ACTIVATED"
    elif decision == "REFUSED":
        changes["active_status"] = "DEACTIVATED"
        changes["personal_id_key"] = None
    conn.execute(custody_user_reviews.insert().values(user_id=user.id, operator_id=operator, from_status="AUDIT",
                                                      to_status=decision, remark=remark, created_us=now_us))
    if user.user_type == "ORGANIZATION":
        conn.execute(update(custody_enterprises).where(custody_enterprises.c.user_id == user.id)
                     .values(remark=remark, updated_us=now_us))
    user = update_user(conn, user, now_us, **changes)
    service_name = _original_service(conn, user)
    resp_data = _resp_data(user, service_name, remark)
    _notify(conn, clock, platform_no=platform_no, service_name=service_name, resp_data=resp_data,
            biz_ref=user.request_no)
    return ReviewResult(user_no, "AUDIT", user.audit_status, user.active_status, service_name, resp_data)


def pending_reviews(conn: Connection, platform_no: str | None = None) -> list[User]:
    """Users waiting for an operator, oldest first (for the operator console)."""
    stmt = select(custody_users).where(custody_users.c.audit_status == "AUDIT")
    if platform_no is not None:
        stmt = stmt.where(custody_users.c.platform_no == platform_no)
    return [to_user(r) for r in conn.execute(stmt.order_by(custody_users.c.id)).mappings()]
