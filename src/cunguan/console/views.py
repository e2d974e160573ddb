"""What the console pages show, read from the business modules and already masked.

Every person-identifying number leaves this module masked (cunguan.custody.masking): ID numbers
(3 + 4 kept), card numbers (BIN + 4), mobiles (3 + 4). No role sees them whole — the console has no
"unmask" action, so a page cannot leak what it never receives. Lists have explicit limits.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection

from cunguan.clock import BEIJING
from cunguan.console.errors import InvalidInput, NotFound
from cunguan.custody import enterprise, platforms, reviews
from cunguan.custody.masking import mask_card, mask_id_card, mask_mobile
from cunguan.custody.user_store import User, find_user, to_user
from cunguan.db import ledger_store
from cunguan.db.tables.custody_users import custody_users
from cunguan.money import format_yuan
from cunguan.notify import outbox

MAX_SEARCH_RESULTS = 50
MAX_NOTIFICATIONS = 200
MAX_REVIEWS = 200
SEARCH_RE = re.compile(r"[0-9Xx*]{4,30}")
MIN_KNOWN_DIGITS = 4
STATUS_FILTERS = ("OPEN", "PENDING", "FAILED", "DELIVERED", "ALL")
"""OPEN = not yet delivered (PENDING and FAILED), the default view."""


def beijing_time(us: int | None) -> str:
    if us is None:
        return "-"
    moment = dt.datetime.fromtimestamp(us // 1_000_000, dt.UTC).astimezone(BEIJING)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------- platforms


@dataclass(frozen=True)
class AccountRow:
    platform_user_no: str
    role: str
    balance: str
    frozen: str
    available: str


@dataclass(frozen=True)
class PlatformDetail:
    platform: platforms.Platform
    keys: list[tuple[str, str]]
    system_accounts: list[AccountRow]
    custody_balance: str


def platform_list(conn: Connection) -> list[platforms.Platform]:
    return platforms.list_platforms(conn)


def platform_detail(conn: Connection, platform_no: str) -> PlatformDetail:
    platform = platforms.find_platform(conn, platform_no)
    if platform is None:
        raise NotFound("平台不存在")
    rows = []
    for user_no in platforms.SYSTEM_ACCOUNTS:
        acct = platforms.system_account(conn, platform_no, user_no)
        if acct is not None:
            rows.append(AccountRow(acct.platform_user_no, acct.user_role, format_yuan(acct.balance_fen),
                                   format_yuan(acct.frozen_fen), format_yuan(acct.available_fen)))
    custody, _frozen = ledger_store.get_balance(conn, platform.custody_account_id)
    # The ledger balance as booked (credits − debits) of the asset-side custody cash account.
    return PlatformDetail(platform, platforms.list_keys(conn, platform_no), rows, format_yuan(custody))


# ---------------------------------------------------------------- users


@dataclass(frozen=True)
class UserView:
    platform_no: str
    platform_user_no: str
    user_type: str
    user_role: str
    name: str
    id_card_type: str
    id_card_no: str  # masked
    bankcard_no: str  # masked
    bankcode: str
    mobile: str  # masked
    access_type: str
    audit_status: str
    active_status: str
    balance: str
    frozen: str


def _user_view(conn: Connection, user: User) -> UserView:
    balance, frozen = ledger_store.get_balance(conn, user.ledger_account_id)
    return UserView(user.platform_no, user.platform_user_no, user.user_type, user.user_role, user.name or "",
                    user.id_card_type or "", mask_id_card(user.id_card_no), mask_card(user.bankcard_no),
                    user.bankcode or "", mask_mobile(user.mobile), user.access_type, user.audit_status,
                    user.active_status, format_yuan(balance), format_yuan(frozen))


def _platform_no(value: object) -> str:
    if not isinstance(value, str) or not platforms.PLATFORM_NO_RE.fullmatch(value):
        raise InvalidInput("平台编号格式不正确")
    return value


def lookup_user(conn: Connection, platform_no: str, platform_user_no: str) -> UserView | None:
    platform_no = _platform_no(platform_no)
    if not isinstance(platform_user_no, str) or not 1 <= len(platform_user_no) <= 50:
        raise InvalidInput("平台用户编号须为 1-50 个字符")
    user = find_user(conn, platform_no, platform_user_no)
    return _user_view(conn, user) if user is not None else None


def search_users(conn: Connection, platform_no: str, pattern: str) -> list[UserView]:
    """Masked search within one platform: `pattern` is an ID, card or mobile number as the operator
    has it — whole, or masked the way the console shows it (`110***********1234`, `622202*0123`):
    each run of `*` matches any characters. At least `MIN_KNOWN_DIGITS` known characters, at most
    `MAX_SEARCH_RESULTS` users. The answer is masked like every other view."""
    platform_no = _platform_no(platform_no)
    pattern = pattern.strip() if isinstance(pattern, str) else ""
    if not SEARCH_RE.fullmatch(pattern) or len(pattern.replace("*", "")) < MIN_KNOWN_DIGITS:
        raise InvalidInput(f"查询号码须为数字（可含 X 与 * 掩码），至少 {MIN_KNOWN_DIGITS} 位已知数字")
    like = re.sub(r"\*+", "%", pattern.upper())
    columns = (custody_users.c.id_card_no, custody_users.c.bankcard_no, custody_users.c.mobile)
    if "%" in like:
        cond = or_(*(func.upper(c).like(like) for c in columns))
    else:
        cond = or_(*(func.upper(c) == like for c in columns))
    rows = conn.execute(select(custody_users).where(custody_users.c.platform_no == platform_no, cond)
                        .order_by(custody_users.c.id).limit(MAX_SEARCH_RESULTS)).mappings()
    return [_user_view(conn, to_user(r)) for r in rows]


def mask_query(pattern: str) -> str:
    """A search string as the page may echo it: masked like an ID number (3 + 4 kept)."""
    return mask_id_card(pattern)


# ---------------------------------------------------------------- reviews


@dataclass(frozen=True)
class ReviewItem:
    user: UserView
    kind: str
    enterprise_name: str | None
    credit_code: str | None
    legal: str | None
    legal_id_card_no: str | None  # masked
    contact: str | None
    contact_phone: str | None  # masked
    remark: str | None


def review_queue(conn: Connection) -> list[ReviewItem]:
    """Enterprise registrations / information updates and special-ID personal registrations waiting
    for a decision, oldest first."""
    items = []
    for user in reviews.pending_reviews(conn)[:MAX_REVIEWS]:
        view = _user_view(conn, user)
        if user.user_type == "ORGANIZATION":
            doc = enterprise.enterprise_documents(conn, user) or {}
            items.append(ReviewItem(
                view, "企业开户/信息修改", doc.get("enterprise_name"),
                doc.get("unified_code") or doc.get("business_license"), doc.get("legal"),
                mask_id_card(doc.get("legal_id_card_no")), doc.get("contact"), mask_mobile(doc.get("contact_phone")),
                doc.get("remark")))
        else:
            items.append(ReviewItem(view, "特殊证件个人开户", None, None, None, None, None, None, None))
    return items


# ---------------------------------------------------------------- notifications


@dataclass(frozen=True)
class NotificationRow:
    id: int
    platform_no: str
    service_name: str
    biz_ref: str
    status: str
    attempt_count: int
    created: str
    next_attempt: str
    deadline: str
    delivered: str
    last_error: str
    resendable: bool


def _notification_row(n: outbox.Notification) -> NotificationRow:
    return NotificationRow(n.id, n.platform_no, n.service_name, n.biz_ref or "", n.status, n.attempt_count,
                           beijing_time(n.created_us),
                           beijing_time(n.next_attempt_us) if n.status == outbox.PENDING else "-",
                           beijing_time(n.deadline_us), beijing_time(n.delivered_us), n.last_error or "",
                           n.status != outbox.DELIVERED)


def notification_list(conn: Connection, status_filter: str = "OPEN", platform_no: str | None = None
                      ) -> list[NotificationRow]:
    """respData is not shown (it may carry personal fields); the attempts page shows the answers."""
    if status_filter not in STATUS_FILTERS:
        raise InvalidInput(f"状态须为 {', '.join(STATUS_FILTERS)} 之一")
    statuses = {"OPEN": (outbox.PENDING, outbox.FAILED), "ALL": outbox.STATUSES}.get(status_filter, (status_filter,))
    if platform_no:
        platform_no = _platform_no(platform_no)
    rows = outbox.list_notifications(conn, platform_no=platform_no or None, statuses=tuple(statuses),
                                     limit=MAX_NOTIFICATIONS)
    return [_notification_row(n) for n in rows]


@dataclass(frozen=True)
class AttemptRow:
    attempt_no: int
    started: str
    duration_ms: int
    answer: str
    excerpt: str
    outcome: str


def notification_detail(conn: Connection, notification_id: int) -> tuple[NotificationRow, str, list[AttemptRow]]:
    try:
        n = outbox.get(conn, notification_id)
    except outbox.NotificationNotFound:
        raise NotFound("通知不存在") from None
    attempts = [AttemptRow(a.attempt_no, beijing_time(a.started_us), a.duration_ms,
                           f"HTTP {a.http_status}" if a.http_status is not None else (a.error_class or "-"),
                           a.response_excerpt or "", a.outcome) for a in outbox.attempts_for(conn, notification_id)]
    return _notification_row(n), n.notify_url, attempts


# ---------------------------------------------------------------- dashboard


@dataclass(frozen=True)
class Dashboard:
    platforms: int
    pending_reviews: int
    notifications: dict[str, int]


def dashboard(conn: Connection) -> Dashboard:
    pending = conn.execute(select(func.count()).select_from(custody_users)
                           .where(custody_users.c.audit_status == "AUDIT")).scalar_one()
    return Dashboard(len(platforms.list_platforms(conn)), int(pending), outbox.count_by_status(conn))
