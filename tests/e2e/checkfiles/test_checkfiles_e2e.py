"""DOWNLOAD_CHECKFILE and CONFIRM_CHECKFILE over HTTP with the real LanmaoClient against the live server."""

from __future__ import annotations

import io
import zipfile

import checkfiles_builder as builder  # tests/support

from cunguan.custody import check_files
from cunguan.db import ledger_audit

TYPES = ("RECHARGE", "WITHDRAW", "COMMISSION", "TRANSACTION", "BACKROLL_RECHARGE")


def test_download_and_confirm_over_http(engine, live_server, lanmao_client, monkeypatch):
    builder.cheap_hashers(monkeypatch)
    env = builder.CustodyDay(engine, create_platform=False)
    builder.stamp_postings_with(monkeypatch, env.clock)
    live_server.app.state.clock = env.clock
    lanmao_client.now = env.clock.now
    day = builder.build_busy_day(env)
    ymd = day.strftime("%Y%m%d")

    got = lanmao_client.download({"fileDate": ymd})
    assert (got.outcome, got.http_status, got.error) == ("S", 200, None)
    with engine.connect() as conn:
        assert got.content == check_files.download(conn, env.clock, builder.P1, {"fileDate": ymd})
    zf = zipfile.ZipFile(io.BytesIO(got.content))
    assert zf.namelist() == [f"{ymd}_{builder.P1}_{t}.txt" for t in TYPES]
    withdraw = zf.read(f"{ymd}_{builder.P1}_WITHDRAW.txt").decode("utf-8").splitlines()
    assert withdraw[0].startswith("提现时间,平台商编,平台请求流水号") and len(withdraw) == 2
    assert withdraw[1].split(",")[2] == "WD-DAY-1" and withdraw[1].split(",")[5] == "100.00"

    empty = zipfile.ZipFile(io.BytesIO(lanmao_client.download({"fileDate": "20261101"}).content))
    assert all(len(empty.read(n).decode("utf-8").splitlines()) == 1 for n in empty.namelist())

    for bad, code in ((env.today().strftime("%Y%m%d"), "100007"), ("2026-11-24", "100002")):
        refused = lanmao_client.download({"fileDate": bad})
        assert refused.outcome == "F" and refused.error is not None
        assert (refused.error["code"], refused.error["status"], refused.error["errorCode"]) == ("1", "INIT", code)

    detail = [{"fileType": t} for t in TYPES]
    ok = lanmao_client.call("CONFIRM_CHECKFILE", {"requestNo": "CF-E2E-1", "fileDate": ymd, "detail": detail})
    assert (ok.outcome, ok.code, ok.data["status"], ok.data["requestNo"]) == ("S", "0", "SUCCESS", "CF-E2E-1")
    again = lanmao_client.call("CONFIRM_CHECKFILE", {"requestNo": "CF-E2E-2", "fileDate": ymd, "detail": detail})
    assert (again.outcome, again.data["status"], again.error_code) == ("F", "INIT", "100008")
    assert again.error_message == "对账文件已确认，请勿重复确认。"
    short = lanmao_client.call("CONFIRM_CHECKFILE", {"requestNo": "CF-E2E-3", "fileDate": "20261101",
                                                     "detail": detail[:4]})
    assert (short.outcome, short.error_code) == ("F", "100002")
    assert ledger_audit.audit(engine) == []
