"""The supervisor's checks as records (检查作业指导书, seed 001 篇3), each a sample of
records the supervisor sees and marks one by one:

- 3.2 daily: 每天对日常电话接待记录本作检查 — a sample of the day's entries;
- 3.6 weekly: 每周对…各种记录和表格作检查, 对不合规范的记录责成当事人改正 — a sample of the
  week's entries; one not in order is returned to its writer, who corrects it;
- 3.4 monthly: 每月对派工单回访情况作抽检, 其中有偿服务是全部检查, 非有偿服务检查10% — every
  paid work order of the month and a tenth (at least one) of the others.

Samples are drawn at random, reproducibly per period (the same period draws the same
records), and kept: drawing again adds nothing.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from recorder.errors import RecorderError
from recorder.models import CheckMark, LogEntry, WorkOrder

KINDS = ("daily", "weekly", "monthly")
DAILY_SAMPLE = 10
WEEKLY_SAMPLE = 20
UNPAID_SHARE = 0.10


class CheckError(RecorderError):
    pass


def period_of(kind: str, day: date) -> tuple[date, date]:
    """The first day of the period and the first day after it."""
    if kind == "daily":
        return day, day + timedelta(days=1)
    if kind == "weekly":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=7)
    if kind == "monthly":
        first = day.replace(day=1)
        return first, (first + timedelta(days=32)).replace(day=1)
    raise CheckError(f"unknown check {kind!r}; known: {', '.join(KINDS)}")


def _bounds(first: date, after: date, timezone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(timezone)
    return datetime.combine(first, time.min, zone), datetime.combine(after, time.min, zone)


def marks(session: Session, kind: str, day: date) -> list[CheckMark]:
    first, _ = period_of(kind, day)
    return list(
        session.scalars(
            select(CheckMark)
            .where(CheckMark.kind == kind, CheckMark.period == first)
            .order_by(CheckMark.id)
        )
    )


def draw(session: Session, kind: str, day: date, timezone: str, now: datetime) -> list[CheckMark]:
    """The period's sample, drawn once and kept."""
    first, after = period_of(kind, day)
    existing = marks(session, kind, day)
    if existing:
        return existing
    start, end = _bounds(first, after, timezone)
    chance = random.Random(f"{kind}:{first.isoformat()}")
    picked: list[tuple[int, int | None]] = []
    if kind == "monthly":
        orders = list(
            session.scalars(
                select(WorkOrder)
                .where(
                    WorkOrder.completed.is_(True),
                    WorkOrder.completed_at >= start,
                    WorkOrder.completed_at < end,
                )
                .order_by(WorkOrder.id)
            )
        )
        paid = [o for o in orders if o.paid]
        unpaid = [o for o in orders if not o.paid]
        share = math.ceil(len(unpaid) * UNPAID_SHARE) if unpaid else 0
        chosen = paid + chance.sample(unpaid, share)
        seen: set[int] = set()
        for order in sorted(chosen, key=lambda o: o.id):
            if order.entry_id not in seen:
                seen.add(order.entry_id)
                picked.append((order.entry_id, order.id))
    else:
        ids = list(
            session.scalars(
                select(LogEntry.id)
                .where(LogEntry.received_at >= start, LogEntry.received_at < end)
                .order_by(LogEntry.id)
            )
        )
        size = min(len(ids), DAILY_SAMPLE if kind == "daily" else WEEKLY_SAMPLE)
        picked = [(i, None) for i in sorted(chance.sample(ids, size))]
    for entry_id, order_id in picked:
        session.add(
            CheckMark(
                kind=kind, period=first, entry_id=entry_id, work_order_id=order_id, sampled_at=now
            )
        )
    session.flush()
    return marks(session, kind, day)


def mark(
    session: Session, check: CheckMark, ok: bool, note: str, user_id: int, now: datetime
) -> None:
    """The supervisor's mark; not in order needs the reason, and a weekly one goes back to
    the record's writer (its owner) for correction."""
    if check.checked_at is not None:
        raise CheckError(f"check {check.id} is marked already")
    if not ok and not note.strip():
        raise CheckError(f"check {check.id}: say what is not in order")
    check.ok, check.note, check.checked_by, check.checked_at = ok, note.strip(), user_id, now
    if not ok and check.kind == "weekly":
        entry = session.get_one(LogEntry, check.entry_id)
        check.returned_to = entry.responsible_user_id
    session.flush()


def corrected(session: Session, check: CheckMark, user_id: int, now: datetime) -> None:
    if check.returned_to is None or check.corrected_at is not None:
        raise CheckError(f"check {check.id} is not waiting for a correction")
    if check.returned_to != user_id:
        raise CheckError(f"check {check.id} was returned to someone else")
    check.corrected_at = now
    session.flush()


def returned_to(session: Session, user_id: int) -> list[CheckMark]:
    """A writer's records returned for correction and not yet corrected."""
    return list(
        session.scalars(
            select(CheckMark)
            .where(CheckMark.returned_to == user_id, CheckMark.corrected_at.is_(None))
            .order_by(CheckMark.id)
        )
    )
