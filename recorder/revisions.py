"""Revision rows for complaints and work orders (issue 21): like a log entry's, a change
of a complaint's result, closing date or decision, or of a work order's return, is added
as a `MatterRevision` row (who, when, old, new, why), never written over
(客服中心接待岗位工作质量标准 6: 记录 … 无涂改).

A user's role, rights and status keep their revisions the same way (kind "user").

A `before_flush` hook does it for every session, whatever code path makes the change;
the session's actor (recorder.reception_log.act_as) says who. Complaints, work orders,
follow-ups and revisions are never deleted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from recorder.actors import Actor, RecordIntegrityError, _text
from recorder.models import (
    Complaint,
    FieldSource,
    FollowUp,
    LetterReview,
    MatterRevision,
    ReplyLetter,
    User,
    WorkOrder,
    utcnow,
)

#: The fields whose changes are kept, per kind of record.
TRACKED: dict[type[Any], tuple[str, tuple[str, ...]]] = {
    Complaint: (
        "complaint",
        (
            "result",
            "closed_at",
            "channel",
            "severity",
            "escalated_at",
            "reported_at",
            "measures",
            "decision",
            "closed_by",
            "summary",
            "resident",
            "internal",
            "cause",
            "staff_user_id",
            "explanation",
        ),
    ),
    ReplyLetter: (
        "letter",
        (
            "subject",
            "body",
            "approver",
            "approved_at",
            "mailed_at",
            "mail_number",
            "confirmed_at",
            "confirm_note",
            "archived_at",
        ),
    ),
    User: ("user", ("role", "independent", "active", "extension", "display_name", "job_number")),
    WorkOrder: (
        "work_order",
        (
            "department",
            "technician",
            "due_at",
            "completed",
            "completed_at",
            "reason",
            "parts",
            "paid",
            "fee_fen",
            "returned_by",
        ),
    ),
}


@event.listens_for(Session, "before_flush")
def _record_matter_revisions(session: Session, _context: Any, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, WorkOrder | FollowUp | MatterRevision | ReplyLetter | LetterReview):
            raise RecordIntegrityError(
                f"{type(obj).__name__} {obj.id} cannot be deleted: records are kept without alteration"
            )
    for obj in list(session.dirty):
        if isinstance(obj, MatterRevision) and session.is_modified(obj):
            raise RecordIntegrityError(f"revision {obj.id} cannot be changed")
        tracked = TRACKED.get(type(obj))
        if tracked is None or not session.is_modified(obj):
            continue
        kind, fields = tracked
        state = inspect(obj)
        changes = []
        for name in fields:
            history = state.attrs[name].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if _text(old) != _text(new):
                changes.append((name, old, new))
        if not changes:
            continue
        actor: Actor | None = session.info.get("actor")
        if actor is None and kind == "user":
            actor = Actor(None, FieldSource.AUTO)  # the CLI (hotline users): the system
        if actor is None:
            raise RecordIntegrityError(
                f"{kind} {obj.id}: changing {', '.join(c[0] for c in changes)} needs an actor "
                "(recorder.reception_log.act_as) so a revision can be written"
            )
        for name, old, new in changes:
            session.add(
                MatterRevision(
                    kind=kind,
                    row_id=obj.id,
                    user_id=actor.user_id,
                    changed_at=utcnow(),
                    field=name,
                    old_value=_text(old),
                    new_value=_text(new),
                    reason=actor.reason,
                )
            )
