"""Dispatch and follow-up (派工, 回访): from a log entry to a closed matter.

Every status change goes through the state machine of recorder/matter_states.py (who may
move what to where, by which path, with which reason), so it leaves a revision; a work
order's return and re-dispatch keep revision rows too (recorder/revisions.py). The rules
come from the seeds:

- 日常报修服务流程: 工程部接单维修, 完成返单, 如未完成请备注原因, 回访报修人维修情况
  -> a work order not completed requires a reason; the follow-up comes after the return;
- 物业客户中心助理日常工作检查作业指导书 3.2 每天对日常电话接待记录本作检查 (the daily
  sign-off), 3.3 每日18:00对当日的派工完成情况作检查 (the completion report) and 3.4 有偿服务
  (a paid service's fee is on the return).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from recorder.deadlines import DAILY_CHECK_AT, first_check_after
from recorder.matter_states import TRANSITIONS, Via, move
from recorder.models import (
    EntryStatus,
    FollowUp,
    LogCheck,
    LogEntry,
    Role,
    WorkOrder,
    utcnow,
)
from recorder.work_orders import (
    WORK_ORDER_PREFIX,
    DispatchError,
    complete,
    dispatch,
    open_orders_of,
    orders_of,
    redispatch,
)

#: Where an entry may go from each status, by any path (the state machine's table).
ALLOWED: dict[EntryStatus, set[EntryStatus]] = {
    status: {to for (frm, to) in TRANSITIONS if frm is status} for status in EntryStatus
}
__all__ = [
    "DAILY_CHECK_AT",
    "WORK_ORDER_PREFIX",
    "DispatchError",
    "complete",
    "dispatch",
    "orders_of",
    "redispatch",
]


def record_follow_up(
    session: Session,
    entry: LogEntry,
    reached: bool,
    satisfied: bool | None,
    notes: str,
    user_id: int | None,
    now: datetime | None = None,
    *,
    role: Role = Role.CLERK,
) -> FollowUp:
    """回访 (1.4.3.2 做好回访记录): once the work is returned. One that reached the resident
    moves a done entry to `followed_up`, satisfied or not (not satisfied: re-dispatch it,
    1.4.3.6.4 整改; it is not closed until satisfied or a supervisor decides)."""
    still_open = open_orders_of(session, entry)
    if still_open:
        raise DispatchError(
            f"entry {entry.id}: work order {still_open[0].number} is still open; "
            "record its return first"
        )
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
        move(
            session,
            entry,
            EntryStatus.FOLLOWED_UP,
            user_id=user_id,
            role=role,
            via=Via.FOLLOW_UP,
            reason="回访",
        )
    session.flush()
    return follow


def close(
    session: Session,
    entry: LogEntry,
    user_id: int | None,
    note: str | None = None,
    *,
    role: Role,
) -> None:
    """A supervisor approves closing (seed 001 篇4 职权 3). After a follow-up that found the
    resident not satisfied, only with the decision's reason (000 1.4.2.2.4 直到客户满意为止)."""
    last = session.scalar(
        select(FollowUp)
        .where(FollowUp.entry_id == entry.id, FollowUp.reached.is_(True))
        .order_by(FollowUp.at.desc(), FollowUp.id.desc())
        .limit(1)
    )
    if last is not None and last.satisfied is not True and not (note or "").strip():
        raise DispatchError(
            f"entry {entry.id}: the resident was not satisfied; closing needs the decision's reason"
        )
    move(
        session, entry, EntryStatus.CLOSED, user_id=user_id, role=role, via=Via.CLOSING, reason=note
    )


def _followed_up_since_work() -> Any:
    """A follow-up that reached the resident after the entry's last completed work."""
    last_done = (
        select(func.max(WorkOrder.completed_at))
        .where(WorkOrder.entry_id == LogEntry.id, WorkOrder.completed.is_(True))
        .scalar_subquery()
    )
    return exists().where(
        FollowUp.entry_id == LogEntry.id,
        FollowUp.reached.is_(True),
        or_(last_done.is_(None), FollowUp.at >= last_done),
    )


def _overdue_entries(today: date) -> Any:
    return and_(
        LogEntry.follow_up_due < today,
        LogEntry.status.not_in([EntryStatus.FOLLOWED_UP, EntryStatus.CLOSED]),
        ~_followed_up_since_work(),
    )


def overdue(session: Session, today: date) -> list[LogEntry]:
    """Entries whose follow-up date has passed and that are not followed up or closed."""
    return list(
        session.scalars(
            select(LogEntry)
            .where(_overdue_entries(today))
            .order_by(LogEntry.follow_up_due, LogEntry.id)
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
    """When an open work order becomes overdue: its due time from the category rules
    (recorder/deadlines.py), else at the 18:00 check of the day it was dispatched
    (3.3 每日18:00对当日的派工完成情况作检查), or of the next day when it was dispatched
    after that day's check."""
    if order.due_at is not None:
        return order.due_at
    return first_check_after(order.dispatched_at, timezone)


def last_check_before(now: datetime, timezone: str) -> datetime:
    """The most recent 18:00 check at or before `now`."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    check = datetime.combine(local.date(), DAILY_CHECK_AT, zone)
    return check if check <= now else check - timedelta(days=1)


def _overdue_orders(now: datetime, timezone: str) -> Any:
    # Past its due time; one without (made before issue 21) is late once a check has
    # passed since it was dispatched (its deadline is the first check after dispatch).
    return and_(
        WorkOrder.completed.is_(None),
        or_(
            WorkOrder.due_at < now,
            and_(
                WorkOrder.due_at.is_(None),
                WorkOrder.dispatched_at < last_check_before(now, timezone),
            ),
        ),
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
    return int(session.scalar(select(func.count(LogEntry.id)).where(_overdue_entries(today))) or 0)
