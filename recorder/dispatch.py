"""Dispatch and follow-up (派工, 回访): from a log entry to a closed matter.

Statuses: received -> dispatched -> done -> followed_up -> closed (an entry
the desk settles itself, e.g. an inquiry answered on the phone, may go from
received straight to done). The rules come from the seeds:

- 日常报修服务流程: 工程部接单维修, 完成返单, 如未完成请备注原因, 回访报修人维修情况
  -> a work order not completed requires a reason;
- 物业客户中心助理日常工作检查作业指导书 3.2 每天对日常电话接待记录本作检查 (the daily
  sign-off) and 3.3 每日18:00对当日的派工完成情况作检查 (the completion report).

Every status change of an entry goes through act_as, so it leaves a revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from recorder.errors import RecorderError
from recorder.models import (
    EntryStatus,
    FieldSource,
    FollowUp,
    LogCheck,
    LogEntry,
    WorkOrder,
    WorkOrderSequence,
    utcnow,
)
from recorder.reception_log import Actor, act_as, next_in_sequence

WORK_ORDER_PREFIX = "PG"
ALLOWED = {
    EntryStatus.RECEIVED: {EntryStatus.DISPATCHED, EntryStatus.DONE},
    EntryStatus.DISPATCHED: {EntryStatus.DONE, EntryStatus.RECEIVED},
    EntryStatus.DONE: {EntryStatus.FOLLOWED_UP, EntryStatus.CLOSED, EntryStatus.DISPATCHED},
    EntryStatus.FOLLOWED_UP: {EntryStatus.CLOSED, EntryStatus.DISPATCHED},
    EntryStatus.CLOSED: set(),
}
DAILY_CHECK_AT = time(18, 0)


class DispatchError(RecorderError):
    pass


def _move(
    session: Session, entry: LogEntry, to: EntryStatus, user_id: int | None, reason: str | None
) -> None:
    if to not in ALLOWED[entry.status]:
        raise DispatchError(f"entry {entry.id}: cannot go from {entry.status.value} to {to.value}")
    act_as(session, Actor(user_id, FieldSource.PERSON, reason))
    entry.status = to


def dispatch(
    session: Session,
    entry: LogEntry,
    department: str,
    departments: list[str],
    user_id: int | None,
    now: datetime | None = None,
) -> WorkOrder:
    """A numbered work order for a department; the entry becomes `dispatched`."""
    if department not in departments:
        raise DispatchError(
            f"unknown department {department!r}; configured: {', '.join(departments)}"
        )
    now = now or utcnow()
    seq = next_in_sequence(session, WorkOrderSequence, now.year)
    order = WorkOrder(
        number=f"{WORK_ORDER_PREFIX}-{now.year}-{seq:04d}",
        year=now.year,
        seq=seq,
        entry_id=entry.id,
        department=department,
        dispatched_at=now,
        dispatched_by=user_id,
    )
    session.add(order)
    _move(session, entry, EntryStatus.DISPATCHED, user_id, f"派工 {order.number} {department}")
    entry.dispatch_department = department
    session.flush()
    return order


def complete(
    session: Session,
    order: WorkOrder,
    done: bool,
    user_id: int | None,
    reason: str | None = None,
    now: datetime | None = None,
) -> None:
    """The department's report: done, or not done with a reason (如未完成请备注原因)."""
    if order.completed is not None:
        raise DispatchError(f"work order {order.number} is already reported")
    if not done and not (reason and reason.strip()):
        raise DispatchError(
            f"work order {order.number}: a reason is required when it was not completed"
        )
    order.completed, order.reason, order.completed_at = done, reason, now or utcnow()
    entry = session.get_one(LogEntry, order.entry_id)
    back = EntryStatus.DONE if done else EntryStatus.RECEIVED
    _move(session, entry, back, user_id, reason or f"{order.number} 完成")


def record_follow_up(
    session: Session,
    entry: LogEntry,
    reached: bool,
    satisfied: bool | None,
    notes: str,
    user_id: int | None,
    now: datetime | None = None,
) -> FollowUp:
    follow = FollowUp(
        entry_id=entry.id,
        at=now or utcnow(),
        by_user_id=user_id,
        reached=reached,
        satisfied=satisfied if reached else None,
        notes=notes,
    )
    session.add(follow)
    if reached and entry.status is EntryStatus.DONE:
        _move(session, entry, EntryStatus.FOLLOWED_UP, user_id, "回访")
    return follow


def close(session: Session, entry: LogEntry, user_id: int | None, note: str | None = None) -> None:
    _move(session, entry, EntryStatus.CLOSED, user_id, note)


def overdue(session: Session, today: date) -> list[LogEntry]:
    """Entries whose follow-up date has passed and that are not followed up or closed."""
    return list(
        session.scalars(
            select(LogEntry)
            .where(
                LogEntry.follow_up_due < today,
                LogEntry.status.not_in([EntryStatus.FOLLOWED_UP, EntryStatus.CLOSED]),
            )
            .order_by(LogEntry.follow_up_due)
        )
    )


@dataclass(frozen=True)
class CompletionReport:
    """每日18:00对当日的派工完成情况作检查."""

    day: date
    dispatched: int
    done: int
    not_done: list[WorkOrder]
    open: list[WorkOrder]


def daily_completion(session: Session, day: date, timezone: str) -> CompletionReport:
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), zone)
    end = start + timedelta(days=1)
    orders = list(
        session.scalars(
            select(WorkOrder)
            .where(WorkOrder.dispatched_at >= start, WorkOrder.dispatched_at < end)
            .order_by(WorkOrder.seq)
        )
    )
    return CompletionReport(
        day=day,
        dispatched=len(orders),
        done=sum(1 for o in orders if o.completed),
        not_done=[o for o in orders if o.completed is False],
        open=[o for o in orders if o.completed is None],
    )


def sign_off(session: Session, day: date, user_id: int, notes: str = "") -> LogCheck:
    """The supervisor's daily check of the log; once per day."""
    if session.scalar(select(LogCheck.id).where(LogCheck.day == day)) is not None:
        raise DispatchError(f"the log of {day} is already signed off")
    check = LogCheck(day=day, checked_by=user_id, notes=notes)
    session.add(check)
    return check


def work_order_deadline(order: WorkOrder, timezone: str) -> datetime:
    """When an open work order becomes overdue: at the 18:00 check of the day it was
    dispatched (3.3 每日18:00对当日的派工完成情况作检查), or of the next day when it was
    dispatched after that day's check."""
    zone = ZoneInfo(timezone)
    local = order.dispatched_at.astimezone(zone)
    check = datetime.combine(local.date(), DAILY_CHECK_AT, zone)
    return check if local < check else check + timedelta(days=1)


def last_check_before(now: datetime, timezone: str) -> datetime:
    """The most recent 18:00 check at or before `now`."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    check = datetime.combine(local.date(), DAILY_CHECK_AT, zone)
    return check if check <= now else check - timedelta(days=1)


def _overdue_orders(now: datetime, timezone: str) -> Any:
    # An order is late once a check has passed since it was dispatched: its deadline
    # (work_order_deadline) is the first check after dispatch, so it is late exactly
    # when it was dispatched before the latest check.
    return and_(
        WorkOrder.completed.is_(None), WorkOrder.dispatched_at < last_check_before(now, timezone)
    )


def overdue_work_orders(session: Session, now: datetime, timezone: str) -> list[WorkOrder]:
    """Open work orders past their deadline (首问责任制培训细则 1.4.1.4 事事有着落、件件有回音),
    oldest first."""
    return list(
        session.scalars(
            select(WorkOrder)
            .where(_overdue_orders(now, timezone))
            .order_by(WorkOrder.dispatched_at, WorkOrder.id)
        )
    )


def overdue_work_order_count(session: Session, now: datetime, timezone: str) -> int:
    return int(
        session.scalar(select(func.count(WorkOrder.id)).where(_overdue_orders(now, timezone))) or 0
    )


def open_work_orders(session: Session, entry_ids: list[int]) -> dict[int, WorkOrder]:
    """The newest open work order of each of `entry_ids` that has one."""
    if not entry_ids:
        return {}
    orders = session.scalars(
        select(WorkOrder)
        .where(WorkOrder.entry_id.in_(entry_ids), WorkOrder.completed.is_(None))
        .order_by(WorkOrder.id)
    )
    return {order.entry_id: order for order in orders}


def last_follow_ups(session: Session, entry_ids: list[int]) -> dict[int, FollowUp]:
    """The most recent follow-up of each of `entry_ids` that has one."""
    if not entry_ids:
        return {}
    follows = session.scalars(
        select(FollowUp).where(FollowUp.entry_id.in_(entry_ids)).order_by(FollowUp.at, FollowUp.id)
    )
    return {follow.entry_id: follow for follow in follows}


def log_check(session: Session, day: date) -> LogCheck | None:
    """The day's sign-off, if a supervisor has given it."""
    return session.scalar(select(LogCheck).where(LogCheck.day == day))


def overdue_count(session: Session, today: date) -> int:
    """How many entries `overdue` would list, counted by the database."""
    return int(
        session.scalar(
            select(func.count(LogEntry.id)).where(
                LogEntry.follow_up_due < today,
                LogEntry.status.not_in([EntryStatus.FOLLOWED_UP, EntryStatus.CLOSED]),
            )
        )
        or 0
    )
