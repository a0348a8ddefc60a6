"""Calls the agent places (issue 22): the task queue and what an answer does to the matter.

Tasks live in the database every agent shares (recorder/outbound_models.py), so several
agents take from one queue: `claim` is a conditional UPDATE (... WHERE state = 'due' AND
no call to that number is in progress), and a partial unique index on the number of the
tasks being called makes a second concurrent claim of one number fail rather than ring
twice. The rules (hours, attempts, spacing) are recorder/outbound_rules.py.

Follow-up survey (回访, seed 000 1.4.3.6): a completed repair's entry gets a task once its
work is returned done (after `delay`), to be called by the end of its follow-up date
(1.4.3.6.2: safety repairs within two days, leaks three, others a week). The resident's
answer is written as the entry's follow-up exactly as a clerk's is
(recorder.dispatch.record_follow_up); "not yet fixed" opens a new work order for the same
department (整改, 1.4.3.6.4); 9 keeps the number from survey calls from then on.

Functions take a Session; the caller opens and commits it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from recorder.dispatch import record_follow_up
from recorder.matter_states import Via, allowed
from recorder.models import (
    AuditEvent,
    EntryStatus,
    FollowUp,
    LogEntry,
    ReplyLetter,
    Role,
    WorkOrder,
)
from recorder.outbound_models import (
    Attempt,
    OptOut,
    OutboundTask,
    SurveyResult,
    TaskKind,
    TaskState,
)
from recorder.outbound_rules import CallingHours, Plan
from recorder.work_orders import dispatch

logger = logging.getLogger(__name__)
#: What the follow-up's notes say, per answer (the desk reads them as a clerk's).
NOTES = {
    SurveyResult.SATISFIED: "电话回访（自动话务员）：满意",
    SurveyResult.NOT_SATISFIED: "电话回访（自动话务员）：不满意",
    SurveyResult.NOT_FIXED: "电话回访（自动话务员）：尚未修好，已重新派工",
    SurveyResult.OPTED_OUT: "电话回访（自动话务员）：住户要求不再接受回访电话",
}
SATISFIED = {SurveyResult.SATISFIED: True, SurveyResult.NOT_SATISFIED: False}
#: The audit actions that tell the desk an automatic call needs a person.
CLERK_ASKED, REOPENED = "outbound_clerk_asked", "outbound_reopened"


def insert_ignoring(session: Session, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING, in the session's dialect (two agents may sweep
    at once: a unique key keeps one row)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(table).on_conflict_do_nothing()


def add_task_once(session: Session, values: dict[str, Any], *key: Any) -> OutboundTask | None:
    """Insert a task unless one with the same unique key exists (two agents may sweep at
    once), then read the task the key names: the new one, or the one already there."""
    session.execute(insert_ignoring(session, OutboundTask).values(**values))
    session.flush()
    return session.scalar(select(OutboundTask).where(*key))


def opted_out(session: Session, number: str, kind: TaskKind = TaskKind.FOLLOW_UP) -> bool:
    found = session.scalar(select(OptOut.id).where(OptOut.number == number, OptOut.kind == kind))
    return found is not None


def end_of(day: date, timezone: str) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(timezone))


def create_follow_ups(
    session: Session, now: datetime, plan: Plan, delay: timedelta
) -> list[OutboundTask]:
    """A task for every done repair whose work was returned at least `delay` ago, that no
    follow-up reached since, with a number, not opted out and without a task yet."""
    timezone = plan.hours.timezone
    has_task = exists().where(
        OutboundTask.kind == TaskKind.FOLLOW_UP, OutboundTask.work_order_id == WorkOrder.id
    )
    reached_since = exists().where(
        FollowUp.entry_id == LogEntry.id,
        FollowUp.reached.is_(True),
        FollowUp.at >= WorkOrder.completed_at,
    )
    number = func.coalesce(LogEntry.phone, LogEntry.caller_number)
    rows = session.execute(
        select(WorkOrder, LogEntry, number)
        .join(LogEntry, LogEntry.id == WorkOrder.entry_id)
        .where(
            LogEntry.status == EntryStatus.DONE,
            WorkOrder.completed.is_(True),
            WorkOrder.completed_at <= now - delay,
            number.is_not(None),
            ~has_task,
            ~reached_since,
        )
        .order_by(WorkOrder.completed_at)
    ).all()
    latest: dict[int, tuple[WorkOrder, LogEntry, str]] = {}
    for order, entry, phone in rows:  # the last completed order of each entry
        latest[entry.id] = (order, entry, str(phone))
    made = []
    for order, entry, phone in latest.values():
        if opted_out(session, phone):
            continue
        assert order.completed_at is not None
        today = now.astimezone(ZoneInfo(timezone)).date()
        last_day = max(entry.follow_up_due or today, today)
        values = {
            "kind": TaskKind.FOLLOW_UP,
            "number": phone,
            "entry_id": entry.id,
            "work_order_id": order.id,
            "not_before": order.completed_at + delay,
            "not_after": end_of(last_day, timezone),
            "attempts_left": plan.attempts.attempts,
            "state": TaskState.DUE,
            "history": [],
        }
        # The unique (kind, work order) keeps one task.
        task = add_task_once(
            session,
            values,
            OutboundTask.kind == TaskKind.FOLLOW_UP,
            OutboundTask.work_order_id == order.id,
        )
        if task is not None:
            made.append(task)
    return made


def expire(session: Session, now: datetime) -> int:
    """Tasks past their last moment are given up, never called late."""
    result = session.execute(
        update(OutboundTask)
        .where(
            OutboundTask.state == TaskState.DUE,
            OutboundTask.not_after.is_not(None),
            OutboundTask.not_after <= now,
        )
        .values(state=TaskState.GAVE_UP, last_attempt="expired")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def cancel_settled(session: Session) -> int:
    """Follow-up tasks whose entry moved on meanwhile (a clerk's follow-up, a re-dispatch,
    closed), and confirmation calls of letters a clerk confirmed, are cancelled: the
    resident is not called about a settled matter."""
    moved_on = select(LogEntry.id).where(LogEntry.status != EntryStatus.DONE)
    confirmed = select(ReplyLetter.id).where(ReplyLetter.confirmed_at.is_not(None))
    result = session.execute(
        update(OutboundTask)
        .where(
            OutboundTask.state == TaskState.DUE,
            or_(
                and_(OutboundTask.kind == TaskKind.FOLLOW_UP, OutboundTask.entry_id.in_(moved_on)),
                and_(
                    OutboundTask.kind == TaskKind.LETTER_CONFIRMATION,
                    OutboundTask.letter_id.in_(confirmed),
                ),
            ),
        )
        .values(state=TaskState.CANCELLED, last_attempt="settled")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def release_stale(session: Session, now: datetime, after: timedelta) -> int:
    """Tasks held by an agent that died mid-call go back to the queue after `after`."""
    result = session.execute(
        update(OutboundTask)
        .where(OutboundTask.state == TaskState.CALLING, OutboundTask.claimed_at < now - after)
        .values(state=TaskState.DUE, owner=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def claim(session: Session, now: datetime, owner: str, hours: CallingHours) -> OutboundTask | None:
    """The next due task, now owned by `owner` (state calling); None when nothing may be
    called now. Two agents never take one task, nor call one number at once. Outside the
    calling hours only a clerk's own call-back is taken (recorder/desk_callbacks.py)."""
    kinds = list(TaskKind) if hours.allows(now) else [TaskKind.DESK_CALL_BACK]
    other = aliased(OutboundTask)
    calling = exists().where(other.number == OutboundTask.number, other.state == TaskState.CALLING)
    stopped = exists().where(OptOut.number == OutboundTask.number, OptOut.kind == OutboundTask.kind)
    ids = session.scalars(
        select(OutboundTask.id)
        .where(
            OutboundTask.state == TaskState.DUE,
            OutboundTask.kind.in_(kinds),
            OutboundTask.not_before <= now,
            or_(OutboundTask.not_after.is_(None), OutboundTask.not_after > now),
            ~calling,
            ~stopped,
        )
        .order_by(OutboundTask.not_before, OutboundTask.id)
        .limit(10)
    ).all()
    for task_id in ids:
        try:
            with session.begin_nested():
                taken = session.execute(
                    update(OutboundTask)
                    .where(
                        OutboundTask.id == task_id, OutboundTask.state == TaskState.DUE, ~calling
                    )
                    .values(state=TaskState.CALLING, owner=owner, claimed_at=now)
                    .execution_options(synchronize_session=False)
                )
        except IntegrityError:  # another agent is calling that number this instant
            continue
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return session.get(OutboundTask, task_id, populate_existing=True)
    return None


def note_attempt(
    task: OutboundTask,
    attempt: Attempt,
    call_id: str | None,
    now: datetime,
    put_through: bool = False,
) -> None:
    """One attempt on the task's history; `put_through`: key 0 reached a clerk, who
    answered (the desk's plan page shows it)."""
    more = {"put_through": True} if put_through else {}
    task.history = [
        *task.history,
        {"at": now.isoformat(), "call_id": call_id, "attempt": attempt.value, **more},
    ]
    task.last_attempt = attempt.value
    task.owner = None


def attempt_failed(
    session: Session,
    task: OutboundTask,
    attempt: Attempt,
    call_id: str | None,
    now: datetime,
    plan: Plan,
) -> OutboundTask:
    """No answer, busy, rejected, no key...: tried again `spacing` later within the hours
    while attempts are left and before its last moment; else given up."""
    note_attempt(task, attempt, call_id, now)
    following = plan.after_attempt(now, task.attempts_left, task.not_after)
    task.attempts_left = following.attempts_left
    if following.at is None:
        task.state = TaskState.GAVE_UP
        logger.info("outbound task %d given up: %s", task.id, following.why)
    else:
        task.state, task.not_before = TaskState.DUE, following.at
    session.flush()
    return task


def put_back(session: Session, task: OutboundTask, call_id: str | None, now: datetime) -> None:
    """The agent stopped during the call: the task waits for the next agent, its attempt
    not counted (the resident was not given a fair chance to answer)."""
    task.history = [
        *task.history,
        {"at": now.isoformat(), "call_id": call_id, "attempt": "interrupted"},
    ]
    task.state, task.owner = TaskState.DUE, None
    session.flush()


@dataclass(frozen=True)
class SurveyFacts:
    """What the call says about the matter: the unit, its category, the day it was repaired."""

    unit: str
    category: str
    repaired_on: date | None


def survey_facts(session: Session, task: OutboundTask, timezone: str) -> SurveyFacts:
    entry = session.get(LogEntry, task.entry_id) if task.entry_id else None
    order = session.get(WorkOrder, task.work_order_id) if task.work_order_id else None
    done = order.completed_at if order is not None else None
    return SurveyFacts(
        unit=(entry.unit or "") if entry is not None else "",
        category=entry.category if entry is not None else "other",
        repaired_on=done.astimezone(ZoneInfo(timezone)).date() if done else None,
    )


def survey_answered(
    session: Session,
    task: OutboundTask,
    result: SurveyResult,
    call_id: str,
    now: datetime,
    comment: str | None = None,
    put_through: bool = False,
) -> OutboundTask:
    """The resident's key, written on the matter: the follow-up (reached, satisfied) as a
    clerk's, with the resident's spoken comment in its notes as a clerk writes it (`comment`:
    住户意见：...); 3 reopens the work; 0 asks the desk for a clerk's call unless a clerk
    took the call then (`put_through`: the clerk spoke with the resident and records the
    follow-up, so the desk is not asked again); 9 stops survey calls."""
    note_attempt(task, Attempt.ANSWERED, call_id, now, put_through)
    task.state, task.result = TaskState.DONE, result.value
    entry = session.get_one(LogEntry, task.entry_id)
    target = f"entry {entry.id}"
    if result is SurveyResult.CLERK and put_through:
        logger.info("[%s] %s: the resident was put through to a clerk", call_id, target)
        session.flush()
        return task
    if result is SurveyResult.CLERK:  # no follow-up yet: a clerk calls and records it
        session.add(
            AuditEvent(at=now, action=CLERK_ASKED, target=target, detail={"call_id": call_id})
        )
        logger.warning("[%s] %s: the resident asked for a clerk's call", call_id, target)
        session.flush()
        return task
    satisfied = SATISFIED.get(result)
    if result is SurveyResult.NOT_FIXED:
        satisfied = False
    notes = f"{NOTES[result]}；{comment}" if comment else NOTES[result]
    record_follow_up(session, entry, True, satisfied, notes, None, now)
    if result is SurveyResult.OPTED_OUT:
        session.execute(
            insert_ignoring(session, OptOut).values(
                number=task.number, kind=task.kind, at=now, call_id=call_id
            )
        )
        session.execute(
            update(OutboundTask)
            .where(
                and_(
                    OutboundTask.number == task.number,
                    OutboundTask.kind == task.kind,
                    OutboundTask.state == TaskState.DUE,
                )
            )
            .values(state=TaskState.CANCELLED, last_attempt="opted_out")
        )
    if result is SurveyResult.NOT_FIXED:
        _reopen(session, task, entry, call_id, now)
    session.flush()
    return task


def _reopen(
    session: Session, task: OutboundTask, entry: LogEntry, call_id: str, now: datetime
) -> None:
    """整改 (1.4.3.6.4): a new work order to the department (and technician) of the last one."""
    order = session.get(WorkOrder, task.work_order_id) if task.work_order_id else None
    if order is None or not allowed(entry.status, EntryStatus.DISPATCHED, Role.CLERK, Via.ORDER):
        logger.warning(
            "[%s] entry %d cannot be re-dispatched from %s", call_id, entry.id, entry.status
        )
        return
    again = dispatch(
        session,
        entry,
        order.department,
        [order.department],
        None,
        now,
        technician=order.technician,
        previous=order,
    )
    session.add(
        AuditEvent(
            at=now,
            action=REOPENED,
            target=f"entry {entry.id}",
            detail={"call_id": call_id, "work_order": again.number, "previous": order.number},
        )
    )
