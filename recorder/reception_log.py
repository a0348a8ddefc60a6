"""The phone-reception log (电话接待记录本): entries, their revisions, complaint numbers.

The seeds require records kept clear and without alteration (各项记录填写清晰
准确, 无涂改、漏记、漏填: 客服中心接待岗位工作质量标准 6). So a log entry is never
deleted, and a change to any of its fields after it was first written adds an
`EntryRevision` row (who, when, old, new). This is enforced for every session
by a `before_flush` hook, whatever code path makes the change: a change with
no actor declared on the session is refused.

Storage functions take a `Session`; the caller opens and commits it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

# Re-exported: the log's callers declare their actor through it (recorder.actors).
from recorder.actors import SYSTEM, Actor, RecordIntegrityError, _text, act_as  # noqa: F401
from recorder.estates import estate_number
from recorder.models import (
    ENTRY_CALLER_FIELDS,
    ENTRY_FIELDS,
    Complaint,
    ComplaintSequence,
    EntryRevision,
    FieldSource,
    LogEntry,
    utcnow,
)

COMPLAINT_PREFIX = "TS"


def new_entry(session: Session, values: dict[str, Any], source: FieldSource) -> LogEntry:
    """Add a log entry; every field given is marked as filled by `source`."""
    unknown = set(values) - set(ENTRY_FIELDS) - {"call_pk", "needs_review", *ENTRY_CALLER_FIELDS}
    if unknown:
        raise ValueError(f"not log-entry fields: {sorted(unknown)}")
    entry = LogEntry(**values)
    entry.field_sources = {
        name: source.value for name in ENTRY_FIELDS if values.get(name) is not None
    }
    session.add(entry)
    return entry


@event.listens_for(Session, "before_flush")
def _record_revisions(session: Session, _context: Any, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, LogEntry | EntryRevision | Complaint):
            raise RecordIntegrityError(
                f"{type(obj).__name__} {obj.id} cannot be deleted: records are kept without alteration"
            )
    for obj in list(session.dirty):
        if isinstance(obj, EntryRevision):
            if session.is_modified(obj):
                raise RecordIntegrityError(f"revision {obj.id} cannot be changed")
            continue
        if not isinstance(obj, LogEntry) or not session.is_modified(obj):
            continue
        state = inspect(obj)
        changes = []
        for name in ENTRY_FIELDS:
            history = state.attrs[name].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if _text(old) == _text(new):
                continue
            changes.append((name, old, new))
        if not changes:
            continue
        actor: Actor | None = session.info.get("actor")
        if actor is None:
            raise RecordIntegrityError(
                f"log entry {obj.id}: changing {', '.join(c[0] for c in changes)} "
                "needs an actor (recorder.reception_log.act_as) so a revision can be written"
            )
        sources = dict(obj.field_sources or {})
        for name, old, new in changes:
            session.add(
                EntryRevision(
                    entry=obj,
                    user_id=actor.user_id,
                    changed_at=utcnow(),
                    field=name,
                    old_value=_text(old),
                    new_value=_text(new),
                    old_source=sources.get(name),
                    new_source=actor.source.value,
                    reason=actor.reason,
                )
            )
            sources[name] = actor.source.value
        obj.field_sources = sources


def original_values(entry: LogEntry) -> dict[str, str | None]:
    """What each revised field held before its first change (e.g. the automatic value)."""
    originals: dict[str, str | None] = {}
    for revision in entry.revisions:
        originals.setdefault(revision.field, revision.old_value)
    return originals


def next_in_sequence(session: Session, sequence: type[Any], year: int) -> int:
    """Take the next number of `year` from a yearly sequence table, inside the caller's transaction.

    The sequence row is locked by the UPDATE until the caller commits, so
    concurrent takers queue up (no duplicates), and a rolled-back one gives
    its number back (no gaps).
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(sequence).values(year=year, last_number=0).on_conflict_do_nothing())
    return int(
        session.execute(
            update(sequence)
            .where(sequence.year == year)
            .values(last_number=sequence.last_number + 1)
            .returning(sequence.last_number)
        ).scalar_one()
    )


def next_complaint_number(session: Session, year: int) -> tuple[int, str]:
    """The complaint register's next number, e.g. TS-2026-0001 (shared with its handling notice)."""
    seq = next_in_sequence(session, ComplaintSequence, year)
    return seq, f"{COMPLAINT_PREFIX}-{year}-{seq:04d}"


def register_complaint(session: Session, entry: LogEntry, year: int | None = None) -> Complaint:
    """Put a complaint entry in the register (客户投诉登记表), once."""
    existing = session.scalar(select(Complaint).where(Complaint.entry_id == entry.id))
    if existing is not None:
        return existing
    year = year or entry.received_at.year
    seq, number = estate_number(session, entry.estate_id, COMPLAINT_PREFIX, year) or (
        next_complaint_number(session, year)
    )
    resident = " ".join(part for part in (entry.unit, entry.surname) if part) or entry.caller_number
    complaint = Complaint(
        number=number, year=year, seq=seq, entry=entry, resident=resident, summary=entry.summary
    )
    session.add(complaint)
    session.flush()
    return complaint


# The hooks that keep complaints' and work orders' revisions and enforce the matter's
# state machine, registered wherever the log is used.
from recorder import matter_states as _matter_states  # noqa: E402, F401
from recorder import revisions as _revisions  # noqa: E402, F401
