"""Shift handover (交接班): the leaving shift lists the open matters (what, whose, due when)
and the next shift acknowledges them (seed 001 篇5 3: 对未完成的服务需提醒物业服务值班室登记
并且转报夜间值班经理处理; 002 四 2: 上下班时, 必须做好交接工作、交接本记录(包括: 当班时间的客户
疑问、待处理事宜); 客服中心接待岗位工作质量标准 1: 按照要求进行交接班)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from recorder.errors import RecorderError
from recorder.models import EntryStatus, Handover, LogEntry, WorkOrder

OPEN = (EntryStatus.RECEIVED, EntryStatus.DISPATCHED, EntryStatus.DONE, EntryStatus.FOLLOWED_UP)


class HandoverError(RecorderError):
    pass


def open_matters(session: Session) -> list[dict[str, Any]]:
    """Every matter not closed, oldest first: what, whose, its status, and when it is due
    (the earliest of its open work order and its follow-up date)."""
    entries = session.scalars(
        select(LogEntry)
        .where(LogEntry.status.in_(OPEN))
        .options(joinedload(LogEntry.responsible))
        .order_by(LogEntry.received_at, LogEntry.id)
    ).all()
    ids = [e.id for e in entries]
    orders: dict[int, WorkOrder] = {}
    if ids:
        for order in session.scalars(
            select(WorkOrder)
            .where(WorkOrder.entry_id.in_(ids), WorkOrder.completed.is_(None))
            .order_by(WorkOrder.id)
        ):
            orders.setdefault(order.entry_id, order)
    matters = []
    for entry in entries:
        first = orders.get(entry.id)
        matters.append(
            {
                "entry": entry.id,
                "received": entry.received_at.isoformat(),
                "what": (entry.summary or "")[:200],
                "category": entry.category,
                "unit": entry.unit or "",
                "owner": entry.responsible.display_name if entry.responsible else "",
                "status": entry.status.value,
                "order": first.number if first else "",
                "order_due": first.due_at.isoformat() if first and first.due_at else "",
                "follow_up_due": entry.follow_up_due.isoformat() if entry.follow_up_due else "",
            }
        )
    return matters


def hand_over_shift(session: Session, user_id: int, notes: str, now: datetime) -> Handover:
    handover = Handover(
        at=now, by_user_id=user_id, notes=notes.strip(), matters=open_matters(session)
    )
    session.add(handover)
    session.flush()
    return handover


def acknowledge(session: Session, handover: Handover, user_id: int, now: datetime) -> None:
    """The next shift takes the matters over: someone other than who handed them over."""
    if handover.acknowledged_at is not None:
        raise HandoverError(f"handover {handover.id} is acknowledged already")
    if handover.by_user_id == user_id:
        raise HandoverError(f"handover {handover.id}: the next shift acknowledges it")
    handover.acknowledged_at, handover.acknowledged_by = now, user_id
    session.flush()


def recent(session: Session, limit: int = 20) -> list[Handover]:
    return list(
        session.scalars(
            select(Handover).order_by(Handover.at.desc(), Handover.id.desc()).limit(limit)
        )
    )
