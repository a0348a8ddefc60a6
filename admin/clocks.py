"""The category rules' clocks for the desk (config/rules/categories.toml, read only):
promised reply, follow-up date and a work order's due time (recorder/deadlines.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from admin import present
from admin.db import settings
from recorder import deadlines
from recorder.deadlines import Clock
from recorder.models import FieldSource, LogEntry, Urgency
from recorder.reception_log import Actor, act_as


def clock_of(category: str, urgency: Urgency | str | None) -> Clock:
    """The category's reply time; the follow-up days of the urgency rule when it has
    some (安全 2, 漏水 3: 000 1.4.3.6.2), else the category's."""
    rules = present.content().categories
    try:
        chosen = rules.by_key(category)
    except KeyError:
        chosen = rules.by_key("other")
    key = getattr(urgency, "value", urgency) or "normal"
    rule = rules.urgency.get(str(key))
    days = rule.follow_up_days if rule and rule.follow_up_days is not None else None
    return Clock(chosen.reply_within_minutes, chosen.follow_up_days if days is None else days)


def timezone() -> str:
    return settings().organization.timezone


def order_due(entry: LogEntry, dispatched_at: datetime) -> datetime:
    return deadlines.order_due(dispatched_at, clock_of(entry.category, entry.urgency), timezone())


def refill(entry: LogEntry, set_by_person: set[str]) -> list[str]:
    """After a category or urgency change: the promised reply and follow-up date from the
    new rule, unless a person set them (now or before). Returns the fields changed."""
    clock = clock_of(entry.category, entry.urgency)
    sources = entry.field_sources or {}
    changed = []
    wanted = {
        "promised_reply_at": deadlines.promised_reply(entry.received_at, clock),
        "follow_up_due": deadlines.follow_up_due(entry.received_at, clock, timezone()),
    }
    for name, value in wanted.items():
        if name in set_by_person or sources.get(name) == FieldSource.PERSON.value:
            continue
        if getattr(entry, name) != value:
            setattr(entry, name, value)
            changed.append(name)
    return changed


def restart_follow_up(session: Session, entry: LogEntry, completed_at: datetime) -> None:
    """The follow-up clock counts from the work's completion (000 1.4.3.6.2 回访时间一般在
    维修后一星期之内; 安全设施维修两天内; 漏水项目维修三天内)."""
    clock = clock_of(entry.category, entry.urgency)
    due = deadlines.follow_up_due(completed_at, clock, timezone())
    if entry.follow_up_due != due:
        act_as(session, Actor(None, FieldSource.AUTO, "维修完成后回访 (首问责任制 1.4.3.6.2)"))
        entry.follow_up_due = due
