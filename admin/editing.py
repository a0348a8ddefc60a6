"""Applying a clerk's corrections to a log entry, with revisions and the register."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from admin import clocks
from admin.forms import EntryForm
from recorder.models import ENTRY_FIELDS, EntryStatus, FieldSource, LogEntry, Urgency
from recorder.reception_log import Actor, act_as, register_complaint

COMPLAINT = "complaint"
#: Changed only by their own steps: the status through the state machine, the owner by a
#: hand-over (recorder/matter_states.py), never by the entry form.
NOT_ON_FORM = frozenset({"status", "responsible_user_id"})
_CONVERT: dict[str, Any] = {"urgency": Urgency, "status": EntryStatus}


def form_values(entry: LogEntry, zone: ZoneInfo) -> dict[str, Any]:
    """The entry as the form shows it (local times, enum values, ids as text)."""
    values: dict[str, Any] = {}
    for name in ENTRY_FIELDS:
        value = getattr(entry, name)
        if isinstance(value, datetime):
            value = value.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
        elif name in _CONVERT and value is not None:
            value = value.value
        elif name == "responsible_user_id":
            value = "" if value is None else str(value)
        values[name] = value
    return values


def _submitted(form: EntryForm, name: str, zone: ZoneInfo) -> Any:
    value = getattr(form, name).data
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone)
    if isinstance(value, date) or value is None:
        return value
    if name in _CONVERT:
        return _CONVERT[name](value)
    if name == "responsible_user_id":
        return int(value) if str(value).isdigit() else None
    text = str(value).strip()
    return text if text or name == "summary" else None


def apply(
    session: Session,
    entry: LogEntry,
    form: EntryForm,
    zone: ZoneInfo,
    user_id: int,
    locked: frozenset[str],
) -> list[str]:
    """Set the changed fields as a person's correction; register a new complaint.

    `locked` fields (masked numbers) are never taken from the form. A category
    correction becomes training data for the classifier: the EntryRevision row
    (field "category", new_source "person") links through the call to its transcript.
    """
    act_as(session, Actor(user_id, FieldSource.PERSON, form.reason.data or None))
    changed = []
    for name in ENTRY_FIELDS:
        if name in locked or name in NOT_ON_FORM:
            continue
        new = _submitted(form, name, zone)
        if name == "received_at" and new is None:
            continue
        old = getattr(entry, name)
        if _same(old, new):
            continue
        setattr(entry, name, new)
        changed.append(name)
    if changed:
        entry.needs_review = False
    session.flush()
    if {"category", "urgency"} & set(changed):
        # The new rule's clocks (报修 10 min / 投诉 8 h, 漏水 3 days...), by the system.
        act_as(session, Actor(None, FieldSource.AUTO, "按类别规则 (categories.toml)"))
        changed += clocks.refill(entry, set(changed))
        session.flush()
    if entry.category == COMPLAINT and entry.complaint is None:
        register_complaint(session, entry)
    return changed


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, datetime) and isinstance(new, datetime):
        return old.replace(second=0, microsecond=0) == new.replace(second=0, microsecond=0)
    return bool(old == new)
