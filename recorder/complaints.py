"""Complaints to their close (issue 21; 首问责任制培训细则 1.4.2):

- 1.4.2.1.1 whatever the channel (信函、电话、传真或来人面谈) the desk registers it: a letter,
  fax or visit is entered by hand with its channel;
- 1.4.2.2.1-2 a simple complaint goes straight to the department; a major one is escalated
  to the 物业中心主任 (the supervisors' queue), reported the same day (1.4.1.3 须于当天 …
  汇报物业中心主任);
- 1.4.2.2.3 corrective measures are written on the handling notice;
- 1.4.2.2.4 it closes only when the resident is satisfied (直到客户满意为止): after a
  follow-up that found them satisfied, or by a supervisor's decision with its reason.

Every change keeps a revision row (recorder/revisions.py); the entry's status moves by the
state machine (recorder/matter_states.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from recorder.errors import RecorderError
from recorder.matter_states import RANK, Via, move
from recorder.models import Complaint, EntryStatus, FieldSource, FollowUp, LogEntry, Role
from recorder.reception_log import Actor, act_as, new_entry, register_complaint

CHANNELS = ("phone", "letter", "fax", "visit")
SEVERITIES = ("simple", "major")
#: 1.4.4.2 服务态度 (a written explanation), 1.4.4.3 工作延误 (8-hour answer, 3-day remedy).
CAUSES = ("attitude", "delay")


class ComplaintError(RecorderError):
    pass


def register_by_hand(
    session: Session,
    *,
    channel: str,
    received_at: datetime,
    summary: str,
    user_id: int,
    surname: str | None = None,
    unit: str | None = None,
    phone: str | None = None,
) -> Complaint:
    """A complaint that came by letter, fax or visit (or a phone call not through the agent):
    a log entry owned by whoever received it (首问责任制), and its register number."""
    if channel not in CHANNELS:
        raise ComplaintError(f"unknown channel {channel!r}; known: {', '.join(CHANNELS)}")
    if not summary.strip():
        raise ComplaintError("a complaint needs what it is about")
    values = {
        "received_at": received_at,
        "category": "complaint",
        "summary": summary.strip(),
        "surname": surname or None,
        "unit": unit or None,
        "phone": phone or None,
        "responsible_user_id": user_id,
    }
    entry = new_entry(session, values, FieldSource.PERSON)
    session.flush()
    complaint = register_complaint(session, entry)
    act_as(session, Actor(user_id, FieldSource.PERSON, f"登记 ({channel})"))
    complaint.channel = channel
    session.flush()
    return complaint


def set_internal(
    session: Session,
    complaint: Complaint,
    user_id: int,
    *,
    cause: str | None,
    staff_user_id: int | None,
    explanation: str | None,
) -> None:
    """A complaint about our own service (1.4.4): its cause, the staff member complained
    about (for their review), and their written explanation (1.4.4.2 书面说明)."""
    if cause not in CAUSES:
        raise ComplaintError(f"unknown cause {cause!r}; known: {', '.join(CAUSES)}")
    act_as(session, Actor(user_id, FieldSource.PERSON, "内部投诉"))
    complaint.internal, complaint.cause = True, cause
    complaint.staff_user_id = staff_user_id
    complaint.explanation = (explanation or "").strip() or None
    session.flush()


def escalate(session: Session, complaint: Complaint, user_id: int, now: datetime) -> None:
    """A major complaint: to the supervisors' queue, reported the same day."""
    if complaint.closed_at is not None:
        raise ComplaintError(f"complaint {complaint.number} is closed")
    act_as(session, Actor(user_id, FieldSource.PERSON, "重大投诉, 报物业中心主任"))
    complaint.severity = "major"
    if complaint.escalated_at is None:
        complaint.escalated_at, complaint.escalated_by = now, user_id
    complaint.reported_at = complaint.reported_at or now
    session.flush()


def record(
    session: Session,
    complaint: Complaint,
    user_id: int,
    *,
    result: str | None,
    measures: str | None,
    reason: str | None = None,
) -> None:
    """The handling result and the corrective measures (1.4.2.2.3), kept as revisions."""
    act_as(session, Actor(user_id, FieldSource.PERSON, (reason or "").strip() or None))
    complaint.result = (result or "").strip() or None
    complaint.measures = (measures or "").strip() or None
    session.flush()


def satisfied(session: Session, entry: LogEntry) -> bool:
    """Whether the latest follow-up that reached the resident found them satisfied."""
    last = session.scalar(
        select(FollowUp)
        .where(FollowUp.entry_id == entry.id, FollowUp.reached.is_(True))
        .order_by(FollowUp.at.desc(), FollowUp.id.desc())
        .limit(1)
    )
    return last is not None and last.satisfied is True


def close(
    session: Session,
    complaint: Complaint,
    user_id: int,
    role: Role,
    now: datetime,
    decision: str | None = None,
) -> None:
    """Closing (1.4.2.2.4): a supervisor, after a satisfied follow-up or with a decision."""
    decision = (decision or "").strip() or None
    if RANK[role] < RANK[Role.SUPERVISOR]:
        raise ComplaintError(f"complaint {complaint.number}: closing needs a supervisor")
    if complaint.closed_at is not None:
        raise ComplaintError(f"complaint {complaint.number} is already closed")
    if complaint.internal and complaint.cause == "attitude" and not complaint.explanation:
        raise ComplaintError(
            f"complaint {complaint.number}: the written explanation (1.4.4.2) comes first"
        )
    entry = session.get_one(LogEntry, complaint.entry_id)
    pleased = satisfied(session, entry)
    if not pleased and decision is None:
        raise ComplaintError(
            f"complaint {complaint.number}: the resident is not known to be satisfied; "
            "closing needs a supervisor's decision with its reason"
        )
    act_as(session, Actor(user_id, FieldSource.PERSON, decision or "客户满意"))
    complaint.closed_at, complaint.closed_by, complaint.decision = now, user_id, decision
    session.flush()
    if entry.status is not EntryStatus.CLOSED:
        move(
            session,
            entry,
            EntryStatus.CLOSED,
            user_id=user_id,
            role=role,
            via=Via.CLOSING,
            reason=decision or f"{complaint.number} 客户满意",
        )
    session.flush()


def escalated_queue(session: Session) -> list[Complaint]:
    """The supervisors' queue: major complaints not closed, oldest first."""
    return list(
        session.scalars(
            select(Complaint)
            .where(Complaint.severity == "major", Complaint.closed_at.is_(None))
            .order_by(Complaint.escalated_at, Complaint.id)
        )
    )


def about_staff(session: Session, year: int) -> list[tuple[int, int]]:
    """Internal complaints of a year per staff member complained about (the per-staff
    review), most first: [(user id, complaints)]."""
    from sqlalchemy import func

    rows = session.execute(
        select(Complaint.staff_user_id, func.count(Complaint.id))
        .where(Complaint.year == year, Complaint.staff_user_id.is_not(None))
        .group_by(Complaint.staff_user_id)
        .order_by(func.count(Complaint.id).desc())
    ).all()
    return [(int(uid), int(n)) for uid, n in rows if uid is not None]
