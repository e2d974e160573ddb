"""When payouts are paid: the rules we picked, on the Chinese working-day calendar (cunguan.calendar_cn).

- NORMAL (T1 出款): paid on the next working day after the Beijing date the withdrawal was accepted —
  a Friday withdrawal is paid on Monday, one made on 2025-09-30 is paid on 2025-10-09 (National Day),
  and one made on a Friday before a make-up working Saturday is paid on that Saturday.
- NORMAL_URGENT (普通 T0) and URGENT (实时 T0): paid the same Beijing day, working day or not; on
  non-working time the platform's advance account fronts the unsettled part (the withdrawal service's
  business, protocol §5.5).
- Working time (营业时间) is 08:30–17:00 Beijing on a working day: the hours of the large-value
  payment system (HVPS) that corporate real-time payouts go through. An URGENT payout to a corporate
  account outside working time is refused (protocol 100018 "当前时间不受理加急对公提现").
- NORMAL payouts are executed in the channel's morning batch, at `NORMAL_BATCH_TIME` on the remit date.
"""

from __future__ import annotations

import datetime as dt

from cunguan.calendar_cn import is_working_day, next_working_day
from cunguan.clock import BEIJING, to_beijing

WORKING_TIME_START = dt.time(8, 30)
WORKING_TIME_END = dt.time(17, 0)
NORMAL_BATCH_TIME = dt.time(10, 0)

T0_TYPES = frozenset({"NORMAL_URGENT", "URGENT"})


def is_working_time(at: dt.datetime) -> bool:
    """True on a working day between 08:30 (inclusive) and 17:00 (exclusive), Beijing time."""
    local = to_beijing(at)
    return is_working_day(local.date()) and WORKING_TIME_START <= local.time() < WORKING_TIME_END


def remit_date(remit_type: str, accepted_at: dt.datetime) -> dt.date:
    """The Beijing date a payout accepted at `accepted_at` is paid on."""
    day = to_beijing(accepted_at).date()
    if remit_type in T0_TYPES:
        return day
    if remit_type == "NORMAL":
        return next_working_day(day)
    raise ValueError(f"unknown remit type {remit_type!r}")


def normal_batch_at(day: dt.date) -> dt.datetime:
    """When the NORMAL batch of `day` runs (aware, Beijing)."""
    return dt.datetime.combine(day, NORMAL_BATCH_TIME, BEIJING)
