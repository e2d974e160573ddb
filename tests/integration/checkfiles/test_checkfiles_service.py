"""DOWNLOAD_CHECKFILE / CONFIRM_CHECKFILE against a day built through the real money and trade services."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import checkfiles_builder as builder  # tests/support
import pytest
from sqlalchemy import func, select

from cunguan.custody import check_files
from cunguan.custody.errors import CustodyError
from cunguan.db.tables.custody_users import custody_requests
from cunguan.db.tables.reconcile import custody_checkfile_confirms
from cunguan.db.tx import run_in_transaction

P1 = builder.P1
ALL_TYPES = [{"fileType": t} for t in ("RECHARGE", "WITHDRAW", "COMMISSION", "TRANSACTION", "BACKROLL_RECHARGE")]

HEADERS = {
    "RECHARGE": "充值时间,平台商编,支付公司代码,平台请求流水号,充值订单编号,业务类型,金额,币种,会员编号,平台用户编号,"
                "银行卡号,银行编码,支付方式,到账金额,备注,支付公司订单号",
    "WITHDRAW": "提现时间,平台商编,平台请求流水号,订单号,业务类型,金额,币种,会员编号,平台用户编号,银行卡号,银行编码,"
                "到账金额,备注,提现状态,提现方式,垫资金额,出款类型,提现类型",
    "COMMISSION": "扣款时间,平台商编,订单号,业务类型,发起方平台用户编号,接收方平台用户编号,金额,币种,标的号,备注,请求流水号",
    "TRANSACTION": "发生时间,平台商编,平台请求流水号,订单号,业务类型,金额,利息金额,币种,发起方会员编号,发起方平台用户编号,"
                   "接收方会员编号,接收方平台用户编号,标的号,原订单号,备注,债权份额,商户自定义参数",
    "BACKROLL_RECHARGE": "充值时间,平台商编,支付公司代码,回充请求流水号,回充订单编号,业务类型,金额,币种,会员编号,平台用户编号,"
                         "支付方式,提现到账金额,提现佣金,备注,提现请求流水号",
}


def _download(env, day: dt.date) -> bytes:
    with env.engine.connect() as conn:
        return check_files.download(conn, env.clock, P1, {"fileDate": day.strftime("%Y%m%d")})


def _files(blob: bytes) -> dict[str, bytes]:
    zf = zipfile.ZipFile(io.BytesIO(blob))
    assert zf.testzip() is None
    return {name: zf.read(name) for name in zf.namelist()}


def _confirm(env, request_no: str, day: str, detail=None):
    req = {"requestNo": request_no, "fileDate": day, "detail": ALL_TYPES if detail is None else detail}
    return run_in_transaction(env.engine, lambda conn: check_files.confirm(conn, env.clock, P1, req))


def _refused(code: str, fn, *args) -> CustodyError:
    with pytest.raises(CustodyError) as info:
        fn(*args)
    assert info.value.code == code, info.value.message
    return info.value


def test_a_busy_day_gives_the_five_files_byte_exact(day_env):
    day = builder.build_busy_day(day_env)
    recharge = day_env.recharge_row("RC-DAY-1")
    paid = day_env.withdrawal("WD-DAY-1")
    intercepted = day_env.withdrawal("WD-DAY-2")
    assert (paid["status"], intercepted["status"], intercepted["closed_reason"]) == ("SUCCESS", "FAIL", "INTERCEPTED")
    t = day_env.trade_id("REL-1")
    rc, rco, wd = recharge["order_no"], recharge["company_order_no"], paid["order_no"]
    br = f"BR{intercepted['id']:016d}"
    card = paid["bankcard_masked"]
    assert card and "*" in card
    expected = {
        "20261124_6000000001_RECHARGE.txt": [
            f"20261124101530,6000000001,YEEPAY,RC-DAY-1,{rc},RECHARGE,200.50,CNY,inv-2,inv-2,,,WEB,198.00,,{rco}"],
        "20261124_6000000001_WITHDRAW.txt": [
            f"20261124110010,6000000001,WD-DAY-1,{wd},WITHDRAW,100.00,CNY,inv-1,inv-1,{card},ICBK,98.75,,SUCCESS,"
            "URGENT,0.00,URGENT,IMMEDIATE"],
        "20261124_6000000001_COMMISSION.txt": [
            f"20261124101530,6000000001,{rc},RECHARGE,inv-2,SYS_GENERATE_004,2.50,CNY,,,RC-DAY-1",
            f"20261124110010,6000000001,{wd},WITHDRAW,inv-1,SYS_GENERATE_004,1.25,CNY,,,WD-DAY-1",
            f"20261124150000,6000000001,T{t:012d}002,TENDER,bor-1,SYS_GENERATE_004,20.00,CNY,PRJ-1,服务费，首期,REL-1"],
        "20261124_6000000001_TRANSACTION.txt": [
            f"20261124150000,6000000001,REL-1,T{t:012d}000,TENDER,600.00,0.00,CNY,inv-1,inv-1,bor-1,bor-1,PRJ-1,BID-1,,,",
            f"20261124150000,6000000001,REL-1,T{t:012d}001,TENDER,400.00,0.00,CNY,inv-2,inv-2,bor-1,bor-1,PRJ-1,BID-2,,,",
            f"20261124150000,6000000001,REL-1,T{t:012d}002,COMMISSION,20.00,0.00,CNY,bor-1,bor-1,SYS_GENERATE_004,"
            "SYS_GENERATE_004,PRJ-1,,服务费，首期,,"],
        "20261124_6000000001_BACKROLL_RECHARGE.txt": [
            f"20261124133000,6000000001,,{br},{br},BACKROLL_RECHARGE,50.00,CNY,inv-2,inv-2,BACKROLL,49.50,0.50,"
            "INTERCEPT,WD-DAY-2"],
    }
    blob = _download(day_env, day)
    files = _files(blob)
    assert list(files) == list(expected)  # §3.23 order, {fileDate}_{platformNo}_{TYPE}.txt
    for name, lines in expected.items():
        file_type = name.split("_", 2)[2][:-4]
        assert files[name] == ("\n".join([HEADERS[file_type], *lines]) + "\n").encode("utf-8"), name
        for line in lines:  # exactly the §3.24 column count, whatever the content
            assert len(line.split(",")) == len(HEADERS[file_type].split(","))
    assert _download(day_env, day) == blob  # deterministic bytes
    # Monday's files hold Monday's two funding recharges only
    monday = _files(_download(day_env, day - dt.timedelta(days=1)))
    lines = monday["20261123_6000000001_RECHARGE.txt"].decode().splitlines()
    assert [line.split(",")[3] for line in lines[1:]] == ["RC-FUND-1", "RC-FUND-2"]
    assert monday["20261123_6000000001_TRANSACTION.txt"].decode() == HEADERS["TRANSACTION"] + "\n"


def test_a_day_without_records_gives_header_only_files(day_env):
    day_env.at(dt.date(2026, 11, 24), 9)
    files = _files(_download(day_env, dt.date(2026, 11, 22)))
    assert sorted(files) == sorted(f"20261122_6000000001_{t}.txt" for t in HEADERS)
    for name, content in files.items():
        assert content == (HEADERS[name.split("_", 2)[2][:-4]] + "\n").encode("utf-8")


def test_another_platforms_records_stay_out(day_env):
    other = builder.CustodyDay(day_env.engine, day_env.clock, platform_no="6000000002")
    other.user("x-1")
    other.recharge("x-1", "RC-OTHER", "10")
    day_env.user("inv-9")
    day_env.recharge("inv-9", "RC-MINE", "20")
    day_env.next_working_day()
    lines = _files(_download(day_env, dt.date(2026, 11, 23)))["20261123_6000000001_RECHARGE.txt"].decode().splitlines()
    assert [line.split(",")[3] for line in lines[1:]] == ["RC-MINE"]


def test_only_days_that_are_over_and_real_dates(day_env):
    today = day_env.today()
    for day in (today, today + dt.timedelta(days=3)):
        err = _refused("100007", _download, day_env, day)
        assert err.field == "fileDate" and "尚未生成" in err.message
    for bad in ("2026-11-22", "20261131", "", None, 20261122):
        with day_env.engine.connect() as conn:
            err = _refused("100002", check_files.download, conn, day_env.clock, P1, {"fileDate": bad})
        assert err.field == "fileDate"


def _confirm_count(env) -> int:
    with env.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(custody_checkfile_confirms)).scalar_one()


def test_confirm_once_then_100008(day_env):
    assert _confirm(day_env, "CF-1", "20261122") == {"requestNo": "CF-1"}
    with day_env.engine.connect() as conn:
        stored = check_files.find_confirmation(conn, P1, dt.date(2026, 11, 22))
    assert stored is not None and stored.request_no == "CF-1" and stored.file_types == tuple(HEADERS)
    for request_no in ("CF-2", "CF-1"):  # a repeat, with a new or the same requestNo
        err = _refused("100008", _confirm, day_env, request_no, "20261122")
        assert err.message == "对账文件已确认，请勿重复确认。"
    assert _confirm_count(day_env) == 1
    with day_env.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(custody_requests).where(
            custody_requests.c.request_no == "CF-2")).scalar_one() == 0
    # another day is its own confirmation; a used requestNo is 100013
    _refused("100013", _confirm, day_env, "CF-1", "20261121")
    _confirm(day_env, "CF-3", "20261121", list(reversed(ALL_TYPES)))
    assert _confirm_count(day_env) == 2


@pytest.mark.parametrize("detail", [
    ALL_TYPES[:4],
    [*ALL_TYPES, {"fileType": "BALANCE"}],
    [*ALL_TYPES, {"fileType": "RECHARGE"}],
    [{"fileType": "USER"}],
    [],
    "RECHARGE,WITHDRAW",
    [*ALL_TYPES[:4], "BACKROLL_RECHARGE"],
])
def test_confirm_needs_the_five_types_exactly(day_env, detail):
    err = _refused("100002", _confirm, day_env, "CF-X", "20261122", detail)
    assert err.field == "detail"
    assert _confirm_count(day_env) == 0


def test_confirm_refuses_a_day_not_over(day_env):
    _refused("100007", _confirm, day_env, "CF-T", day_env.today().strftime("%Y%m%d"))
    _refused("100002", _confirm, day_env, "CF-T", "2026-11-22")
    assert _confirm_count(day_env) == 0
