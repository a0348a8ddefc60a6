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

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
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
            "category": defaultdict(self._figures),
            "department": defaultdict(self._figures),
            "staff": defaultdict(self._figures),
        }

    def _figures(self) -> dict[str, Figure]:
        return {
            key: Figure(key, target=getattr(self._targets, key), higher_is_better=higher)
            for key, higher in FIGURES
        }

    def add(self, key: str, met: bool, groups: dict[str, str | None]) -> None:
        targets = [self.desk[key]]
        targets += [self.by[dim][name][key] for dim, name in groups.items() if name]
        for figure in targets:
            figure.counted += 1
            figure.met += int(met)


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
    orders = _orders(session, start - timedelta(days=366), end)
    acted = _first_actions(session, start, end + timedelta(days=1))

    def groups(entry: LogEntry) -> dict[str, str | None]:
        first = orders.get(entry.id, [])
        department = first[0].department if first else category_department(entry.category)
        person = name(entry.responsible_user_id) if entry.responsible_user_id else None
        return {"category": entry.category, "department": department, "staff": person}

    received = list(
        session.scalars(
            select(LogEntry).where(LogEntry.received_at >= start, LogEntry.received_at < end)
        )
    )
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


def _orders(session: Session, start: datetime, end: datetime) -> dict[int, list[WorkOrder]]:
    """Work orders per entry, first dispatched first."""
    found: dict[int, list[WorkOrder]] = defaultdict(list)
    for order in session.scalars(
        select(WorkOrder)
        .where(WorkOrder.dispatched_at >= start, WorkOrder.dispatched_at < end + timedelta(days=1))
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
    groups: Callable[[LogEntry], dict[str, str | None]],
) -> None:
    """返修率 and the phone follow-up rate, over repairs completed in the month."""
    rows = session.execute(
        select(LogEntry, WorkOrder.completed_at)
        .join(WorkOrder, WorkOrder.entry_id == LogEntry.id)
        .where(
            LogEntry.category == "repair",
            WorkOrder.completed.is_(True),
            WorkOrder.completed_at >= start,
            WorkOrder.completed_at < end,
        )
        .order_by(WorkOrder.completed_at)
    ).all()
    done: dict[int, tuple[LogEntry, datetime]] = {}
    for entry, completed_at in rows:
        if completed_at is not None:
            done.setdefault(entry.id, (entry, completed_at))  # the first completion counts
    if not done:
        return
    window = timedelta(days=targets.rework_days)
    units = {entry.unit for entry, _ in done.values() if entry.unit}
    later = session.execute(
        select(LogEntry.id, LogEntry.unit, LogEntry.category, LogEntry.received_at).where(
            LogEntry.unit.in_(units),
            LogEntry.received_at >= start,
            LogEntry.received_at < end + window,
        )
    ).all()
    reached = set(
        session.scalars(
            select(FollowUp.entry_id).where(
                FollowUp.entry_id.in_(list(done)), FollowUp.reached.is_(True)
            )
        )
    )
    for entry_id, (entry, completed_at) in done.items():
        again = entry.unit is not None and any(
            other_id != entry_id
            and unit == entry.unit
            and category == entry.category
            and completed_at < received <= completed_at + window
            for other_id, unit, category, received in later
        )
        counter.add("rework", again, groups(entry))
        counter.add("follow_up", entry_id in reached, groups(entry))


def _satisfaction(
    session: Session,
    start: datetime,
    end: datetime,
    counter: _Counter,
    groups: Callable[[LogEntry], dict[str, str | None]],
) -> None:
    rows = session.execute(
        select(LogEntry, FollowUp.satisfied)
        .join(FollowUp, FollowUp.entry_id == LogEntry.id)
        .where(
            FollowUp.at >= start,
            FollowUp.at < end,
            FollowUp.reached.is_(True),
            FollowUp.satisfied.is_not(None),
        )
    ).all()
    for entry, satisfied in rows:
        counter.add("satisfaction", bool(satisfied), groups(entry))


def _callbacks(
    session: Session,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    acted: dict[int, datetime],
    counter: _Counter,
    groups: Callable[[LogEntry], dict[str, str | None]],
) -> None:
    rows = session.execute(
        select(LogEntry, Call.invite_at)
        .join(Call, LogEntry.call_pk == Call.id)
        .where(
            Call.invite_at >= start,
            Call.invite_at < end,
            Call.disposition.in_([Disposition.MISSED, Disposition.ABANDONED]),
        )
    ).all()
    for entry, invite_at in rows:
        at = acted.get(entry.id)
        same_day = at is not None and _local(at, zone) == _local(invite_at, zone)
        counter.add("callback_same_day", same_day, groups(entry))


def _complaints(
    session: Session,
    start: datetime,
    end: datetime,
    counter: _Counter,
    groups: Callable[[LogEntry], dict[str, str | None]],
) -> tuple[float | None, dict[str, float]]:
    """Complaints handled, and the mean hours to close them (overall and per department)."""
    rows = session.execute(
        select(LogEntry, Complaint.registered_at, Complaint.closed_at)
        .join(Complaint, Complaint.entry_id == LogEntry.id)
        .where(Complaint.registered_at >= start, Complaint.registered_at < end)
    ).all()
    hours: list[float] = []
    per: dict[str, list[float]] = defaultdict(list)
    for entry, registered_at, closed_at in rows:
        group = groups(entry)
        counter.add("complaints_handled", closed_at is not None, group)
        if closed_at is not None:
            spent = (closed_at - registered_at).total_seconds() / 3600
            hours.append(spent)
            per[str(group["department"])].append(spent)
    return _mean(hours), {k: m for k, v in per.items() if (m := _mean(v)) is not None}


def _mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) / len(items) if items else None


def _local(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()
