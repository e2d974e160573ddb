"""The reqData timestamp: Beijing time, within ±window of the injected clock (protocol §1.4)."""

from __future__ import annotations

import datetime as dt

import pytest

from cunguan.api.lanmao.reqdata import check_timestamp, parse_timestamp
from cunguan.clock import BEIJING, FixedClock
from cunguan.custody.errors import InvalidRequest

NOW = dt.datetime(2026, 11, 23, 4, 0, 0, tzinfo=dt.UTC)  # 12:00:00 in Beijing


def _ts(delta_s: int) -> str:
    return (NOW + dt.timedelta(seconds=delta_s)).astimezone(BEIJING).strftime("%Y%m%d%H%M%S")


def test_parse_is_beijing() -> None:
    assert parse_timestamp("20261123120000") == NOW
    assert parse_timestamp(20261123120000) == NOW


@pytest.mark.parametrize("delta_s", [0, 600, -600, 599, -599])
def test_inside_the_window(delta_s: int) -> None:
    assert check_timestamp({"timestamp": _ts(delta_s)}, FixedClock(NOW), 600) == NOW + dt.timedelta(seconds=delta_s)


@pytest.mark.parametrize("delta_s, side", [(601, "ahead of"), (-601, "behind"), (86400 * 400, "ahead of")])
def test_outside_the_window(delta_s: int, side: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        check_timestamp({"timestamp": _ts(delta_s)}, FixedClock(NOW), 600)
    assert info.value.code == "100002" and info.value.field == "timestamp" and side in info.value.message
    assert "20261123120000" in info.value.message  # the bank clock, so the platform can see its skew


def test_window_is_configurable() -> None:
    check_timestamp({"timestamp": _ts(-3000)}, FixedClock(NOW), 3600)
    with pytest.raises(InvalidRequest):
        check_timestamp({"timestamp": _ts(-61)}, FixedClock(NOW), 60)


@pytest.mark.parametrize("value", [None, "", "2026112312000", "202611231200000", "2026-11-23T12:00", "20261131120000",
                                   "20261123250000", True, 1.5, ["20261123120000"], "２０２６１１２３１２００００"])
def test_malformed(value) -> None:
    req = {} if value is None else {"timestamp": value}
    with pytest.raises(InvalidRequest) as info:
        check_timestamp(req, FixedClock(NOW), 600)
    assert info.value.field == "timestamp"
