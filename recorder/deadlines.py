"""The clocks of a matter (issue 21), from the category rules' numbers
(config/rules/categories.toml, read by the caller):

- 承诺答复时间: received + the category's reply time (000 1.4.5 repairs: 十分钟内给您一个答复;
  1.4.4.3 complaints: 8 小时内必须向客户答复);
- 回访期限: counted from the work's completion where the work is done by an order
  (000 1.4.3.6.2 回访时间一般在维修后一星期之内; 安全设施维修两天内回访; 漏水项目维修三天内回访),
  from the call while no work is done yet;
- a work order is due by the category's reply time, and never before the 18:00 check that
  counts it (检查作业指导书 3.3 每日18:00对当日的派工完成情况作检查).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAILY_CHECK_AT = time(18, 0)


@dataclass(frozen=True)
class Clock:
    """A matter's rule: minutes to the promised reply, days to the follow-up."""

    reply_minutes: int
    follow_up_days: int


def promised_reply(received_at: datetime, clock: Clock) -> datetime:
    return received_at + timedelta(minutes=clock.reply_minutes)


def follow_up_due(start: datetime, clock: Clock, timezone: str) -> date:
    """`start` (the call, or the work's completion) + the follow-up days, in local days."""
    return start.astimezone(ZoneInfo(timezone)).date() + timedelta(days=clock.follow_up_days)


def first_check_after(at: datetime, timezone: str) -> datetime:
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    check = datetime.combine(local.date(), DAILY_CHECK_AT, zone)
    return check if local < check else check + timedelta(days=1)


def order_due(dispatched_at: datetime, clock: Clock, timezone: str) -> datetime:
    return max(
        dispatched_at + timedelta(minutes=clock.reply_minutes),
        first_check_after(dispatched_at, timezone),
    )
