"""The confirmation call of a reply letter (客户回函作业指导书 3.6: 信件在发出3天后与客户电话
联系确认, issue 22): a task when the letter's confirmation falls due, and the resident's
key written on the letter as a clerk's confirmation would be.

Functions take a Session; the caller opens and commits it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from recorder.actors import Actor, act_as
from recorder.letters import confirm
from recorder.models import AuditEvent, Complaint, FieldSource, LogEntry, ReplyLetter
from recorder.outbound import end_of, insert_ignoring, note_attempt
from recorder.outbound_models import Attempt, LetterResult, OutboundTask, TaskKind, TaskState
from recorder.outbound_rules import Plan

logger = logging.getLogger(__name__)
RECEIVED_NOTE = "电话确认（自动话务员）：住户已收到回函"
NOT_RECEIVED_NOTE = "电话确认（自动话务员）：住户未收到回函，请重新寄出"
#: The audit actions that tell the desk a confirmation call needs a person.
LETTER_NOT_RECEIVED, LETTER_CLERK_ASKED = "outbound_letter_missing", "outbound_letter_clerk"
#: A confirmation is called within this many days of falling due, then left to the desk.
CALL_WITHIN = timedelta(days=3)


def create_confirmations(session: Session, now: datetime, plan: Plan) -> list[OutboundTask]:
    """A task for every mailed letter whose confirmation is due and not made, with the
    complainant's number and no task yet."""
    has_task = exists().where(
        OutboundTask.kind == TaskKind.LETTER_CONFIRMATION,
        OutboundTask.letter_id == ReplyLetter.id,
    )
    number = func.coalesce(LogEntry.phone, LogEntry.caller_number)
    rows = session.execute(
        select(ReplyLetter, LogEntry.id, number)
        .join(Complaint, Complaint.id == ReplyLetter.complaint_id)
        .join(LogEntry, LogEntry.id == Complaint.entry_id)
        .where(
            ReplyLetter.confirm_due.is_not(None),
            ReplyLetter.confirm_due <= now,
            ReplyLetter.confirmed_at.is_(None),
            number.is_not(None),
            ~has_task,
        )
    ).all()
    made = []
    zone = ZoneInfo(plan.hours.timezone)
    for letter, entry_id, phone in rows:
        assert letter.confirm_due is not None
        last_day = (max(letter.confirm_due, now) + CALL_WITHIN).astimezone(zone).date()
        session.execute(
            insert_ignoring(session, OutboundTask).values(
                kind=TaskKind.LETTER_CONFIRMATION,
                number=str(phone),
                entry_id=entry_id,
                letter_id=letter.id,
                not_before=letter.confirm_due,
                not_after=end_of(last_day, plan.hours.timezone),
                attempts_left=plan.attempts.attempts,
                state=TaskState.DUE,
                history=[],
            )
        )
        task = session.scalar(
            select(OutboundTask).where(
                OutboundTask.kind == TaskKind.LETTER_CONFIRMATION,
                OutboundTask.letter_id == letter.id,
            )
        )
        if task is not None:
            made.append(task)
    return made


@dataclass(frozen=True)
class LetterFacts:
    subject: str
    mailed_on: date | None


def letter_facts(session: Session, task: OutboundTask, timezone: str) -> LetterFacts:
    letter = session.get_one(ReplyLetter, task.letter_id)
    mailed = letter.mailed_at
    return LetterFacts(
        letter.subject, mailed.astimezone(ZoneInfo(timezone)).date() if mailed else None
    )


def letter_answered(
    session: Session,
    task: OutboundTask,
    result: LetterResult,
    call_id: str,
    now: datetime,
    put_through: bool = False,
) -> OutboundTask:
    """1: the letter is confirmed, as a clerk's confirmation; 2: noted, and the desk told to
    send it again; 0: the desk is asked to call, unless a clerk took the call then
    (`put_through`). Only 1 settles the letter."""
    note_attempt(task, Attempt.ANSWERED, call_id, now, put_through)
    task.state, task.result = TaskState.DONE, result.value
    letter = session.get_one(ReplyLetter, task.letter_id)
    target = f"letter {letter.id}"
    if result is LetterResult.RECEIVED and letter.confirmed_at is None:
        confirm(session, letter, RECEIVED_NOTE, None, now)
    elif result is LetterResult.NOT_RECEIVED:
        act_as(session, Actor(None, FieldSource.AUTO, "电话确认"))
        letter.confirm_note = NOT_RECEIVED_NOTE
        session.add(
            AuditEvent(
                at=now, action=LETTER_NOT_RECEIVED, target=target, detail={"call_id": call_id}
            )
        )
    elif result is LetterResult.CLERK and not put_through:
        session.add(
            AuditEvent(
                at=now, action=LETTER_CLERK_ASKED, target=target, detail={"call_id": call_id}
            )
        )
    logger.info("[%s] %s: %s", call_id, target, result.value)
    session.flush()
    return task
