"""One timeline of a matter for the entry page (issue 21): the call, its work orders and
returns, follow-ups, the complaint and every revision, oldest first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin import present
from recorder.models import (
    FollowUp,
    LogEntry,
    MatterRevision,
    ReplyLetter,
    User,
    WorkOrder,
)

#: A complaint's fields as the timeline names their changes.
COMPLAINT_FIELDS = {
    "result": _l("Handling result"),
    "closed_at": _l("Closing date"),
    "channel": _l("Channel"),
    "severity": _l("Severity"),
    "escalated_at": _l("Escalated"),
    "reported_at": _l("Reported to the supervisor"),
    "measures": _l("Corrective measures"),
    "decision": _l("Supervisor's decision"),
    "closed_by": _l("Closed by"),
    "summary": _l("Summary"),
    "resident": _l("Resident"),
}


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str
    title: str
    detail: str
    who: str


def fee_text(fen: int | None) -> str:
    return "" if fen is None else f"¥{fen // 100}.{fen % 100:02d}"


def order_title(order: WorkOrder) -> str:
    to = f"{order.department} · {order.technician}" if order.technician else order.department
    return _("Work order %(number)s to %(to)s", number=order.number, to=to)


def return_text(order: WorkOrder) -> str:
    parts = [_("Done") if order.completed else _("Not done")]
    if order.reason:
        parts.append(order.reason)
    if order.parts:
        parts.append(_("Parts: %(parts)s", parts=order.parts))
    if order.paid:
        parts.append(_("Paid service %(fee)s", fee=fee_text(order.fee_fen)))
    return " · ".join(parts)


def follow_up_text(follow: FollowUp) -> str:
    if not follow.reached:
        head = _("Resident not reached")
    elif follow.satisfied is True:
        head = _("Reached, satisfied")
    elif follow.satisfied is False:
        head = _("Reached, not satisfied")
    else:
        head = _("Reached")
    return f"{head} · {follow.notes}" if follow.notes else head


def build(
    session: Session,
    entry: LogEntry,
    orders: list[WorkOrder],
    follow_ups: list[FollowUp],
) -> list[Event]:
    names = {u.id: u.display_name for u in session.scalars(select(User))}

    def who(user_id: int | None) -> str:
        return names.get(user_id, "") if user_id is not None else _("System")

    events = [
        Event(entry.received_at, "received", _("Received"), "", who(entry.responsible_user_id))
    ]
    for order in orders:
        due = present.when(order.due_at) if order.due_at else ""
        detail = _("Due %(when)s", when=due) if due else ""
        events.append(
            Event(
                order.dispatched_at, "order", order_title(order), detail, who(order.dispatched_by)
            )
        )
        if order.completed is not None and order.completed_at is not None:
            title = _("Return of %(number)s", number=order.number)
            events.append(
                Event(
                    order.completed_at, "return", title, return_text(order), who(order.returned_by)
                )
            )
    for follow in follow_ups:
        events.append(
            Event(
                follow.at,
                "follow_up",
                _("Follow-up"),
                follow_up_text(follow),
                who(follow.by_user_id),
            )
        )
    for revision in entry.revisions:
        old = present.revision_value(revision.field, revision.old_value)
        new = present.revision_value(revision.field, revision.new_value)
        title = f"{present.field_label(revision.field)}: {old or '—'} → {new or '—'}"
        events.append(
            Event(
                revision.changed_at, "revision", title, revision.reason or "", who(revision.user_id)
            )
        )
    complaint = entry.complaint
    if complaint is not None:
        events.append(
            Event(
                complaint.registered_at,
                "complaint",
                _("Complaint %(n)s registered", n=complaint.number),
                "",
                "",
            )
        )
    if complaint is not None:
        events += _letters(session, complaint.id, who)
        if complaint.escalated_at is not None:
            title = _("Escalated to the supervisors")
            events.append(
                Event(complaint.escalated_at, "complaint", title, "", who(complaint.escalated_by))
            )
        revisions = session.scalars(
            select(MatterRevision).where(
                MatterRevision.kind == "complaint", MatterRevision.row_id == complaint.id
            )
        )
        for rev in revisions:
            label = str(COMPLAINT_FIELDS.get(rev.field, rev.field))
            title = f"{complaint.number} {label}: {rev.old_value or '—'} → {rev.new_value or '—'}"
            events.append(
                Event(
                    rev.changed_at, "complaint_revision", title, rev.reason or "", who(rev.user_id)
                )
            )
    return sorted(events, key=lambda e: e.at)


def _letters(session: Session, complaint_id: int, who: Callable[[int | None], str]) -> list[Event]:
    """A complaint's reply letters, step by step (客户回函作业指导书)."""
    found = []
    for letter in session.scalars(
        select(ReplyLetter).where(ReplyLetter.complaint_id == complaint_id)
    ):
        name = _("Reply letter: %(subject)s", subject=letter.subject)
        found.append(
            Event(letter.drafted_at, "letter", name, _("Under review"), who(letter.drafted_by))
        )
        for review in letter.reviews:
            verdict = _("Approved") if review.approved else _("Returned")
            detail = f"{review.reviewer} · {verdict}" + (f" · {review.note}" if review.note else "")
            found.append(Event(review.at, "letter", name, detail, who(review.recorded_by)))
        steps = [
            (letter.approved_at, _("Approval") + f" · {letter.approver or ''}", letter.approved_by),
            (letter.mailed_at, _("Mailing") + f" · {letter.mail_number or ''}", None),
            (
                letter.confirmed_at,
                _("Confirmation call") + f" · {letter.confirm_note or ''}",
                letter.confirmed_by,
            ),
            (letter.archived_at, _("Archive with the matter"), letter.archived_by),
        ]
        for at, detail, user in steps:
            if at is not None:
                found.append(Event(at, "letter", name, detail, who(user) if user else ""))
    return found
