"""Work orders (派工单, issue 21): made from any entry, to a department or a named
technician, with a deadline; returned done or not done (with the reason, 日常报修服务流程:
如未完成请备注原因), with the parts used and a paid service's fee; re-dispatched (改派).

Status changes go through recorder/matter_states.py; every change of an order keeps a
revision row (recorder/revisions.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from recorder.errors import RecorderError
from recorder.estates import estate_number
from recorder.matter_states import Via, move
from recorder.models import (
    EntryStatus,
    FieldSource,
    LogEntry,
    Role,
    WorkOrder,
    WorkOrderSequence,
    utcnow,
)
from recorder.reception_log import Actor, act_as, next_in_sequence

WORK_ORDER_PREFIX = "PG"


class DispatchError(RecorderError):
    pass


def open_orders_of(session: Session, entry: LogEntry) -> list[WorkOrder]:
    return list(
        session.scalars(
            select(WorkOrder)
            .where(WorkOrder.entry_id == entry.id, WorkOrder.completed.is_(None))
            .order_by(WorkOrder.id)
        )
    )


def orders_of(session: Session, entry_id: int) -> list[WorkOrder]:
    return list(
        session.scalars(
            select(WorkOrder).where(WorkOrder.entry_id == entry_id).order_by(WorkOrder.id)
        )
    )


def dispatch(
    session: Session,
    entry: LogEntry,
    department: str,
    departments: list[str],
    user_id: int | None,
    now: datetime | None = None,
    *,
    technician: str | None = None,
    due_at: datetime | None = None,
    role: Role = Role.CLERK,
    previous: WorkOrder | None = None,
) -> WorkOrder:
    """A numbered work order (PG-2026-0001) for a department, or a named technician of it;
    the entry becomes `dispatched` (it may already be, with another order open)."""
    if department not in departments:
        raise DispatchError(
            f"unknown department {department!r}; configured: {', '.join(departments)}"
        )
    technician = (technician or "").strip() or None
    now = now or utcnow()
    numbered = estate_number(session, entry.estate_id, WORK_ORDER_PREFIX, now.year)
    if numbered is None:  # the company's numbers
        seq = next_in_sequence(session, WorkOrderSequence, now.year)
        numbered = seq, f"{WORK_ORDER_PREFIX}-{now.year}-{seq:04d}"
    seq, number = numbered
    to = f"{department} {technician}" if technician else department
    if entry.status is not EntryStatus.DISPATCHED:
        # A refusal (a closed matter) raises before anything is added; the caller's
        # rollback gives the number back, so numbers keep no gaps.
        move(
            session,
            entry,
            EntryStatus.DISPATCHED,
            user_id=user_id,
            role=role,
            via=Via.ORDER,
            reason=f"派工 {number} {to}",
        )
    order = WorkOrder(
        number=number,
        year=now.year,
        seq=seq,
        entry_id=entry.id,
        department=department,
        technician=technician,
        due_at=due_at,
        dispatched_at=now,
        dispatched_by=user_id,
        previous_id=previous.id if previous else None,
    )
    session.add(order)
    act_as(session, Actor(user_id, FieldSource.PERSON, f"派工 {order.number} {to}"))
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
    *,
    parts: str | None = None,
    paid: bool = False,
    fee_fen: int | None = None,
    role: Role = Role.CLERK,
) -> None:
    """The return (返单): done, or not done with a reason (如未完成请备注原因); the parts used
    and, for a paid service (有偿服务), its fee. The entry is done once no order of it is
    open, or back to `received` when the work was not done."""
    if order.completed is not None:
        raise DispatchError(f"work order {order.number} is already reported")
    reason = (reason or "").strip() or None
    if not done and reason is None:
        raise DispatchError(
            f"work order {order.number}: a reason is required when it was not completed"
        )
    if paid and (fee_fen is None or fee_fen <= 0):
        raise DispatchError(f"work order {order.number}: a paid service needs its fee")
    if fee_fen is not None and fee_fen < 0:
        raise DispatchError(f"work order {order.number}: a fee cannot be negative")
    act_as(session, Actor(user_id, FieldSource.PERSON, reason or f"{order.number} 完成"))
    order.completed, order.reason, order.completed_at = done, reason, now or utcnow()
    order.parts = (parts or "").strip() or None
    order.paid, order.fee_fen = paid, fee_fen if paid else None
    order.returned_by = user_id
    session.flush()
    entry = session.get_one(LogEntry, order.entry_id)
    if entry.status is not EntryStatus.DISPATCHED or open_orders_of(session, entry):
        return
    back = EntryStatus.DONE if done else EntryStatus.RECEIVED
    move(
        session,
        entry,
        back,
        user_id=user_id,
        role=role,
        via=Via.ORDER,
        reason=reason or f"{order.number} 完成",
    )


def redispatch(
    session: Session,
    order: WorkOrder,
    department: str,
    departments: list[str],
    user_id: int | None,
    reason: str | None,
    now: datetime | None = None,
    *,
    technician: str | None = None,
    due_at: datetime | None = None,
    role: Role = Role.CLERK,
) -> WorkOrder:
    """改派: an open order goes to another department or technician, with the reason; the
    old order is closed as not done (改派) and the new one names it."""
    reason = (reason or "").strip() or None
    if order.completed is not None:
        raise DispatchError(f"work order {order.number} is already reported")
    if reason is None:
        raise DispatchError(f"work order {order.number}: a re-dispatch needs a reason")
    if department not in departments:
        raise DispatchError(
            f"unknown department {department!r}; configured: {', '.join(departments)}"
        )
    now = now or utcnow()
    act_as(session, Actor(user_id, FieldSource.PERSON, f"改派: {reason}"))
    order.completed, order.reason, order.completed_at = False, f"改派: {reason}", now
    order.returned_by = user_id
    entry = session.get_one(LogEntry, order.entry_id)
    return dispatch(
        session,
        entry,
        department,
        departments,
        user_id,
        now,
        technician=technician,
        due_at=due_at,
        role=role,
        previous=order,
    )
