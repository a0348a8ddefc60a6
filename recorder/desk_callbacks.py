"""回电 from the desk (issue 19): a clerk asks the agent to ring the clerk's own phone and,
once the clerk answers, the resident who could not be served, and to bridge the two.

The request is an outbound task (recorder/outbound.py) of kind `desk_call_back` naming
the clerk (`clerk_user_id`; the phone is the staff member's `users.extension`, as the duty
roster rings it), so the agents that share the queue share these too, and the queue's
rule holds: never two calls to one number at once (a second request for a number whose
call-back is queued or ringing is refused here; the partial unique index refuses a second
claim).

Calling hours: a desk call-back is the clerk's own act, not the agent's initiative. Seed
001 篇2 3.1.4-3.1.5 makes returning a caller's call the clerk's duty (请来电客户留下他的
电话号码以便转告同事予以回复; 等接待完现场的客户后，再电话与之联系), done when the
clerk judges it right, as a clerk dials by hand; the agent's calling hours and quiet days
(outbound.hours, issue 22: "no calls outside configured hours") bound the calls the
agent decides to make. So a desk call-back is placed whenever the clerk asks, at any hour
(recorder.outbound.claim), and is tried once: the clerk is waiting by the phone, and asks
again if the resident is busy. Not picked up within `WAIT` (no agent running with
outbound calls on) it is given up, and the entry says so.

Each attempt is written on the missed entry's handling, with the clerk's name; once the
resident answers, the number's missed calls leave the call-back list as by 已回电 by hand
(recorder.missed_calls.mark_called_back: done, by the clerk, with a revision each), and
the agent's own call-back of the number, if one waits, is cancelled.

Functions take a Session; the caller commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from recorder.actors import Actor, act_as
from recorder.errors import RecorderError
from recorder.matter_states import TransitionRefused
from recorder.missed_calls import WAITING, mark_called_back, waiting
from recorder.models import Call, EntryStatus, FieldSource, LogEntry, User
from recorder.outbound import note_attempt
from recorder.outbound_models import Attempt, OutboundTask, TaskKind, TaskState

logger = logging.getLogger(__name__)
#: How long a request waits for an agent to take it.
WAIT = timedelta(minutes=5)
OPEN = (TaskState.DUE, TaskState.CALLING)
#: How an attempt that did not bring the two together is written on the entry.
CLERK_MISSED = "坐席分机未接听"
RESIDENT_MISSED = {
    Attempt.NO_ANSWER: "住户无人接听",
    Attempt.BUSY: "住户占线",
    Attempt.REJECTED: "住户拒接",
    Attempt.FAILED: "未能呼出",
}
NOT_TAKEN = "未能呼出（没有话务员程序接单，请确认已开启外呼）"
REACHED = "已接通"


class DeskCallBackRefused(RecorderError):
    """The request cannot be queued; the message says why (shown to the clerk)."""


@dataclass(frozen=True)
class DeskClerk:
    """Whose phone rings first."""

    user_id: int
    extension: str
    name: str
    job_number: str


def request(
    session: Session, entry_id: int, user_id: int, now: datetime, timezone: str
) -> OutboundTask:
    """Queue the clerk's call-back of the missed call `entry_id`; raises
    DeskCallBackRefused (nothing is queued) when it cannot be placed."""
    expired(session, now, timezone)  # a request no agent took does not block this one
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise DeskCallBackRefused("no such active user")
    if not user.extension:
        raise DeskCallBackRefused(
            "your account has no extension: an admin sets it (users), then your phone can be rung"
        )
    group = next((g for g in waiting(session) if entry_id in g.entries), None)
    if group is None:
        raise DeskCallBackRefused(f"entry {entry_id} is not a missed call waiting for a call-back")
    if not group.number:
        raise DeskCallBackRefused("the caller's number was withheld: there is nobody to call")
    number = group.number
    if _on_the_way(session, number):
        raise DeskCallBackRefused("a call-back to this number is already on the way")
    task = OutboundTask(
        kind=TaskKind.DESK_CALL_BACK,
        number=number,
        entry_id=entry_id,
        clerk_user_id=user.id,
        not_before=now,
        not_after=now + WAIT,
        attempts_left=1,
        state=TaskState.DUE,
        history=[],
    )
    session.add(task)
    session.flush()
    logger.info("desk call-back %d queued by user %d for entry %d", task.id, user.id, entry_id)
    return task


def _on_the_way(session: Session, number: str) -> bool:
    """A clerk's call-back of the number is queued or ringing, or any call to it rings now
    (the agent's own call-back waiting for its hours does not hold the clerk up)."""
    found = session.scalar(
        select(OutboundTask.id).where(
            OutboundTask.number == number,
            or_(
                and_(OutboundTask.kind == TaskKind.DESK_CALL_BACK, OutboundTask.state.in_(OPEN)),
                OutboundTask.state == TaskState.CALLING,
            ),
        )
    )
    return found is not None


def clerk_of(session: Session, task: OutboundTask) -> DeskClerk | None:
    """The clerk to ring first; None when the user is gone or has no extension now."""
    user = session.get(User, task.clerk_user_id) if task.clerk_user_id else None
    if user is None or not user.active or not user.extension:
        return None
    return DeskClerk(user.id, user.extension, user.display_name, user.job_number)


def who(session: Session, task: OutboundTask) -> str:
    """Who is being called, as the clerk hears it: the unit and surname the entry has,
    else the number's last four digits."""
    entry = session.get(LogEntry, task.entry_id) if task.entry_id else None
    parts = (entry.unit, entry.surname) if entry is not None else ()
    said = " ".join(p for p in parts if p)
    return said or f"尾号{task.number[-4:]}"


def _note(session: Session, task: OutboundTask, line: str, now: datetime, timezone: str) -> None:
    entry = session.get(LogEntry, task.entry_id) if task.entry_id else None
    if entry is None:
        return
    clerk = session.get(User, task.clerk_user_id) if task.clerk_user_id else None
    name = clerk.display_name if clerk is not None else "坐席"
    act_as(session, Actor(task.clerk_user_id, FieldSource.PERSON, "回电"))
    said = f"{now.astimezone(ZoneInfo(timezone)):%m-%d %H:%M} 回电（{name}）：{line}"
    entry.handling = f"{entry.handling}\n{said}" if entry.handling else said


def missed(
    session: Session,
    task: OutboundTask,
    attempt: Attempt,
    call_id: str | None,
    now: datetime,
    timezone: str,
    clerk_answered: bool = True,
) -> None:
    """The attempt did not bring clerk and resident together: given up (the clerk asks
    again), and written on the entry, which stays on the call-back list."""
    note_attempt(task, attempt, call_id, now)
    task.state, task.attempts_left = TaskState.GAVE_UP, 0
    if not clerk_answered:
        task.last_attempt = f"clerk_{attempt.value}"
    line = RESIDENT_MISSED.get(attempt, attempt.value) if clerk_answered else CLERK_MISSED
    _note(session, task, line, now, timezone)
    session.flush()


def reached(
    session: Session, task: OutboundTask, call_id: str, now: datetime, timezone: str
) -> list[int]:
    """Clerk and resident talked: the task is done and the number's missed calls leave
    the call-back list (done by the clerk, 已回电); the entries moved."""
    note_attempt(task, Attempt.ANSWERED, call_id, now)
    task.state, task.result = TaskState.DONE, "reached"
    _note(session, task, REACHED, now, timezone)
    clerk = session.get(User, task.clerk_user_id) if task.clerk_user_id else None
    done: list[int] = []
    if clerk is not None and task.entry_id is not None:
        try:
            done = mark_called_back(session, task.entry_id, clerk.id, clerk.role)
        except TransitionRefused:  # marked by hand meanwhile: nothing left to move
            logger.info("[%s] entry %s had left the call-back list", call_id, task.entry_id)
    # The agent's own call-back of the number, still waiting, is not needed any more.
    session.execute(
        update(OutboundTask)
        .where(
            OutboundTask.kind == TaskKind.CALL_BACK,
            OutboundTask.number == task.number,
            OutboundTask.state == TaskState.DUE,
        )
        .values(state=TaskState.CANCELLED, last_attempt="settled")
    )
    session.flush()
    return done


def expired(session: Session, now: datetime, timezone: str) -> int:
    """Requests no agent took within `WAIT`: given up, and the entry says so."""
    stale = session.scalars(
        select(OutboundTask).where(
            OutboundTask.kind == TaskKind.DESK_CALL_BACK,
            OutboundTask.state == TaskState.DUE,
            OutboundTask.not_after <= now,
        )
    ).all()
    for task in stale:
        task.state, task.last_attempt = TaskState.GAVE_UP, "expired"
        _note(session, task, NOT_TAKEN, now, timezone)
    session.flush()
    return len(stale)


def is_waiting(session: Session, entry_id: int) -> bool:
    """The entry is a missed call still on the call-back list (one row read)."""
    found = session.scalar(
        select(LogEntry.id)
        .join(Call, Call.id == LogEntry.call_pk)
        .where(
            LogEntry.id == entry_id,
            Call.disposition.in_(WAITING),
            LogEntry.status == EntryStatus.RECEIVED,
        )
    )
    return found is not None


def of_entry(session: Session, entry_id: int) -> list[OutboundTask]:
    """The entry's desk call-backs, newest first (the entry page lists them)."""
    return list(
        session.scalars(
            select(OutboundTask)
            .where(OutboundTask.kind == TaskKind.DESK_CALL_BACK, OutboundTask.entry_id == entry_id)
            .order_by(OutboundTask.id.desc())
        )
    )
