"""Operator actions: each checks the operator's role, runs the business function of its room in one
transaction, and records a `console_actions` row in that same transaction (so the trail has a row if
and only if the change committed). Errors of the other rooms become console errors here, so the pages
map one family of errors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.engine import Connection, Engine

from cunguan.clock import Clock
from cunguan.console import operators, roles
from cunguan.console.errors import ConsoleError, InvalidInput, NotFound
from cunguan.console.operators import Operator, now_us
from cunguan.custody import platforms, reviews
from cunguan.custody.errors import CustodyError, KeyExists, PlatformExists, PlatformNotFound
from cunguan.custody.user_errors import UserNotFound
from cunguan.db.tables.console import console_actions
from cunguan.db.tx import run_in_transaction
from cunguan.notify import outbox

MAX_KEY_BYTES = 16 * 1024
MAX_REMARK_LEN = 200


class Conflict(ConsoleError):
    http_status = 409


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Other rooms' typed errors → console errors (their messages are safe to show)."""
    try:
        yield
    except ConsoleError:
        raise
    except (PlatformNotFound, UserNotFound) as exc:
        raise NotFound(exc.message) from None
    except (PlatformExists, KeyExists) as exc:
        raise Conflict(exc.message) from None
    except CustodyError as exc:
        raise InvalidInput(exc.message) from None
    except outbox.NotificationNotFound:
        raise NotFound("通知不存在") from None
    except outbox.NotResendable:
        raise Conflict("该通知已送达，无需重发") from None


def record(conn: Connection, clock: Clock, actor: Operator, action: str, target: str, detail: str | None = None
           ) -> None:
    conn.execute(console_actions.insert().values(operator_id=actor.id, action=action[:40], target=target[:120],
                                                 detail=None if detail is None else detail[:200],
                                                 created_us=now_us(clock)))


def _key_text(public_key_pem: bytes) -> bytes:
    if not public_key_pem:
        raise InvalidInput("请上传平台公钥文件（PEM）")
    if len(public_key_pem) > MAX_KEY_BYTES:
        raise InvalidInput(f"公钥文件不得超过 {MAX_KEY_BYTES // 1024} KB")
    if b"PRIVATE KEY" in public_key_pem:
        # Not stored, not echoed: the platform should treat that key as exposed and make a new pair.
        raise InvalidInput("上传的是私钥文件。请只上传公钥；私钥不应离开平台，建议平台更换密钥对")
    return public_key_pem


def create_platform(engine: Engine, clock: Clock, actor: Operator, *, platform_no: str, name: str,
                    notify_url: str, key_serial: str, public_key_pem: bytes) -> platforms.Platform:
    """A new platform with its first key, custody account and system accounts (platforms room)."""
    roles.require(actor.role, roles.MANAGE_PLATFORMS)
    pem = _key_text(public_key_pem)

    def work(conn: Connection) -> platforms.Platform:
        platform = platforms.create_platform(conn, platforms.now_us(clock), platform_no=platform_no, name=name,
                                             notify_url=notify_url, public_key_pem=pem,
                                             key_serial=key_serial or "1")
        record(conn, clock, actor, "CREATE_PLATFORM", platform.platform_no, f"key serial {key_serial or '1'}")
        return platform

    with _translated():
        return run_in_transaction(engine, work)


def add_platform_key(engine: Engine, clock: Clock, actor: Operator, *, platform_no: str, key_serial: str,
                     public_key_pem: bytes) -> None:
    roles.require(actor.role, roles.MANAGE_PLATFORMS)
    pem = _key_text(public_key_pem)

    def work(conn: Connection) -> None:
        platforms.add_key(conn, platforms.now_us(clock), platform_no=platform_no, key_serial=key_serial,
                          public_key_pem=pem)
        record(conn, clock, actor, "ADD_PLATFORM_KEY", platform_no, f"key serial {key_serial}")

    with _translated():
        run_in_transaction(engine, work)


def review_user(engine: Engine, clock: Clock, actor: Operator, *, platform_no: str, platform_user_no: str,
                decision: str, remark: str | None) -> reviews.ReviewResult:
    """PASSED / BACK / REFUSED of a user waiting in AUDIT; the platform is notified (users room)."""
    roles.require(actor.role, roles.REVIEW_USERS)
    if decision not in reviews.DECISIONS:
        raise InvalidInput("审核结论须为 通过 / 退回 / 拒绝")
    remark = (remark or "").strip() or None
    if remark is not None and len(remark) > MAX_REMARK_LEN:
        raise InvalidInput(f"审核意见不得超过 {MAX_REMARK_LEN} 字")
    if decision != "PASSED" and remark is None:
        raise InvalidInput("退回或拒绝时请填写审核意见，平台将据此通知用户")

    def work(conn: Connection) -> reviews.ReviewResult:
        result = reviews.review_user(conn, clock, platform_no, platform_user_no,
                                     operator_id=f"console:{actor.username}", decision=decision, remark=remark)
        record(conn, clock, actor, f"REVIEW_{decision}", f"{platform_no}:{platform_user_no}", remark)
        return result

    with _translated():
        return run_in_transaction(engine, work)


def resend_notification(engine: Engine, clock: Clock, actor: Operator, notification_id: int) -> outbox.Notification:
    roles.require(actor.role, roles.RESEND_NOTIFICATIONS)

    def work(conn: Connection) -> outbox.Notification:
        row = outbox.resend(conn, notification_id, clock)
        record(conn, clock, actor, "RESEND_NOTIFICATION", str(notification_id), row.platform_no)
        return row

    with _translated():
        return run_in_transaction(engine, work)


def create_operator(engine: Engine, clock: Clock, actor: Operator, *, username: str, password: str, role: str
                    ) -> Operator:
    roles.require(actor.role, roles.MANAGE_OPERATORS)

    def work(conn: Connection) -> Operator:
        created = operators.create_operator(conn, clock, username=username, password=password, role=role)
        record(conn, clock, actor, "CREATE_OPERATOR", created.username, created.role)
        return created

    return run_in_transaction(engine, work)  # OperatorExists is already a 409 console error
