"""Opening hours: open or after hours at a given moment, and the next opening."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from hotline.errors import ConfigError
from hotline.settings import OrganizationSettings
from ivr.schedule import Schedule, is_open, next_opening

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def schedule(**org: object) -> Schedule:
    return Schedule.from_settings(OrganizationSettings.model_validate(org))


@pytest.mark.parametrize(
    ("org", "at", "open_"),
    [
        ({}, local(2026, 11, 23, 7, 59), False),
        ({}, local(2026, 11, 23, 8, 0), True),
        ({}, local(2026, 11, 23, 17, 59, 59), True),
        ({}, local(2026, 11, 23, 18, 0), False),  # closing time is after hours
        ({}, local(2026, 11, 28, 10, 0), True),  # every day by default
        ({"working_days": [1, 2, 3, 4, 5]}, local(2026, 11, 28, 10, 0), False),  # Saturday
        ({"working_days": [1, 2, 3, 4, 5]}, local(2026, 11, 27, 10, 0), True),  # Friday
        ({"holidays": ["2026-10-01"]}, local(2026, 10, 1, 10, 0), False),
        ({"holidays": ["2026-10-01"]}, local(2026, 10, 2, 10, 0), True),
        ({"opening_hours": "22:00-06:00"}, local(2026, 11, 23, 23, 0), True),  # overnight desk
        ({"opening_hours": "22:00-06:00"}, local(2026, 11, 24, 5, 59), True),
        ({"opening_hours": "22:00-06:00"}, local(2026, 11, 24, 12, 0), False),
        ({"opening_hours": "22:00-06:00", "working_days": [1]}, local(2026, 11, 24, 5, 0), True),
        ({"opening_hours": "22:00-06:00", "working_days": [2]}, local(2026, 11, 24, 5, 0), False),
        ({"opening_hours": "00:00-24:00"}, local(2026, 11, 23, 23, 59, 59), True),
        ({"opening_hours": "00:00-24:00"}, local(2026, 11, 23, 0, 0), True),
        ({"working_days": []}, local(2026, 11, 23, 10, 0), False),
    ],
)
def test_is_open(org: dict[str, object], at: datetime, open_: bool) -> None:
    assert is_open(schedule(**org), at) is open_


@pytest.mark.parametrize(
    ("utc", "open_"),
    [
        (datetime(2026, 11, 22, 23, 30, tzinfo=UTC), False),  # 07:30 in Shanghai
        (datetime(2026, 11, 23, 0, 30, tzinfo=UTC), True),  # 08:30
        (datetime(2026, 11, 23, 9, 59, tzinfo=UTC), True),  # 17:59
        (datetime(2026, 11, 23, 10, 0, tzinfo=UTC), False),  # 18:00
    ],
)
def test_the_moment_is_read_in_the_desks_time_zone(utc: datetime, open_: bool) -> None:
    assert is_open(schedule(), utc) is open_
    assert is_open(schedule(), utc.astimezone(timezone(timedelta(hours=-5)))) is open_


def test_a_desk_elsewhere_uses_its_own_zone_and_daylight_saving() -> None:
    berlin = schedule(timezone="Europe/Berlin", opening_hours="08:00-18:00")
    # 2026-03-29 is the spring change in Berlin: 08:00 local is 06:00 UTC.
    assert is_open(berlin, datetime(2026, 3, 29, 6, 0, tzinfo=UTC))
    assert not is_open(berlin, datetime(2026, 3, 28, 6, 0, tzinfo=UTC))  # 07:00 CET


@pytest.mark.parametrize(
    ("org", "at", "expected"),
    [
        ({}, local(2026, 11, 23, 20, 30), local(2026, 11, 24, 8, 0)),
        ({}, local(2026, 11, 23, 6, 0), local(2026, 11, 23, 8, 0)),
        ({}, local(2026, 11, 23, 9, 0), local(2026, 11, 24, 8, 0)),  # already open: the next one
        ({"working_days": [1, 2, 3, 4, 5]}, local(2026, 11, 27, 19, 0), local(2026, 11, 30, 8, 0)),
        (
            {"holidays": [f"2026-10-0{d}" for d in range(1, 8)]},
            local(2026, 9, 30, 18, 30),
            local(2026, 10, 8, 8, 0),
        ),
        ({"opening_hours": "22:00-06:00"}, local(2026, 11, 24, 7, 0), local(2026, 11, 24, 22, 0)),
        ({"working_days": []}, local(2026, 11, 23, 20, 30), None),
    ],
)
def test_next_opening(org: dict[str, object], at: datetime, expected: datetime | None) -> None:
    assert next_opening(schedule(**org), at) == expected


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        is_open(schedule(), datetime(2026, 11, 23, 9, 0))


@pytest.mark.parametrize(
    ("org", "message"),
    [
        ({"holidays": ["2026-13-01"]}, "organization.holidays: '2026-13-01' is not a date"),
        ({"holidays": ["Oct 1"]}, "organization.holidays: 'Oct 1' is not a date"),
        ({"working_days": [0, 1]}, "organization.working_days: 0 is not an ISO weekday"),
        ({"working_days": [8]}, "organization.working_days: 8 is not an ISO weekday"),
    ],
)
def test_wrong_days_are_refused_naming_the_setting(org: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        schedule(**org)
