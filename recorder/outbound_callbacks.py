"""Automatic call-backs of missed calls (issue 22; seed 001 篇2 3.1.4-3.1.5: every caller
who could not be served is called back), when the site turns them on
(outbound.call_back).

A missed or abandoned inbound call whose entry is still on the call-back list (received,
nobody acted on it) gets one task, due at once and to be called within
`within` of the call; the calling hours and attempts are the queue's
(recorder/outbound_rules.py). One number with several missed calls is called once.
Each attempt is written on the missed entry's handling; once the resident answers, the
entry is done (reason 自动回电已接通) and so are the number's other missed entries still
waiting: they leave the call-back list together.

Functions take a Session; the caller opens and commits it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from recorder.actors import Actor, act_as
from recorder.matter_states import Via, move
from recorder.models import (
    Call,
    Direction,
    Disposition,
    EntryStatus,
    FieldSource,
    LogEntry,
    Role,
)
from recorder.outbound import add_task_once, note_attempt
from recorder.outbound_models import Attempt, OutboundTask, TaskKind, TaskState
from recorder.outbound_rules import Plan

logger = logging.getLogger(__name__)
REACHED = "自动回电已接通"
#: How an attempt that did not reach the resident is written on the entry.
NOT_REACHED = {
    Attempt.NO_ANSWER: "无人接听",
    Attempt.BUSY: "占线",
    Attempt.REJECTED: "被拒接",
    Attempt.FAILED: "未能呼出",
}
OPEN = (TaskState.DUE, TaskState.CALLING)


def create_call_backs(
    session: Session, now: datetime, plan: Plan, within: timedelta
) -> list[OutboundTask]:
    """A task for each missed or abandoned inbound call of the last `within` whose entry
    is still waiting, unless its number already has a call-back on the way."""
    has_task = exists().where(
        OutboundTask.kind == TaskKind.CALL_BACK, OutboundTask.entry_id == LogEntry.id
    )
    rows = session.execute(
        select(LogEntry, Call.invite_at)
        .join(Call, LogEntry.call_pk == Call.id)
        .where(
            Call.direction == Direction.INBOUND,
            Call.disposition.in_([Disposition.MISSED, Disposition.ABANDONED]),
            Call.invite_at >= now - within,
            LogEntry.status == EntryStatus.RECEIVED,
            LogEntry.caller_number.is_not(None),
            ~has_task,
        )
        .order_by(Call.invite_at)
    ).all()
    made: list[OutboundTask] = []
    for entry, invited in rows:
        number = str(entry.phone or entry.caller_number)
        if _on_the_way(session, number):
            continue
        values = {
            "kind": TaskKind.CALL_BACK,
            "number": number,
            "entry_id": entry.id,
            "not_before": now,
            "not_after": invited + within,
            "attempts_left": plan.attempts.attempts,
            "state": TaskState.DUE,
            "history": [],
        }
        # The unique call-back entry keeps one task.
        task = add_task_once(
            session,
            values,
            OutboundTask.kind == TaskKind.CALL_BACK,
            OutboundTask.entry_id == entry.id,
        )
        if task is not None:
            made.append(task)
    return made


def _on_the_way(session: Session, number: str) -> bool:
    return (
        session.scalar(
            select(OutboundTask.id).where(
                OutboundTask.kind == TaskKind.CALL_BACK,
                OutboundTask.number == number,
                OutboundTask.state.in_(OPEN),
            )
        )
        is not None
    )


def _noted(session: Session, entry: LogEntry, line: str) -> None:
    """A line on the entry's handling, written by the system (a revision names it)."""
    act_as(session, Actor(None, FieldSource.AUTO, "自动回电"))
    entry.handling = f"{entry.handling}\n{line}" if entry.handling else line


def _when(at: datetime, timezone: str) -> str:
    return f"{at.astimezone(ZoneInfo(timezone)):%m-%d %H:%M}"


def call_back_missed(
    session: Session, task: OutboundTask, attempt: Attempt, now: datetime, timezone: str
) -> None:
    """An attempt that did not reach the resident, written on the missed entry."""
    entry = session.get(LogEntry, task.entry_id) if task.entry_id else None
    if entry is not None:
        said = NOT_REACHED.get(attempt, attempt.value)
        _noted(session, entry, f"{_when(now, timezone)} 自动回电：{said}")
        session.flush()


def call_back_reached(
    session: Session, task: OutboundTask, call_id: str, now: datetime, timezone: str
) -> OutboundTask:
    """The resident answered: the task is done, and the number's missed entries still
    waiting leave the call-back list (done, reason 自动回电已接通)."""
    note_attempt(task, Attempt.ANSWERED, call_id, now)
    task.state, task.result = TaskState.DONE, "reached"
    waiting = session.scalars(
        select(LogEntry)
        .join(Call, LogEntry.call_pk == Call.id)
        .where(
            Call.direction == Direction.INBOUND,
            Call.disposition.in_([Disposition.MISSED, Disposition.ABANDONED]),
            LogEntry.status == EntryStatus.RECEIVED,
            or_(LogEntry.id == task.entry_id, LogEntry.caller_number == task.number),
            LogEntry.received_at <= now,
        )
    ).all()
    for entry in waiting:
        _noted(session, entry, f"{_when(now, timezone)} 自动回电：已接通")
        move(
            session,
            entry,
            EntryStatus.DONE,
            user_id=None,
            role=Role.CLERK,
            via=Via.FORM,
            reason=REACHED,
        )
    logger.info("[%s] call-back reached %s: %d entries done", call_id, task.number, len(waiting))
    session.flush()
    return task
