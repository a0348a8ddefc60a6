"""The figures the desk is judged on, per month (issue 20), each beside its target.

The seeds name them: 报修及时率 ≥ 98 % and 返修率 ≤ 5 % (seed 002, plan 三.3), phone
follow-up of repairs ≥ 50 % (seed 000 1.4.3.6.1), complaints handled 100 % (seed 002's
annual summary: 处理率100%), relay (转告) on time and missed calls called back within
the day (首问责任制, seed 001 篇3). Definitions, for a month [start, end):

- repair_timely: repair entries received in the month; timely when a work order was
  dispatched by the promised reply time (promised_reply_at, else the category's
  reply_within_minutes after receipt) and completed (done) within `repair_limit_hours`
  of receipt. A repair never completed is not timely.
- rework: repairs whose work order was completed in the month; reworked when an entry of
  the same unit and category was received after the completion and within
  `rework_days` days of it (it may fall in the next month: it is looked for there).
- follow_up: the same completed repairs; followed up when a follow-up call reached the
  resident (FollowUp.reached).
- satisfaction: follow-ups that reached someone in the month and recorded an answer;
  satisfied ÷ answered.
- complaints_handled: complaints registered in the month; handled when closed (the
  mean hours to close are given beside it).
- relay_on_time: 转告 (category `message`) entries received in the month; on time when a
  person first acted on it (a status or handling change, or a follow-up call) within the
  category's reply_within_minutes.
- callback_same_day: missed or abandoned calls of the month with their call-back entry;
  called back the same local day when a person acted on the entry that day.

Each figure is counted for the whole desk and per category, department (the first work
order's, else the category's) and staff member (the entry's 首问负责人). A figure with
nothing to count is None, never 0 % or 100 %.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from recorder.models import (
    Call,
    Complaint,
    Disposition,
    EntryRevision,
    FollowUp,
    LogEntry,
    WorkOrder,
)

#: (key, higher is better) in the order the report shows them.
FIGURES = (
    ("repair_timely", True),
    ("rework", False),
    ("follow_up", True),
    ("satisfaction", True),
    ("complaints_handled", True),
    ("relay_on_time", True),
    ("callback_same_day", True),
)
ACTED_FIELDS = ("status", "handling")
#: The columns of an entry the figures read: rows, not ORM objects (a month of 100,000
#: calls is counted in well under a second: bench/kpi_report.py).
ENTRY = (LogEntry.id, LogEntry.category, LogEntry.responsible_user_id)
#: A row of ENTRY (with whatever columns a query adds), read by attribute.
EntryRow = Any
#: (category, department, staff member) of an entry.
Group = tuple[str | None, str | None, str | None]
DIMENSIONS = ("category", "department", "staff")


@dataclass(frozen=True)
class Targets:
    """The seeds' numbers by default; None: no target."""

    repair_timely: float | None = 0.98
    rework: float | None = 0.05
    follow_up: float | None = 0.50
    satisfaction: float | None = None
    complaints_handled: float | None = 1.0
    relay_on_time: float | None = 1.0
    callback_same_day: float | None = 1.0
    repair_limit_hours: float = 72.0
    rework_days: int = 30


@dataclass
class Figure:
    key: str
    counted: int = 0
    met: int = 0
    target: float | None = None
    higher_is_better: bool = True

    @property
    def value(self) -> float | None:
        return self.met / self.counted if self.counted else None

    @property
    def on_target(self) -> bool | None:
        if self.value is None or self.target is None:
            return None
        if self.higher_is_better:
            return self.value >= self.target - 1e-9
        return self.value <= self.target + 1e-9


@dataclass
class Report:
    """The month's figures: `desk` for the whole desk, `by[dimension][key]` per group."""

    start: datetime
    end: datetime
    desk: dict[str, Figure]
    by: dict[str, dict[str, dict[str, Figure]]]
    complaint_hours: float | None = None
    complaint_hours_by: dict[str, float] = field(default_factory=dict)


class _Counter:
    def __init__(self, targets: Targets) -> None:
        self._targets = targets
        self.desk = self._figures()
        self.by: dict[str, dict[str, dict[str, Figure]]] = {
            dimension: defaultdict(self._figures) for dimension in DIMENSIONS
        }
        self._counted_in: dict[Group, list[dict[str, Figure]]] = {}

    def _figures(self) -> dict[str, Figure]:
        return {
            key: Figure(key, target=getattr(self._targets, key), higher_is_better=higher)
            for key, higher in FIGURES
        }

    def add(self, key: str, met: bool, group: Group) -> None:
        counted_in = self._counted_in.get(group)
        if counted_in is None:
            counted_in = [self.desk]
            counted_in += [
                self.by[d][name] for d, name in zip(DIMENSIONS, group, strict=True) if name
            ]
            self._counted_in[group] = counted_in
        for figures in counted_in:
            figure = figures[key]
            figure.counted += 1
            figure.met += met


def monthly_kpis(
    session: Session,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    reply_minutes: Callable[[str], int],
    category_department: Callable[[str], str],
    staff_name: Callable[[int], str] | None = None,
    targets: Targets | None = None,
) -> Report:
    """The KPIs of the entries, work orders, follow-ups and complaints of [start, end).

    `reply_minutes(category)` and `category_department(category)` come from the category
    rules (config/rules/categories.toml); `staff_name` names a user id (else the id)."""
    targets = targets or Targets()
    counter = _Counter(targets)
    name = staff_name or str
    orders = _orders(session, start, end)
    acted = _first_actions(session, start, end + timedelta(days=1))

    known: dict[int, Group] = {}

    def groups(entry: EntryRow) -> Group:
        group = known.get(entry.id)
        if group is None:
            first = orders.get(entry.id)
            department = first[0].department if first else category_department(entry.category)
            person = name(entry.responsible_user_id) if entry.responsible_user_id else None
            group = known[entry.id] = (entry.category, department, person)
        return group

    received = session.execute(
        select(*ENTRY, LogEntry.received_at, LogEntry.promised_reply_at).where(
            LogEntry.received_at >= start,
            LogEntry.received_at < end,
            LogEntry.category.in_(["repair", "message"]),
        )
    ).all()
    limit = timedelta(hours=targets.repair_limit_hours)
    for entry in received:
        if entry.category == "repair":
            promised = entry.promised_reply_at or entry.received_at + timedelta(
                minutes=reply_minutes(entry.category)
            )
            first = orders.get(entry.id, [])
            timely = bool(first) and first[0].dispatched_at <= promised
            timely = timely and any(
                o.completed and o.completed_at and o.completed_at - entry.received_at <= limit
                for o in first
            )
            counter.add("repair_timely", timely, groups(entry))
        if entry.category == "message":
            due = entry.received_at + timedelta(minutes=reply_minutes(entry.category))
            at = acted.get(entry.id)
            counter.add("relay_on_time", at is not None and at <= due, groups(entry))
    _completed_repairs(session, start, end, targets, counter, groups)
    _satisfaction(session, start, end, counter, groups)
    _callbacks(session, start, end, zone, acted, counter, groups)
    hours, hours_by = _complaints(session, start, end, counter, groups)
    return Report(start, end, counter.desk, counter.by, hours, hours_by)


def _orders(session: Session, start: datetime, end: datetime) -> dict[int, list[Any]]:
    """The work orders (rows) of every entry the month's figures read, first dispatched
    first: entries received in the month, repairs completed in it, entries followed up
    or complained about in it, and the entries of its calls."""
    ids = union(
        select(LogEntry.id).where(LogEntry.received_at >= start, LogEntry.received_at < end),
        select(WorkOrder.entry_id).where(
            WorkOrder.completed_at >= start, WorkOrder.completed_at < end
        ),
        select(FollowUp.entry_id).where(FollowUp.at >= start, FollowUp.at < end),
        select(Complaint.entry_id).where(
            Complaint.registered_at >= start, Complaint.registered_at < end
        ),
        select(LogEntry.id)
        .join(Call, LogEntry.call_pk == Call.id)
        .where(Call.invite_at >= start, Call.invite_at < end),
    )
    found: dict[int, list[Any]] = defaultdict(list)
    for order in session.execute(
        select(
            WorkOrder.entry_id,
            WorkOrder.department,
            WorkOrder.dispatched_at,
            WorkOrder.completed,
            WorkOrder.completed_at,
        )
        .where(WorkOrder.entry_id.in_(ids))
        .order_by(WorkOrder.dispatched_at, WorkOrder.id)
    ):
        found[order.entry_id].append(order)
    return found


def _first_actions(session: Session, start: datetime, end: datetime) -> dict[int, datetime]:
    """When a person first acted on each entry: a status or handling change by a user, or
    a follow-up call (the earliest of them)."""
    first: dict[int, datetime] = {}

    def keep(entry_id: int, at: datetime) -> None:
        if entry_id not in first or at < first[entry_id]:
            first[entry_id] = at

    for entry_id, at in session.execute(
        select(EntryRevision.entry_id, EntryRevision.changed_at).where(
            EntryRevision.user_id.is_not(None),
            EntryRevision.field.in_(ACTED_FIELDS),
            EntryRevision.changed_at >= start - timedelta(days=1),
            EntryRevision.changed_at < end,
        )
    ):
        keep(entry_id, at)
    for entry_id, at in session.execute(
        select(FollowUp.entry_id, FollowUp.at).where(
            FollowUp.at >= start - timedelta(days=1), FollowUp.at < end
        )
    ):
        keep(entry_id, at)
    return first


def _completed_repairs(
    session: Session,
    start: datetime,
    end: datetime,
    targets: Targets,
    counter: _Counter,
    groups: Callable[[EntryRow], Group],
) -> None:
    """返修率 and the phone follow-up rate, over repairs completed in the month."""
    rows = session.execute(
        select(*ENTRY, LogEntry.unit, WorkOrder.completed_at.label("completed_at"))
        .join(WorkOrder, WorkOrder.entry_id == LogEntry.id)
        .where(
            LogEntry.category == "repair",
            WorkOrder.completed.is_(True),
            WorkOrder.completed_at >= start,
            WorkOrder.completed_at < end,
        )
        .order_by(WorkOrder.completed_at)
    ).all()
    done: dict[int, EntryRow] = {}
    for row in rows:
        done.setdefault(row.id, row)  # the first completion counts
    if not done:
        return
    window = timedelta(days=targets.rework_days)
    # The repairs reported after a completion, per unit, in time order: a repair is
    # reworked when one falls in (completed, completed + window] (a bisection, not a
    # scan of every later entry for every repair).
    reported: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for entry_id, unit, received in session.execute(
        select(LogEntry.id, LogEntry.unit, LogEntry.received_at)
        .where(
            LogEntry.category == "repair",
            LogEntry.unit.is_not(None),
            LogEntry.received_at >= start,
            LogEntry.received_at < end + window,
        )
        .order_by(LogEntry.received_at, LogEntry.id)
    ):
        reported[unit].append((received, entry_id))
    reached = set(
        session.scalars(
            select(FollowUp.entry_id)
            .join(WorkOrder, WorkOrder.entry_id == FollowUp.entry_id)
            .where(
                WorkOrder.completed.is_(True),
                WorkOrder.completed_at >= start,
                WorkOrder.completed_at < end,
                FollowUp.reached.is_(True),
            )
        )
    )
    for entry_id, entry in done.items():
        counter.add("rework", _again(reported.get(entry.unit, []), entry, window), groups(entry))
        counter.add("follow_up", entry_id in reached, groups(entry))


def _again(reported: list[tuple[datetime, int]], entry: EntryRow, window: timedelta) -> bool:
    """Whether another repair of the unit was received in (completed, completed + window]."""
    completed: datetime = entry.completed_at
    index = bisect.bisect_right(reported, completed, key=lambda item: item[0])
    for received, other_id in reported[index:]:
        if received > completed + window:
            return False
        if other_id != entry.id:
            return True
    return False


def _satisfaction(
    session: Session,
    start: datetime,
    end: datetime,
    counter: _Counter,
    groups: Callable[[EntryRow], Group],
) -> None:
    rows = session.execute(
        select(*ENTRY, FollowUp.satisfied)
        .join(FollowUp, FollowUp.entry_id == LogEntry.id)
        .where(
            FollowUp.at >= start,
            FollowUp.at < end,
            FollowUp.reached.is_(True),
            FollowUp.satisfied.is_not(None),
        )
    ).all()
    for row in rows:
        counter.add("satisfaction", bool(row.satisfied), groups(row))


def _callbacks(
    session: Session,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    acted: dict[int, datetime],
    counter: _Counter,
    groups: Callable[[EntryRow], Group],
) -> None:
    rows = session.execute(
        select(*ENTRY, Call.invite_at)
        .join(Call, LogEntry.call_pk == Call.id)
        .where(
            Call.invite_at >= start,
            Call.invite_at < end,
            Call.disposition.in_([Disposition.MISSED, Disposition.ABANDONED]),
        )
    ).all()
    for row in rows:
        at = acted.get(row.id)
        same_day = at is not None and _local(at, zone) == _local(row.invite_at, zone)
        counter.add("callback_same_day", same_day, groups(row))


def _complaints(
    session: Session,
    start: datetime,
    end: datetime,
    counter: _Counter,
    groups: Callable[[EntryRow], Group],
) -> tuple[float | None, dict[str, float]]:
    """Complaints handled, and the mean hours to close them (overall and per department)."""
    rows = session.execute(
        select(*ENTRY, Complaint.registered_at, Complaint.closed_at)
        .join(Complaint, Complaint.entry_id == LogEntry.id)
        .where(Complaint.registered_at >= start, Complaint.registered_at < end)
    ).all()
    hours: list[float] = []
    per: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        group = groups(row)
        counter.add("complaints_handled", row.closed_at is not None, group)
        if row.closed_at is not None:
            spent = (row.closed_at - row.registered_at).total_seconds() / 3600
            hours.append(spent)
            per[str(group[1])].append(spent)
    return _mean(hours), {k: m for k, v in per.items() if (m := _mean(v)) is not None}


def _mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) / len(items) if items else None


def _local(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()
