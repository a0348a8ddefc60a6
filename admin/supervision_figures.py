"""What the supervisor pages show: periods in local days, chart data, the month's figures.

The figures themselves are counted by recorder/supervision.py; this module
only cuts periods, puts labels on keys and shapes the data for Chart.js and CSV.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import format_percent
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from admin import present
from recorder import supervision
from recorder.supervision import ServiceLevel, Threshold

PERIODS = ("today", "week", "month")
SECTIONS = ("category", "urgency", "department", "status", "disposition")
LEVEL_COUNTS = (
    *("calls", "answered", "answered_within", "missed", "missed_within", "abandoned"),
    *("abandoned_within", "short_abandons", "imported", "answered_elsewhere", "failed"),
)


@dataclass(frozen=True)
class Period:
    """A dashboard period in local days, cut into chart buckets (hours or days)."""

    name: str
    first: date
    last: date
    bounds: list[datetime]
    labels: list[str]

    @property
    def start(self) -> datetime:
        return self.bounds[0]

    @property
    def end(self) -> datetime:
        return self.bounds[-1]


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, zone)


def month_bounds(first: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    first = first.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return _midnight(first, zone), _midnight(following, zone)


def period_of(name: str, day: date, zone: ZoneInfo) -> Period:
    """Today by hour; the week (Monday first) or the month of `day` by day."""
    if name == "today":
        hours = [datetime.combine(day, time(h), zone) for h in range(24)]
        bounds = [*hours, _midnight(day + timedelta(days=1), zone)]
        return Period(name, day, day, bounds, [f"{h:02d}" for h in range(24)])
    if name == "week":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=6)
    elif name == "month":
        first = day.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    else:
        raise ValueError(f"unknown period {name!r}; known: {', '.join(PERIODS)}")
    days = [first + timedelta(days=n) for n in range((last - first).days + 2)]
    bounds = [_midnight(d, zone) for d in days]
    return Period(name, first, last, bounds, [d.strftime("%m-%d") for d in days[:-1]])


def share(value: float | None) -> str:
    return "—" if value is None else format_percent(value, "#,##0.0%")


def service_chart(
    session: Session,
    period: Period,
    threshold: Threshold | int,
    levels: list[ServiceLevel] | None = None,
) -> dict[str, Any]:
    """Calls per hour (today) or day, stacked: within the threshold, later, missed, abandoned
    (`levels`: the period's buckets, when the caller has counted them already)."""
    if levels is None:
        levels = supervision.service_level_by_bucket(session, period.bounds, threshold)
    rings = threshold if isinstance(threshold, int) else threshold.max_rings
    series = (
        (_("Answered within %(n)d rings", n=rings), [lv.answered_within for lv in levels]),
        (_("Answered later"), [lv.answered - lv.answered_within for lv in levels]),
        (present.disposition_label("missed"), [lv.missed for lv in levels]),
        (present.disposition_label("abandoned"), [lv.abandoned for lv in levels]),
    )
    return {
        "stacked": True,
        "labels": period.labels,
        "datasets": [{"label": label, "data": data} for label, data in series],
    }


def label(section: str, key: str) -> str:
    """A key of monthly_statistics as the desk names it, in the user's language."""
    if key == "-":
        return _("Not set")
    if section == "category":
        return present.category_label(key)
    if section == "disposition":
        return present.disposition_label(key)
    tables: dict[str, dict[Any, Any]] = {
        "urgency": present.URGENCY_LABELS,
        "status": present.STATUS_LABELS,
    }
    for member, text in tables.get(section, {}).items():
        if member.value == key:
            return str(text)
    return key


@dataclass(frozen=True)
class Monthly:
    stats: dict[str, dict[str, int]]
    hours: dict[str, float]
    level: ServiceLevel

    def titles(self) -> dict[str, str]:
        return {
            "category": _("By category"),
            "urgency": _("By urgency"),
            "department": _("By department"),
            "status": _("By status"),
            "disposition": _("Calls by disposition"),
        }

    def charts(self) -> dict[str, dict[str, Any]]:
        titles = self.titles()
        charts: dict[str, dict[str, Any]] = {
            name: {
                "labels": [label(name, key) for key in self.stats.get(name, {})],
                "datasets": [
                    {"label": titles[name], "data": list(self.stats.get(name, {}).values())}
                ],
            }
            for name in SECTIONS
        }
        charts["hours"] = {
            "decimals": True,
            "labels": list(self.hours),
            "datasets": [
                {
                    "label": _("Mean hours to resolve"),
                    "data": [round(h, 2) for h in self.hours.values()],
                }
            ],
        }
        return charts

    def rows(self) -> Iterator[list[Any]]:
        """The CSV: section, key, label, value."""
        for section in SECTIONS:
            for key, count in self.stats.get(section, {}).items():
                yield [section, key, label(section, key), count]
        for department, hours in self.hours.items():
            yield ["resolve_hours", department, department, f"{hours:.2f}"]
        for key in LEVEL_COUNTS:
            yield ["service_level", key, key, getattr(self.level, key)]
        for key in ("answered_share", "offered_share"):
            value = getattr(self.level, key)
            yield ["service_level", key, key, "" if value is None else f"{value:.4f}"]


def monthly(session: Session, first: date, zone: ZoneInfo, rings: Threshold | int) -> Monthly:
    start, end = month_bounds(first, zone)
    return Monthly(
        supervision.monthly_statistics(session, start, end),
        supervision.resolve_hours(session, start, end),
        supervision.service_level(session, start, end, rings),
    )
