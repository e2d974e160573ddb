"""Check files (对账文件, protocol §1.8, §2.8, §3.23, §3.24, §5.9): DOWNLOAD_CHECKFILE and CONFIRM_CHECKFILE.

A platform downloads the files of one Beijing business date (`fileDate`, normally yesterday) as one ZIP
holding `{fileDate}_{platformNo}_{TYPE}.txt` for the five types RECHARGE, WITHDRAW, COMMISSION,
TRANSACTION, BACKROLL_RECHARGE; reconciles; then confirms the day with CONFIRM_CHECKFILE listing the five
types. A second confirmation of the same day answers 100008 "对账文件已确认，请勿重复确认。".

Where the rows come from:
- RECHARGE, WITHDRAW, BACKROLL_RECHARGE and the recharge/withdraw commissions:
  `money_queries.check_file_rows` (verified against §3.24: RECHARGE column 5 充值订单编号 is the bank's
  recharge order number, column 16 支付公司订单号 the payment company's).
- TRANSACTION: one line per trade detail (SYNC and ASYNC trades, VERIFY_DEDUCT) of the day;
  COMMISSION adds one line per trade detail of bizType COMMISSION or DEDUCT (the fees a trade pays to
  the platform), after the recharge/withdraw commissions; lines sorted by time.

Decisions where the spec is silent:
- Files are UTF-8 without BOM, lines end with "\\n" (the last one too); the header line holds the §3.24
  Chinese column titles. Parsers split on "," with a column limit and no quoting, so a comma, CR or
  LF inside a free-text value (remark, customDefine) is replaced by "，" / a space — never quoted.
- 会员编号 (member number) columns carry the platformUserNo: we number users by it.
- A trade detail's 订单号 is `T{trade id:012d}{seq:03d}`: the bank's own number for one movement.
- Amounts are written as the wire writes them: yuan with two decimals (`100.00`); times
  `yyyyMMddHHmmss` Beijing; empty optional values are empty columns.
- Only a day that is over can be downloaded or confirmed: `fileDate` today or later (Beijing, by
  the injected clock) answers 100007 "对账文件尚未生成". A past day without records gives header-only
  files (§5.9 [I]).
- The ZIP is deterministic (fixed member order and timestamps = the file date at 00:00), so the same
  day downloads to the same bytes until a late record of that day appears.
- CONFIRM_CHECKFILE: `detail` must list each of the five types exactly once (other, missing or repeated
  types → 100002, field `detail`); an optional `fileSign` per entry (demo variant) is accepted and not
  checked. The requestNo is claimed in the platform-wide register (100013 on reuse); a repeat of a
  confirmed day answers 100008 whatever its requestNo.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from cunguan.clock import BEIJING, Clock
from cunguan.custody import requests
from cunguan.custody.errors import CustodyError
from cunguan.custody.money_queries import CURRENCY, check_file_rows
from cunguan.custody.recharges import us_to_dt, wire_time
from cunguan.custody.user_errors import InvalidField, QueryTargetNotFound
from cunguan.custody.user_store import check_platform_no
from cunguan.db.tables.custody_trades import custody_trade_details, custody_trades
from cunguan.db.tables.reconcile import custody_checkfile_confirms
from cunguan.money import format_yuan

DOWNLOAD_SERVICE = "DOWNLOAD_CHECKFILE"
CONFIRM_SERVICE = "CONFIRM_CHECKFILE"
FILE_TYPES = ("RECHARGE", "WITHDRAW", "COMMISSION", "TRANSACTION", "BACKROLL_RECHARGE")
CONFIRMED_TEXT = "对账文件已确认，请勿重复确认。"
TRADE_FEE_TYPES = ("COMMISSION", "DEDUCT")

HEADERS: dict[str, tuple[str, ...]] = {
    "RECHARGE": ("充值时间", "平台商编", "支付公司代码", "平台请求流水号", "充值订单编号", "业务类型", "金额", "币种",
                 "会员编号", "平台用户编号", "银行卡号", "银行编码", "支付方式", "到账金额", "备注", "支付公司订单号"),
    "WITHDRAW": ("提现时间", "平台商编", "平台请求流水号", "订单号", "业务类型", "金额", "币种", "会员编号",
                 "平台用户编号", "银行卡号", "银行编码", "到账金额", "备注", "提现状态", "提现方式", "垫资金额",
                 "出款类型", "提现类型"),
    "TRANSACTION": ("发生时间", "平台商编", "平台请求流水号", "订单号", "业务类型", "金额", "利息金额", "币种",
                    "发起方会员编号", "发起方平台用户编号", "接收方会员编号", "接收方平台用户编号", "标的号",
                    "原订单号", "备注", "债权份额", "商户自定义参数"),
    "COMMISSION": ("扣款时间", "平台商编", "订单号", "业务类型", "发起方平台用户编号", "接收方平台用户编号", "金额",
                   "币种", "标的号", "备注", "请求流水号"),
    "BACKROLL_RECHARGE": ("充值时间", "平台商编", "支付公司代码", "回充请求流水号", "回充订单编号", "业务类型", "金额",
                          "币种", "会员编号", "平台用户编号", "支付方式", "提现到账金额", "提现佣金", "备注",
                          "提现请求流水号"),
}
assert [len(HEADERS[t]) for t in FILE_TYPES] == [16, 18, 11, 17, 15]


class CheckFileNotReady(QueryTargetNotFound):
    """The day asked for is not over yet: its files do not exist (100007)."""


class CheckFileConfirmed(CustodyError):
    """The day was already confirmed (100008, the vendor's exact text)."""

    code = "100008"


# ---------------------------------------------------------------- fields


def parse_file_date(value: object) -> dt.date:
    if value is None or value == "":
        raise InvalidField("fileDate is required (yyyyMMdd)", field="fileDate")
    if not isinstance(value, str) or len(value) != 8 or not value.isdigit():
        raise InvalidField("fileDate must be a date yyyyMMdd", field="fileDate")
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise InvalidField("fileDate is not a real date", field="fileDate") from None


def require_day_over(clock: Clock, day: dt.date) -> None:
    """Files exist for Beijing days that are over (by the injected clock)."""
    if day >= clock.beijing_date():
        raise CheckFileNotReady(f"fileDate {day:%Y%m%d}: 对账文件尚未生成（该日尚未结束）", field="fileDate")


def file_name(day: dt.date, platform_no: str, file_type: str) -> str:
    assert file_type in FILE_TYPES
    return f"{day:%Y%m%d}_{platform_no}_{file_type}.txt"


# ---------------------------------------------------------------- rows


def _clean(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace(",", "，").replace("\r", " ").replace("\n", " ")


def day_bounds_us(day: dt.date) -> tuple[int, int]:
    """[start, end) of a Beijing day in UTC microseconds."""
    start = dt.datetime.combine(day, dt.time(0), BEIJING)
    epoch = us_to_dt(0)
    return ((start - epoch) // dt.timedelta(microseconds=1),
            (start + dt.timedelta(days=1) - epoch) // dt.timedelta(microseconds=1))


def trade_order_no(trade_id: int, seq: int) -> str:
    return f"T{trade_id:012d}{seq:03d}"


def _trade_details(conn: Connection, platform_no: str, day: dt.date, biz_types: Sequence[str] | None = None):
    start, end = day_bounds_us(day)
    d, t = custody_trade_details.c, custody_trades.c
    stmt = (select(custody_trade_details, t.trade_type).join(custody_trades, t.id == d.trade_id)
            .where(d.platform_no == platform_no, d.created_us >= start, d.created_us < end)
            .order_by(d.created_us, d.trade_id, d.seq))
    if biz_types is not None:
        stmt = stmt.where(d.biz_type.in_(list(biz_types)))
    return conn.execute(stmt).mappings().all()


def _transaction_rows(conn: Connection, platform_no: str, day: dt.date) -> list[tuple[str, ...]]:
    y = format_yuan
    return [(wire_time(r["created_us"]) or "", platform_no, r["request_no"], trade_order_no(int(r["trade_id"]), int(r["seq"])),
             r["biz_type"], y(int(r["amount_fen"])), y(int(r["income_fen"])), CURRENCY, r["source_user_no"],
             r["source_user_no"], r["target_user_no"], r["target_user_no"], r["project_no"] or "",
             r["freeze_request_no"] or "", r["remark"] or "", "" if r["share_fen"] is None else y(int(r["share_fen"])),
             r["custom_define"] or "") for r in _trade_details(conn, platform_no, day)]


def _trade_commission_rows(conn: Connection, platform_no: str, day: dt.date) -> list[tuple[str, ...]]:
    return [(wire_time(r["created_us"]) or "", platform_no, trade_order_no(int(r["trade_id"]), int(r["seq"])),
             r["trade_type"], r["source_user_no"], r["target_user_no"], format_yuan(int(r["amount_fen"])), CURRENCY,
             r["project_no"] or "", r["remark"] or "", r["request_no"])
            for r in _trade_details(conn, platform_no, day, TRADE_FEE_TYPES)]


def rows_for(conn: Connection, platform_no: str, day: dt.date, file_type: str) -> list[tuple[str, ...]]:
    """The records of one check file, columns in §3.24 order, as text (no header)."""
    if file_type == "TRANSACTION":
        rows = _transaction_rows(conn, platform_no, day)
    elif file_type == "COMMISSION":
        rows = sorted(check_file_rows(conn, platform_no, day, "COMMISSION") + _trade_commission_rows(conn, platform_no, day))
    elif file_type in ("RECHARGE", "WITHDRAW", "BACKROLL_RECHARGE"):
        rows = check_file_rows(conn, platform_no, day, file_type)
    else:
        raise ValueError(f"not a check file type: {file_type!r}")
    width = len(HEADERS[file_type])
    assert all(len(r) == width for r in rows), f"{file_type} rows must have {width} columns"
    return rows


def render_file(file_type: str, rows: Iterable[Sequence[object]]) -> bytes:
    lines = [",".join(HEADERS[file_type])]
    lines += [",".join(_clean(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def build_zip(conn: Connection, platform_no: str, day: dt.date) -> bytes:
    """The ZIP of the five files of `day` (deterministic bytes for the same records)."""
    out = io.BytesIO()
    stamp = (day.year, day.month, day.day, 0, 0, 0)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for file_type in FILE_TYPES:
            info = zipfile.ZipInfo(file_name(day, platform_no, file_type), date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, render_file(file_type, rows_for(conn, platform_no, day, file_type)))
    return out.getvalue()


def download(conn: Connection, clock: Clock, platform_no: str, req: dict[str, Any]) -> bytes:
    """DOWNLOAD_CHECKFILE: read-only."""
    check_platform_no(platform_no)
    day = parse_file_date(req.get("fileDate"))
    require_day_over(clock, day)
    return build_zip(conn, platform_no, day)


# ---------------------------------------------------------------- confirmation


@dataclass(frozen=True)
class Confirmation:
    platform_no: str
    file_date: dt.date
    request_no: str
    file_types: tuple[str, ...]
    confirmed_us: int


def _detail_types(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidField("detail must be a list of {\"fileType\": ...} for the five check-file types", field="detail")
    seen: list[str] = []
    for i, item in enumerate(value):
        file_type = item.get("fileType") if isinstance(item, dict) else None
        if file_type not in FILE_TYPES:
            raise InvalidField(f"detail[{i}].fileType must be one of {', '.join(FILE_TYPES)}", field="detail")
        if file_type in seen:
            raise InvalidField(f"detail[{i}].fileType {file_type} is listed twice", field="detail")
        seen.append(file_type)
    missing = [t for t in FILE_TYPES if t not in seen]
    if missing:
        raise InvalidField(f"detail lacks fileType {', '.join(missing)}", field="detail")
    return tuple(seen)


def find_confirmation(conn: Connection, platform_no: str, day: dt.date) -> Confirmation | None:
    c = custody_checkfile_confirms.c
    row = conn.execute(select(custody_checkfile_confirms).where(
        c.platform_no == platform_no, c.file_date == day.strftime("%Y%m%d"))).mappings().first()
    if row is None:
        return None
    return Confirmation(row["platform_no"], day, row["request_no"], tuple(row["file_types"].split(",")),
                        int(row["confirmed_us"]))


def confirm(conn: Connection, clock: Clock, platform_no: str, req: dict[str, Any]) -> dict[str, Any]:
    """CONFIRM_CHECKFILE, in the caller's transaction: the confirmation row and the requestNo claim."""
    check_platform_no(platform_no)
    request_no = requests.request_no(req.get("requestNo"))
    day = parse_file_date(req.get("fileDate"))
    types = _detail_types(req.get("detail"))
    require_day_over(clock, day)
    if find_confirmation(conn, platform_no, day) is not None:
        raise CheckFileConfirmed(field="fileDate", message=CONFIRMED_TEXT)
    requests.claim(conn, clock, platform_no, request_no, CONFIRM_SERVICE, None)
    now = requests.clock_us(clock)
    conn.execute(custody_checkfile_confirms.insert().values(
        platform_no=platform_no, file_date=day.strftime("%Y%m%d"), request_no=request_no, file_types=",".join(types),
        confirmed_us=now))
    requests.record(conn, platform_no, request_no, None, {"fileDate": day.strftime("%Y%m%d")})
    return {"requestNo": request_no}
