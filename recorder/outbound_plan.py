"""The day's outbound plan and results, per task type (issue 22, "the desk"): what the
agent is to call on a day and what came of each call, for the desk's page
(admin/outbound.py).

A task is on a day's plan when an attempt was made that day (its history) or, still to
be called, it falls due that day (or fell due earlier and is still waiting, on today's
plan). Its outcome is the answer once reached (satisfied, not fixed, received, reached,
put through to a clerk...), else how its last attempt ended (busy, no answer, rejected,
...), else nothing yet. The recordings are those of the day's calls.

Functions take a Session; nothing here writes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from recorder.models import Call, Complaint, Recording, ReplyLetter
from recorder.outbound_models import OutboundTask, TaskKind, TaskState

OPEN = (TaskState.DUE, TaskState.CALLING)
#: The outcomes counted as the resident reached (an answer recorded).
REACHED = frozenset(
    {
        "satisfied",
        "not_satisfied",
        "not_fixed",
        "opted_out",
        "received",
        "not_received",
        "reached",
        "put_through",
        "clerk_asked",
    }
)


@dataclass(frozen=True)
class PlanRow:
    """One task on the day's plan."""

    task_id: int
    kind: TaskKind
    number: str
    due: datetime
    not_after: datetime | None
    state: TaskState
    outcome: str | None
    """The answer (SurveyResult / LetterResult values, "reached", "put_through",
    "clerk_asked"), else the last attempt (Attempt values), "cancelled"; None: not called."""
    attempts_today: list[tuple[datetime, str]]
    attempts_made: int
    attempts_left: int
    entry_id: int | None
    complaint_id: int | None
    recordings: list[int] = field(default_factory=list)

    @property
    def reached(self) -> bool:
        return self.outcome in REACHED


@dataclass(frozen=True)
class KindPlan:
    kind: TaskKind
    rows: list[PlanRow]

    @property
    def counts(self) -> Counter[str]:
        """How many per outcome ("planned" for those not called yet)."""
        return Counter(row.outcome or "planned" for row in self.rows)

    @property
    def reached(self) -> int:
        return sum(row.reached for row in self.rows)


def outcome(task: OutboundTask) -> str | None:
    if task.state is TaskState.DONE and task.result == "clerk":
        last = task.history[-1] if task.history else {}
        return "put_through" if last.get("put_through") else "clerk_asked"
    if task.state is TaskState.DONE:
        return task.result
    if task.state is TaskState.CANCELLED:
        return "opted_out" if task.last_attempt == "opted_out" else "cancelled"
    return task.last_attempt


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), zone)


def day_plan(session: Session, day: date, zone: ZoneInfo, today: date) -> list[KindPlan]:
    """The tasks of `day` by kind (follow-up, letter confirmation, call-back), each by
    due time; every kind listed, empty or not."""
    start, end = day_bounds(day, zone)
    # A task attempted on the day was claimed that day or later; its due time moves on
    # with each attempt, so the candidates are read wide and sorted out by their history.
    candidates = session.scalars(
        select(OutboundTask).where(
            or_(
                OutboundTask.not_before >= start,
                OutboundTask.claimed_at >= start,
                OutboundTask.state.in_(OPEN),
            ),
            OutboundTask.not_before < end + timedelta(days=31),
        )
    ).all()
    rows: list[tuple[OutboundTask, list[tuple[datetime, str, str | None]]]] = []
    for task in candidates:
        tried = [
            (at, str(a.get("attempt")), a.get("call_id"))
            for a in task.history
            if start <= (at := datetime.fromisoformat(a["at"])) < end
        ]
        waiting = task.state in OPEN and (
            start <= task.not_before < end or (day == today and task.not_before < start)
        )
        if tried or waiting:
            rows.append((task, tried))
    recordings = _recordings(session, [cid for _, tried in rows for *_, cid in tried if cid])
    complaints = _complaints(session, [t.letter_id for t, _ in rows if t.letter_id])
    plan = {kind: KindPlan(kind, []) for kind in TaskKind}
    for task, tried in sorted(rows, key=lambda r: (r[0].not_before, r[0].id)):
        complaint = complaints.get(task.letter_id or 0)
        entry_id = task.entry_id if complaint is None else complaint[1]
        plan[task.kind].rows.append(
            PlanRow(
                task_id=task.id,
                kind=task.kind,
                number=task.number,
                due=task.not_before,
                not_after=task.not_after,
                state=task.state,
                outcome=outcome(task),
                attempts_today=[(at, attempt) for at, attempt, _ in tried],
                attempts_made=sum(1 for a in task.history if a.get("attempt") != "interrupted"),
                attempts_left=task.attempts_left,
                entry_id=entry_id,
                complaint_id=complaint[0] if complaint else None,
                recordings=[r for *_, cid in tried if cid for r in recordings.get(cid, [])],
            )
        )
    return list(plan.values())


def _recordings(session: Session, call_ids: list[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    if not call_ids:
        return found
    for call_id, recording in session.execute(
        select(Call.call_id, Recording.id)
        .join(Recording, Recording.call_pk == Call.id)
        .where(Call.call_id.in_(call_ids))
        .order_by(Recording.id)
    ):
        found.setdefault(call_id, []).append(recording)
    return found


def _complaints(session: Session, letter_ids: list[int]) -> dict[int, tuple[int, int]]:
    """letter id -> (its complaint, the complaint's entry)."""
    if not letter_ids:
        return {}
    return {
        letter: (complaint, entry)
        for letter, complaint, entry in session.execute(
            select(ReplyLetter.id, Complaint.id, Complaint.entry_id)
            .join(Complaint, ReplyLetter.complaint_id == Complaint.id)
            .where(ReplyLetter.id.in_(letter_ids))
        )
    }
