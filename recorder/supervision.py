"""The supervisor's figures: answering within three rings, missed calls not
called back, script compliance per staff member, first-question
responsibility (each person's open items) and monthly statistics.

Every figure is one aggregate query, so a month of 100,000 calls is counted
by the database, not in Python (bench/supervision_dashboard.py times it).

Service level, in both forms call centres use, is recorder/service_level.py's (issue
20: callers who hang up in the greeting or the menu count as abandoned, short abandons
and imported calls are left out and shown apart).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, contains_eager

from recorder.models import (
    Call,
    ComplianceResult,
    Disposition,
    EntryStatus,
    LogEntry,
    User,
    WorkOrder,
)
from recorder.service_level import (  # noqa: F401 (the supervisor's figures, in one place)
    ServiceLevel,
    Threshold,
    service_level,
    service_level_by_bucket,
)

OPEN = (EntryStatus.RECEIVED, EntryStatus.DISPATCHED, EntryStatus.DONE)


def missed_not_called_back(session: Session, start: datetime, end: datetime) -> list[LogEntry]:
    return list(
        session.scalars(
            select(LogEntry)
            .join(Call, LogEntry.call_pk == Call.id)
            .where(
                Call.invite_at >= start,
                Call.invite_at < end,
                Call.disposition.in_([Disposition.MISSED, Disposition.ABANDONED]),
                LogEntry.status == EntryStatus.RECEIVED,
            )
            .order_by(Call.invite_at)
        )
    )


def compliance_by_staff(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per answering person (the agent counts as one): calls, passed, within three rings."""
    rows = session.execute(
        select(
            ComplianceResult.answered_by,
            ComplianceResult.user_id,
            User.display_name,
            func.count(),
            func.sum(case((ComplianceResult.passed, 1), else_=0)),
            func.sum(case((ComplianceResult.within_rings.is_(True), 1), else_=0)),
        )
        .join(Call, ComplianceResult.call_pk == Call.id)
        .outerjoin(User, ComplianceResult.user_id == User.id)
        .where(Call.invite_at >= start, Call.invite_at < end)
        .group_by(ComplianceResult.answered_by, ComplianceResult.user_id, User.display_name)
    ).all()
    return [
        {
            "answered_by": by,
            "user_id": uid,
            "name": name or by,
            "calls": n,
            "passed": int(ok or 0),
            "within_rings": int(rings or 0),
        }
        for by, uid, name, n, ok, rings in rows
    ]


def flagged_calls(
    session: Session, start: datetime, end: datetime, limit: int = 100
) -> list[ComplianceResult]:
    """Calls that failed the script check, newest first, with the time of each finding."""
    return list(
        session.scalars(
            select(ComplianceResult)
            .join(Call, ComplianceResult.call_pk == Call.id)
            .where(
                Call.invite_at >= start, Call.invite_at < end, ComplianceResult.passed.is_(False)
            )
            .order_by(Call.invite_at.desc())
            .limit(limit)
        )
    )


def open_items_by_staff(session: Session) -> list[dict[str, Any]]:
    """首问责任制: whoever first received a matter owns it until it is closed."""
    rows = session.execute(
        select(
            User.id, User.display_name, func.count(LogEntry.id), func.min(LogEntry.follow_up_due)
        )
        .join(LogEntry, LogEntry.responsible_user_id == User.id)
        .where(LogEntry.status.in_(OPEN))
        .group_by(User.id, User.display_name)
        .order_by(func.count(LogEntry.id).desc())
    ).all()
    return [
        {"user_id": uid, "name": name, "open": n, "earliest_due": due} for uid, name, n, due in rows
    ]


def monthly_statistics(
    session: Session, start: datetime, end: datetime
) -> dict[str, dict[str, int]]:
    """Counts of the month's entries by category, urgency, department, and calls by disposition."""
    in_month = and_(LogEntry.received_at >= start, LogEntry.received_at < end)
    stats: dict[str, dict[str, int]] = {}
    for name, column in (
        ("category", LogEntry.category),
        ("urgency", LogEntry.urgency),
        ("department", LogEntry.dispatch_department),
        ("status", LogEntry.status),
    ):
        rows = session.execute(select(column, func.count()).where(in_month).group_by(column)).all()
        stats[name] = {str(getattr(k, "value", k) or "-"): int(n) for k, n in rows}
    rows = session.execute(
        select(Call.disposition, func.count())
        .where(Call.invite_at >= start, Call.invite_at < end)
        .group_by(Call.disposition)
    ).all()
    stats["disposition"] = {k.value: int(n) for k, n in rows}
    return stats


def resolve_hours(session: Session, start: datetime, end: datetime) -> dict[str, float]:
    """Mean hours from receiving a matter to its work order's completion, per department."""
    rows = session.execute(
        select(WorkOrder.department, LogEntry.received_at, WorkOrder.completed_at)
        .join(LogEntry, WorkOrder.entry_id == LogEntry.id)
        .where(
            WorkOrder.completed.is_(True), LogEntry.received_at >= start, LogEntry.received_at < end
        )
    ).all()
    sums: dict[str, list[float]] = {}
    for department, received, completed in rows:
        if completed is not None:
            sums.setdefault(department, []).append((completed - received).total_seconds() / 3600)
    return {dept: sum(hours) / len(hours) for dept, hours in sums.items()}


def missed_not_called_back_page(
    session: Session, start: datetime, end: datetime, limit: int = 50
) -> tuple[int, list[LogEntry]]:
    """How many missed calls wait for a call back, and the oldest `limit` of them with their call."""
    waiting = (
        select(LogEntry)
        .join(Call, LogEntry.call_pk == Call.id)
        .where(
            Call.invite_at >= start,
            Call.invite_at < end,
            Call.disposition.in_([Disposition.MISSED, Disposition.ABANDONED]),
            LogEntry.status == EntryStatus.RECEIVED,
        )
    )
    total = session.scalar(select(func.count()).select_from(waiting.subquery())) or 0
    entries = session.scalars(
        waiting.options(contains_eager(LogEntry.call)).order_by(Call.invite_at).limit(limit)
    )
    return int(total), list(entries)


@dataclass(frozen=True)
class FlaggedCall:
    """A call that failed the script check, with what the queue shows and links to."""

    result: ComplianceResult
    invite_at: datetime
    entry_id: int | None
    staff_name: str | None


def flagged_queue(
    session: Session, start: datetime, end: datetime, limit: int = 100
) -> list[FlaggedCall]:
    """`flagged_calls` with each call's time, its log entry and who answered.

    How many there are in all is Σ(calls − passed) of `compliance_by_staff`,
    which the dashboard has counted already.
    """
    rows = session.execute(
        select(ComplianceResult, Call.invite_at, LogEntry.id, User.display_name)
        .join(Call, ComplianceResult.call_pk == Call.id)
        .outerjoin(LogEntry, LogEntry.call_pk == Call.id)
        .outerjoin(User, ComplianceResult.user_id == User.id)
        .where(Call.invite_at >= start, Call.invite_at < end, ComplianceResult.passed.is_(False))
        .order_by(Call.invite_at.desc(), Call.id.desc())
        .limit(limit)
    ).all()
    return [FlaggedCall(*row) for row in rows]
