"""Opening hours: is the desk open at a given moment, and when does it open next.

Pure functions over a `Schedule` built once from `settings.organization`;
the time is always passed in (an aware datetime), never read here, so the
after-hours script can be tested for any evening, weekend or holiday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ivr.errors import ConfigError
from recorder.settings import OrganizationSettings

#: Far enough to step over any run of holidays and days off.
_SEARCH_DAYS = 400
_END_OF_DAY = time(0)


@dataclass(frozen=True)
class Schedule:
    """When the desk answers: daily hours on working days, except holidays."""

    opens: time
    closes: time
    #: ISO weekdays, 1 = Monday ... 7 = Sunday.
    working_days: frozenset[int]
    holidays: frozenset[date]
    zone: ZoneInfo

    @classmethod
    def from_settings(cls, org: OrganizationSettings) -> Schedule:
        start, end = org.opening_hours.split("-")
        holidays = set()
        for item in org.holidays:
            try:
                holidays.add(date.fromisoformat(item))
            except ValueError:
                raise ConfigError(
                    f"organization.holidays: {item!r} is not a date such as 2026-10-01"
                ) from None
        for day in org.working_days:
            if not 1 <= day <= 7:
                raise ConfigError(
                    f"organization.working_days: {day} is not an ISO weekday (1 = Monday ... 7 = Sunday)"
                )
        return cls(
            opens=_clock(start),
            closes=_clock(end),
            working_days=frozenset(org.working_days),
            holidays=frozenset(holidays),
            zone=ZoneInfo(org.timezone),
        )


def _clock(text: str) -> time:
    hour, minute = (int(part) for part in text.split(":"))
    return _END_OF_DAY if hour == 24 else time(hour, minute)


def is_working_day(schedule: Schedule, day: date) -> bool:
    return day.isoweekday() in schedule.working_days and day not in schedule.holidays


def _local(schedule: Schedule, at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: pass an aware datetime")
    return at.astimezone(schedule.zone)


def _span(schedule: Schedule, day: date) -> tuple[datetime, datetime]:
    """The opening and closing moments of the hours that start on `day`.

    Hours such as 22:00-06:00 run past midnight; 00:00-24:00 is the whole day.
    """
    opens = datetime.combine(day, schedule.opens, tzinfo=schedule.zone)
    close_day = day + timedelta(days=1) if schedule.closes <= schedule.opens else day
    closes = datetime.combine(close_day, schedule.closes, tzinfo=schedule.zone)
    return opens, closes


def is_open(schedule: Schedule, at: datetime) -> bool:
    """Whether a call arriving at `at` is within opening hours."""
    local = _local(schedule, at)
    for day in (local.date() - timedelta(days=1), local.date()):
        if not is_working_day(schedule, day):
            continue
        opens, closes = _span(schedule, day)
        if opens <= local < closes:
            return True
    return False


def next_opening(schedule: Schedule, at: datetime) -> datetime | None:
    """The first opening moment after `at` (local time), or None if never open."""
    local = _local(schedule, at)
    for offset in range(_SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        if not is_working_day(schedule, day):
            continue
        opens, _ = _span(schedule, day)
        if opens > local:
            return opens
    return None
