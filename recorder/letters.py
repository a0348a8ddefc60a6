"""Reply letters to complainants (客户回函作业指导书, seed 001 篇1), linked to the complaint:

- 3.3 审核人: 项目管理处主任, 客户中心主管, 报事相关部门的经理; 物业部经理 when it concerns the
  property; a lawyer when law is involved. Each review names the reviewer, when, and who
  recorded it; a refusal needs its reason and blocks approval until that step approves;
- 3.4 审批人: 营销部经理, only after every required review approved;
- 3.6 发函形式: registered mail (挂号信) with its number; 信件在发出3天后与客户电话联系确认: the
  confirmation call is a clerk's task due three days after mailing;
- 3.8 归档: archived with the 报事记录 once confirmed.

Every change of a letter keeps a revision row (recorder/revisions.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from recorder.errors import RecorderError
from recorder.models import Complaint, FieldSource, LetterReview, ReplyLetter
from recorder.reception_log import Actor, act_as

#: The review steps, in the seed's order (3.3).
STEPS = (
    "project_director",
    "property_manager",
    "service_supervisor",
    "department_manager",
    "lawyer",
)
CONFIRM_AFTER = timedelta(days=3)


class LetterError(RecorderError):
    pass


def required_steps(letter: ReplyLetter) -> list[str]:
    steps = ["project_director", "service_supervisor", "department_manager"]
    if letter.involves_property:
        steps.append("property_manager")
    if letter.involves_law:
        steps.append("lawyer")
    return [s for s in STEPS if s in steps]


def draft(
    session: Session,
    complaint: Complaint,
    subject: str,
    body: str,
    user_id: int,
    now: datetime,
    *,
    involves_property: bool = False,
    involves_law: bool = False,
) -> ReplyLetter:
    if not subject.strip():
        raise LetterError("a reply letter needs its subject")
    letter = ReplyLetter(
        complaint_id=complaint.id,
        subject=subject.strip(),
        body=body.strip(),
        involves_property=involves_property,
        involves_law=involves_law,
        drafted_at=now,
        drafted_by=user_id,
    )
    session.add(letter)
    session.flush()
    return letter


def _latest(letter: ReplyLetter) -> dict[str, LetterReview]:
    latest: dict[str, LetterReview] = {}
    for review in letter.reviews:
        latest[review.step] = review
    return latest


def missing_reviews(letter: ReplyLetter) -> list[str]:
    latest = _latest(letter)
    return [s for s in required_steps(letter) if s not in latest or not latest[s].approved]


def review(
    session: Session,
    letter: ReplyLetter,
    step: str,
    reviewer: str,
    approved: bool,
    note: str,
    user_id: int,
    now: datetime,
) -> LetterReview:
    if letter.approved_at is not None:
        raise LetterError(f"letter {letter.id} is approved already")
    if step not in required_steps(letter):
        raise LetterError(f"letter {letter.id}: {step} does not review this letter")
    if not reviewer.strip():
        raise LetterError(f"letter {letter.id}: the reviewer's name is required")
    if not approved and not note.strip():
        raise LetterError(f"letter {letter.id}: a refusal needs its reason")
    entry = LetterReview(
        letter=letter,
        step=step,
        reviewer=reviewer.strip(),
        approved=approved,
        note=note.strip(),
        at=now,
        recorded_by=user_id,
    )
    session.add(entry)
    session.flush()
    return entry


def approve(
    session: Session, letter: ReplyLetter, approver: str, user_id: int, now: datetime
) -> None:
    missing = missing_reviews(letter)
    if missing:
        raise LetterError(f"letter {letter.id}: not yet approved by {', '.join(missing)}")
    if not approver.strip():
        raise LetterError(f"letter {letter.id}: the approver's name is required")
    if letter.approved_at is not None:
        raise LetterError(f"letter {letter.id} is approved already")
    act_as(session, Actor(user_id, FieldSource.PERSON, "审批"))
    letter.approver, letter.approved_at, letter.approved_by = approver.strip(), now, user_id
    session.flush()


def mail(
    session: Session, letter: ReplyLetter, mailed_at: datetime, number: str, user_id: int
) -> None:
    if letter.approved_at is None:
        raise LetterError(f"letter {letter.id} is not approved")
    if letter.mailed_at is not None:
        raise LetterError(f"letter {letter.id} is mailed already")
    if not number.strip():
        raise LetterError(f"letter {letter.id}: the registered-mail number is required")
    act_as(session, Actor(user_id, FieldSource.PERSON, "挂号信寄出"))
    letter.mailed_at, letter.mail_number = mailed_at, number.strip()
    letter.confirm_due = mailed_at + CONFIRM_AFTER
    session.flush()


def confirm(
    session: Session, letter: ReplyLetter, note: str, user_id: int | None, now: datetime
) -> None:
    """The confirmation call (3.6): the resident received the letter (user_id None: the
    agent's call, issue 22)."""
    if letter.mailed_at is None:
        raise LetterError(f"letter {letter.id} is not mailed")
    if letter.confirmed_at is not None:
        raise LetterError(f"letter {letter.id} is confirmed already")
    act_as(session, Actor(user_id, FieldSource.PERSON, "电话确认"))
    letter.confirmed_at, letter.confirmed_by = now, user_id
    letter.confirm_note = note.strip() or None
    session.flush()


def archive(session: Session, letter: ReplyLetter, user_id: int, now: datetime) -> None:
    if letter.confirmed_at is None:
        raise LetterError(f"letter {letter.id}: archive it once the resident confirmed it")
    if letter.archived_at is not None:
        raise LetterError(f"letter {letter.id} is archived already")
    act_as(session, Actor(user_id, FieldSource.PERSON, "归档"))
    letter.archived_at, letter.archived_by = now, user_id
    session.flush()


def confirmations_due(session: Session) -> list[ReplyLetter]:
    """The clerks' tasks: letters mailed and not yet confirmed by phone, earliest due first."""
    return list(
        session.scalars(
            select(ReplyLetter)
            .where(ReplyLetter.mailed_at.is_not(None), ReplyLetter.confirmed_at.is_(None))
            .order_by(ReplyLetter.confirm_due, ReplyLetter.id)
        )
    )
