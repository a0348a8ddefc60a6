"""The rules a resident expects of calls the agent places (issue 22), as pure functions.

- no call outside the calling hours (09:00-20:00 local by default), never on a quiet day
  (an ISO weekday or a date the site names);
- at most `attempts` attempts, `spacing` apart, each at a moment the hours allow;
- a task past its last moment (`not_after`) is given up, never called late.

Time comes in as an argument (the clock seam): nothing here reads the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def parse_hours(value: str) -> tuple[time, time]:
    """Parse "09:00-20:00" into (09:00, 20:00); "24:00" is the end of the day."""
    try:
        start, end = (part.strip() for part in value.split("-"))
        bounds = []
        for part in (start, end):
            hour, minute = (int(x) for x in part.split(":"))
            if not (0 <= hour <= 24 and 0 <= minute < 60) or (hour == 24 and minute):
                raise ValueError
            bounds.append(time.max if hour == 24 else time(hour, minute))
    except ValueError:
        raise ValueError(f"{value!r}: expected HH:MM-HH:MM, e.g. 09:00-20:00") from None
    if bounds[0] >= bounds[1]:
        raise ValueError(f"{value!r}: the hours must start before they end")
    return bounds[0], bounds[1]


@dataclass(frozen=True)
class CallingHours:
    """When a resident may be called: local hours, minus quiet weekdays and dates."""

    timezone: str = "Asia/Shanghai"
    start: time = time(9, 0)
    end: time = time(20, 0)
    #: ISO weekdays (1 Monday ... 7 Sunday) with no calls.
    quiet_weekdays: frozenset[int] = frozenset()
    quiet_dates: frozenset[date] = frozenset()

    def _quiet(self, day: date) -> bool:
        return day.isoweekday() in self.quiet_weekdays or day in self.quiet_dates

    def allows(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.timezone))
        return not self._quiet(local.date()) and self.start <= local.time() < self.end

    def next_allowed(self, at: datetime) -> datetime | None:
        """The earliest moment at or after `at` the hours allow (None: no such day in a
        year, every day quiet)."""
        zone = ZoneInfo(self.timezone)
        local = at.astimezone(zone)
        for offset in range(367):
            day = local.date() + timedelta(days=offset)
            if self._quiet(day):
                continue
            opens = datetime.combine(day, self.start, zone)
            closes = datetime.combine(day, self.end, zone)
            if offset == 0 and local >= closes:
                continue
            return max(opens, local) if offset == 0 else opens
        return None


@dataclass(frozen=True)
class Attempts:
    """How often and how far apart a task is tried."""

    attempts: int = 3
    spacing: timedelta = timedelta(minutes=60)


@dataclass(frozen=True)
class Next:
    """What becomes of a task after an attempt: tried again at `at`, or given up."""

    at: datetime | None
    attempts_left: int
    why: str = ""


@dataclass(frozen=True)
class Plan:
    hours: CallingHours = field(default_factory=CallingHours)
    attempts: Attempts = field(default_factory=Attempts)

    def after_attempt(self, now: datetime, attempts_left: int, not_after: datetime | None) -> Next:
        """After an attempt that did not settle the task (no answer, busy, rejected...):
        one attempt fewer, the next one `spacing` later within the hours, or none."""
        left = max(0, attempts_left - 1)
        if left == 0:
            return Next(None, 0, "no attempts left")
        at = self.hours.next_allowed(now + self.attempts.spacing)
        if at is None or (not_after is not None and at >= not_after):
            return Next(None, left, "past the last moment to call")
        return Next(at, left)

    def first_at(self, not_before: datetime) -> datetime | None:
        return self.hours.next_allowed(not_before)
