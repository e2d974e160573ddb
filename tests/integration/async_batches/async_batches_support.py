"""Test support for ASYNC_TRANSACTION: a platform, funded users, and a genuine chunk executor.

`transfer_executor` does real work, the way the trade executor will: it claims the detail's requestNo
in the platform register, moves money between two real user accounts with one ledger Transfer
(idempotency key `{platform}:async:{requestNo}`), records the outcome, and refuses with a typed
error (100014) when the payer's available balance is short — inside the runner's savepoint, so a
refused detail leaves no claim, no posting, nothing.

Importable by plain name: the async_batches conftests put this directory on sys.path (the crash test's
subprocess does the same).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from cunguan import money
from cunguan.client import signing
from cunguan.clock import Clock
from cunguan.custody import errors as E
from cunguan.custody import platforms, requests, user_store
from cunguan.custody.async_runner import DetailOutcome, Item, run_items
from cunguan.custody.trade_rules import TradeRequest
from cunguan.custody.user_errors import CustodyUserError, InvalidField
from cunguan.db import ledger_store
from cunguan.db.tables.ledger import postings
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.errors import InsufficientAvailable
from cunguan.ledger.ops import Transfer

PLATFORM_NO = "6000000001"
BIZ_TYPE = "ASYNC_TEST_TRANSFER"
_KEY_PEM: list[str] = []


class Short(CustodyUserError):
    """The payer cannot cover the amount (100014 余额不足)."""

    code = E.INSUFFICIENT_BALANCE
    reason = "INSUFFICIENT_BALANCE"


def public_key_pem() -> str:
    if not _KEY_PEM:
        _KEY_PEM.append(signing.public_key_pem(signing.generate_private_key()))
    return _KEY_PEM[0]


def make_platform(engine: Engine, platform_no: str = PLATFORM_NO,
                  notify_url: str = "http://127.0.0.1:9/notify") -> platforms.Platform:
    now = platforms.now_us(Clock())
    return run_in_transaction(engine, lambda c: platforms.create_platform(
        c, now, platform_no=platform_no, name="测试平台", notify_url=notify_url, public_key_pem=public_key_pem()))


def make_users(engine: Engine, balances: Mapping[str, int], platform_no: str = PLATFORM_NO) -> None:
    """Users (active investors) with the given balances in fen, funded from the custody cash account."""

    def work(conn: Connection) -> None:
        now = platforms.now_us(Clock())
        ops = []
        cash = platforms.get_platform(conn, platform_no).custody_account_id
        for user_no, fen in balances.items():
            user = user_store.create_user(
                conn, now, platform_no=platform_no, platform_user_no=user_no, user_type="PERSONAL",
                user_role="INVESTOR", name=None, id_card_type=None, id_card_no=None, personal_id_unique=False,
                mobile=None, bankcard_no=None, bankcode=None, access_type="FULL_CHECKED", audit_status="PASSED",
                active_status="ACTIVATED", request_no=None)
            if fen:
                ops.append(Transfer(cash, user.ledger_account_id, fen, "TEST_FUNDING", f"fund:{user_no}"))
        ledger_store.apply(conn, ops, atomic=True)

    run_in_transaction(engine, work)


def trade(request_no: str, payer: str, payee: str, amount: str | Decimal) -> dict[str, Any]:
    """A FUNDS_TRANSFER-style bizDetail (as a platform sends it)."""
    return {"requestNo": request_no, "tradeType": "FUNDS_TRANSFER",
            "details": [{"bizType": "FUNDS_TRANSFER", "sourcePlatformUserNo": payer,
                         "targetPlatformUserNo": payee, "amount": Decimal(str(amount))}]}


def _account(conn: Connection, platform_no: str, user_no: object, field: str) -> tuple[str, int]:
    if not isinstance(user_no, str) or not user_no:
        raise InvalidField(f"{field} is required", field=field)
    user = user_store.get_user(conn, platform_no, user_no, field=field)
    return user_no, user.ledger_account_id


def _as_sent(trade_: Any) -> Mapping[str, Any]:
    """The executor gets what acceptance stored: the trade parsed (`TradeRequest`), its refusal, or the
    bizDetail as sent; this test executor reads the bizDetail shape."""
    if isinstance(trade_, BaseException):
        raise trade_
    if isinstance(trade_, TradeRequest):
        return {"details": [{"sourcePlatformUserNo": d.source, "targetPlatformUserNo": d.target,
                             "amount": Decimal(d.amount_fen) / 100} for d in trade_.details]}
    return trade_


def execute_transfer(conn: Connection, clock: Clock, platform_no: str, request_no: str,
                     trade_: Mapping[str, Any]) -> None:
    details = _as_sent(trade_).get("details")
    if not isinstance(details, list) or len(details) != 1:
        raise InvalidField("details must hold exactly one transfer", field="details")
    (detail,) = details
    payer, payer_id = _account(conn, platform_no, detail.get("sourcePlatformUserNo"), "sourcePlatformUserNo")
    requests.claim(conn, clock, platform_no, request_no, "ASYNC_TRANSACTION", payer)
    _, payee_id = _account(conn, platform_no, detail.get("targetPlatformUserNo"), "targetPlatformUserNo")
    amount = money.parse_yuan(detail.get("amount"))
    try:
        ledger_store.apply(conn, [Transfer(payer_id, payee_id, amount, BIZ_TYPE, request_no,
                                           key=f"{platform_no}:async:{request_no}")], atomic=True)
    except InsufficientAvailable as exc:
        raise Short(f"sourcePlatformUserNo {payer}: {exc.message}", field="amount") from None
    requests.record(conn, platform_no, request_no, payer, {"status": "SUCCESS"})


def transfer_executor(conn: Connection, clock: Clock, platform_no: str, items: list[Item]) -> list[DetailOutcome]:
    return run_items(conn, items, lambda request_no, t: execute_transfer(conn, clock, platform_no, request_no, t))


# ---------------------------------------------------------------- reading back


def balance(engine: Engine, user_no: str, platform_no: str = PLATFORM_NO) -> int:
    with engine.connect() as conn:
        user = user_store.get_user(conn, platform_no, user_no)
        return ledger_store.get_balance(conn, user.ledger_account_id)[0]


def postings_for(engine: Engine, refs: Iterable[str]) -> dict[str, int]:
    """Number of test-transfer postings per ref (requestNo)."""
    refs = list(refs)
    out = dict.fromkeys(refs, 0)
    with engine.connect() as conn:
        for start in range(0, len(refs), 500):
            rows = conn.execute(select(postings.c.ref, func.count()).where(
                postings.c.biz_type == BIZ_TYPE, postings.c.ref.in_(refs[start:start + 500])).group_by(postings.c.ref))
            out.update({ref: int(n) for ref, n in rows})
    return out


def fen(yuan: str) -> int:
    return money.parse_yuan(yuan)
