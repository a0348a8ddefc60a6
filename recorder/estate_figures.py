"""The estates side by side for a month (issue 23): the company's comparison, printed by
`hotline estates compare` and shown on the desk (admin/estates.py).

Per estate, for [start, end):
- calls (inbound, by invite time), answered, missed (rang out), answered within the threshold
  (`max_rings`, 铃响三声之内接听) and the service level: answered within ÷ answered,
  as recorder/service_level.py counts them (None when nothing was answered);
- entries received, entries still open (now, whenever received), complaints registered,
  work orders dispatched;
- follow-up: repairs whose work order was first completed in the month, and how many of
  them a follow-up call reached (recorder/kpi.py's follow_up), the rate None when none.

The company's own row (no estate: "-") comes last, when it has any.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session

from recorder.estates import Estate
from recorder.models import Call, Complaint, Disposition, EntryStatus, FollowUp, LogEntry, WorkOrder
from recorder.service_level import INBOUND_SIDE, Threshold, service_level_by


@dataclass(frozen=True)
class EstateFigures:
    """One estate's row of the company's comparison."""

    code: str
    name: str
    calls: int = 0
    answered: int = 0
    missed: int = 0
    entries: int = 0
    open_entries: int = 0
    complaints: int = 0
    answered_within: int = 0
    work_orders: int = 0
    completed_repairs: int = 0
    followed_up: int = 0

    @property
    def service_level(self) -> float | None:
        return self.answered_within / self.answered if self.answered else None

    @property
    def follow_up_rate(self) -> float | None:
        return self.followed_up / self.completed_repairs if self.completed_repairs else None


def _counts(session: Session, stmt: Any) -> dict[int | None, tuple[int, ...]]:
    return {key: tuple(int(v or 0) for v in rest) for key, *rest in session.execute(stmt)}


def _follow_ups(session: Session, start: datetime, end: datetime) -> Any:
    done = (
        select(WorkOrder.entry_id)
        .where(WorkOrder.completed.is_(True))
        .group_by(WorkOrder.entry_id)
        .having(func.min(WorkOrder.completed_at) >= start, func.min(WorkOrder.completed_at) < end)
        .subquery()
    )
    reached = exists().where(FollowUp.entry_id == LogEntry.id, FollowUp.reached.is_(True))
    return (
        select(LogEntry.estate_id, func.count(), func.sum(case((reached, 1), else_=0)))
        .join(done, done.c.entry_id == LogEntry.id)
        .where(LogEntry.category == "repair")
        .group_by(LogEntry.estate_id)
    )


def compare(
    session: Session, start: datetime, end: datetime, threshold: Threshold | int = 3
) -> list[EstateFigures]:
    """Each estate's figures for [start, end), by code; the company's own ("-") last."""
    levels = service_level_by(session, start, end, Call.estate_id, threshold)
    per_key: dict[str, dict[int | None, tuple[int, ...]]] = {
        "missed": _counts(
            session,
            select(Call.estate_id, func.count())
            .where(Call.invite_at >= start, Call.invite_at < end, INBOUND_SIDE)
            .where(Call.disposition == Disposition.MISSED)
            .group_by(Call.estate_id),
        ),
        "entries": _counts(
            session,
            select(LogEntry.estate_id, func.count())
            .where(LogEntry.received_at >= start, LogEntry.received_at < end)
            .group_by(LogEntry.estate_id),
        ),
        "open_entries": _counts(
            session,
            select(LogEntry.estate_id, func.count())
            .where(LogEntry.status != EntryStatus.CLOSED)
            .group_by(LogEntry.estate_id),
        ),
        "complaints": _counts(
            session,
            select(Complaint.estate_id, func.count())
            .where(Complaint.registered_at >= start, Complaint.registered_at < end)
            .group_by(Complaint.estate_id),
        ),
        "work_orders": _counts(
            session,
            select(WorkOrder.estate_id, func.count())
            .where(WorkOrder.dispatched_at >= start, WorkOrder.dispatched_at < end)
            .group_by(WorkOrder.estate_id),
        ),
    }
    follow_ups = _counts(session, _follow_ups(session, start, end))

    def row(estate_id: int | None, code: str, name: str) -> EstateFigures:
        level = levels.get(estate_id)
        done, reached = follow_ups.get(estate_id, (0, 0))
        return EstateFigures(
            code,
            name,
            calls=level.calls if level else 0,
            answered=level.answered if level else 0,
            answered_within=level.answered_within if level else 0,
            completed_repairs=done,
            followed_up=reached,
            **{key: counts.get(estate_id, (0,))[0] for key, counts in per_key.items()},
        )

    rows = [
        row(e.id, e.code, e.name) for e in session.scalars(select(Estate).order_by(Estate.code))
    ]
    if None in levels or any(None in counts for counts in (*per_key.values(), follow_ups)):
        rows.append(row(None, "-", ""))
    return rows
