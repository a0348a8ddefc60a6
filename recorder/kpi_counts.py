"""The figures of recorder/kpi.py counted by the database: one aggregate query per figure
(the call-backs one per local day only across a daylight-saving change), grouped by
(category, department, staff member), so a month of 100,000 calls comes back as a few
hundred rows (bench/kpi_report.py; the indexes they read: migration 0012).

An entry's department is its first work order's (first dispatched), else NULL here and
the category's in recorder/kpi.py. Times are compared as seconds between two columns
(`elapsed`), which SQLite (times as text) and PostgreSQL (timestamps) both compute.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Integer,
    Interval,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from recorder.models import (
    Call,
    Complaint,
    Disposition,
    EntryRevision,
    FollowUp,
    LogEntry,
    WorkOrder,
)

ACTED_FIELDS = ("status", "handling")
#: (category, department or None, responsible user id or None, counted, met, ...).
Counted = Any


def elapsed(session: Session, start: Any, end: Any) -> Any:
    """`end - start` in seconds, in SQL; NULL when either is NULL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def later(session: Session, at: Any, seconds: float) -> Any:
    """`at + seconds` in SQL, comparable with a time column as it is stored, so an index
    on that column can bound a range with it (SQLite: text to the millisecond; the
    callers keep the exact `elapsed` test beside it)."""
    if session.get_bind().dialect.name == "postgresql":
        return at + literal(timedelta(seconds=seconds), Interval())
    return func.strftime("%Y-%m-%d %H:%M:%f", at, f"+{seconds:.0f} seconds")


def first_department() -> Any:
    return (
        select(WorkOrder.department)
        .where(WorkOrder.entry_id == LogEntry.id)
        .order_by(WorkOrder.dispatched_at, WorkOrder.id)
        .limit(1)
        .correlate(LogEntry)
        .scalar_subquery()
    )


def first_orders() -> Any:
    """Each entry's first work order (first dispatched, as first_department): one row per
    entry that has orders, with its department and dispatch time. PostgreSQL joins it
    by hash (a window over ix_work_orders_entry_first, no sort) where the correlated
    first_department() ran as a subplan once per counted row: ~2-4 µs each, 170,000 of
    them for a month's page at 100,000 calls (bench/kpi_explain.py)."""
    rank = func.row_number().over(
        partition_by=WorkOrder.entry_id, order_by=(WorkOrder.dispatched_at, WorkOrder.id)
    )
    ranked = select(
        WorkOrder.entry_id, WorkOrder.department, WorkOrder.dispatched_at, rank.label("rank")
    ).subquery("ranked_orders")
    return (
        select(ranked.c.entry_id, ranked.c.department, ranked.c.dispatched_at)
        .where(ranked.c.rank == 1)
        .subquery("first_order")
    )


def joins_orders(session: Session) -> bool:
    """PostgreSQL: the first order joined (first_orders); SQLite: looked up per row from
    the covering index (first_department), the plan measured in bench/results/kpi-report.md."""
    return session.get_bind().dialect.name == "postgresql"


def grouped(session: Session, inner: Any, *met: Any, first: Any = None) -> list[Counted]:
    """Count `inner`'s rows (a select from log_entries, joined as it needs) per group,
    with how many meet each of the conditions `met`. `first`: first_orders() when the
    conditions read it too (else made here on PostgreSQL)."""
    flags = [case((condition, 1), else_=0).label(f"met_{i}") for i, condition in enumerate(met)]
    if first is None and joins_orders(session):
        first = first_orders()
    if first is not None:
        inner = inner.outerjoin(first, first.c.entry_id == LogEntry.id)
    department = first.c.department if first is not None else first_department()
    rows = inner.add_columns(
        LogEntry.category.label("category"),
        department.label("department"),
        LogEntry.responsible_user_id.label("staff"),
        *flags,
    ).subquery()
    keys = (rows.c.category, rows.c.department, rows.c.staff)
    sums = [func.sum(rows.c[f"met_{i}"]) for i in range(len(met))]
    return list(session.execute(select(*keys, func.count(), *sums).group_by(*keys)).all())


def _entries() -> Any:
    return select().select_from(LogEntry)


def repair_timely(
    session: Session,
    start: datetime,
    end: datetime,
    reply_s: float,
    limit_s: float,
    limits_s: dict[str, float] | None = None,
) -> list[Counted]:
    """Repairs received in [start, end): dispatched by the promised reply time and a work
    order completed within limit_s of receipt (limits_s[its department] where given)."""
    limit: Any = limit_s
    if limits_s:
        limit = case(
            *((WorkOrder.department == name, seconds) for name, seconds in limits_s.items()),
            else_=limit_s,
        )
    first = first_orders() if joins_orders(session) else None
    first_dispatch = (
        first.c.dispatched_at
        if first is not None
        else select(func.min(WorkOrder.dispatched_at))
        .where(WorkOrder.entry_id == LogEntry.id)
        .correlate(LogEntry)
        .scalar_subquery()
    )
    promised = func.coalesce(elapsed(session, LogEntry.received_at, LogEntry.promised_reply_at),
                             reply_s)  # fmt: skip
    completed = exists().where(
        WorkOrder.entry_id == LogEntry.id,
        WorkOrder.completed.is_(True),
        elapsed(session, LogEntry.received_at, WorkOrder.completed_at) <= limit,
    )
    inner = _entries().where(
        LogEntry.category == "repair", LogEntry.received_at >= start, LogEntry.received_at < end
    )
    met = and_(elapsed(session, LogEntry.received_at, first_dispatch) <= promised, completed)
    return grouped(session, inner, met, first=first)


def _acted(session: Session, within: Any) -> Any:
    """A person acted on the entry: a status or handling change, or a follow-up call, at
    a time `within(at)` accepts."""
    return or_(
        exists().where(
            EntryRevision.entry_id == LogEntry.id,
            EntryRevision.user_id.is_not(None),
            EntryRevision.field.in_(ACTED_FIELDS),
            within(EntryRevision.changed_at),
        ),
        exists().where(FollowUp.entry_id == LogEntry.id, within(FollowUp.at)),
    )


def relay_on_time(
    session: Session, start: datetime, end: datetime, reply_s: float
) -> list[Counted]:
    """转告 entries received in [start, end), acted on within reply_s of receipt."""
    month = (
        LogEntry.category == "message",
        LogEntry.received_at >= start,
        LogEntry.received_at < end,
    )
    inner = _entries().where(*month)
    if not joins_orders(session):
        met = _acted(session, lambda at: elapsed(session, LogEntry.received_at, at) <= reply_s)
        return grouped(session, inner, met)
    first = _first_actions(select(LogEntry.id).where(*month))
    inner = inner.outerjoin(first, first.c.entry_id == LogEntry.id)
    return grouped(session, inner, elapsed(session, LogEntry.received_at, first.c.at) <= reply_s)


def _first_actions(entries: Any) -> Any:
    """The first time a person acted (as _acted) on each of `entries` (a select of ids):
    acted within n seconds of receipt when the first action was. PostgreSQL aggregates
    the month's actions once and joins them, where the two EXISTS of _acted ran as
    subplans per entry (60,000 buffers for 13,000 messages: bench/kpi_explain.py)."""
    actions = union_all(
        select(
            EntryRevision.entry_id.label("entry_id"), EntryRevision.changed_at.label("at")
        ).where(
            EntryRevision.entry_id.in_(entries),
            EntryRevision.user_id.is_not(None),
            EntryRevision.field.in_(ACTED_FIELDS),
        ),
        select(FollowUp.entry_id, FollowUp.at).where(FollowUp.entry_id.in_(entries)),
    ).subquery("actions")
    return (
        select(actions.c.entry_id, func.min(actions.c.at).label("at"))
        .group_by(actions.c.entry_id)
        .subquery("first_action")
    )


#: What makes a later repair "the same thing" (返修率, seed 002 plan 三.3), beside the same
#: unit: the entry's own fields the classifier fills (transcripts/fields.py) and a clerk
#: may correct. `urgency`: the kind of repair (safety facility, leak, other: the kinds
#: seed 000 1.4.3.6.2 follows up on their own clocks); `dispatch_department`: the trade
#: that does the work (a NULL on either side matches: not known to differ).
REWORK_SAME = ("urgency", "dispatch_department")


def completed_repairs(
    session: Session,
    start: datetime,
    end: datetime,
    window_s: float,
    same: tuple[str, ...] = REWORK_SAME,
) -> list[Counted]:
    """Repairs whose first completion in [start, end) (a repair counts once): reported
    again (the same unit and the same thing, `same` of REWORK_SAME: another repair
    received within window_s after the completion; the index ix_log_entries_rework
    finds it), and followed up by phone."""
    unknown = sorted(set(same) - set(REWORK_SAME))
    if unknown:
        raise ValueError(f"rework: cannot match on {', '.join(unknown)}; only {REWORK_SAME}")
    done = (
        select(WorkOrder.entry_id, func.min(WorkOrder.completed_at).label("done_at"))
        .where(
            WorkOrder.completed.is_(True),
            WorkOrder.completed_at >= start,
            WorkOrder.completed_at < end,
        )
        .group_by(WorkOrder.entry_id)
        .subquery()
    )
    other = aliased(LogEntry)
    again = exists().where(
        other.unit == LogEntry.unit,
        other.category == "repair",
        other.id != LogEntry.id,
        other.received_at > done.c.done_at,
        other.received_at <= later(session, done.c.done_at, window_s + 1),  # the index's range
        elapsed(session, done.c.done_at, other.received_at) <= window_s,
    )
    if "urgency" in same:
        again = again.where(other.urgency == LogEntry.urgency)
    if "dispatch_department" in same:
        mine, theirs = LogEntry.dispatch_department, other.dispatch_department
        again = again.where(or_(mine.is_(None), theirs.is_(None), theirs == mine))
    reached = exists().where(FollowUp.entry_id == LogEntry.id, FollowUp.reached.is_(True))
    inner = (
        _entries().join(done, done.c.entry_id == LogEntry.id).where(LogEntry.category == "repair")
    )
    return grouped(session, inner, again, reached)


def satisfaction(session: Session, start: datetime, end: datetime) -> list[Counted]:
    """Follow-ups in [start, end) that reached someone and recorded an answer: satisfied."""
    inner = (
        _entries()
        .join(FollowUp, FollowUp.entry_id == LogEntry.id)
        .where(
            FollowUp.at >= start,
            FollowUp.at < end,
            FollowUp.reached.is_(True),
            FollowUp.satisfied.is_not(None),
        )
    )
    return grouped(session, inner, FollowUp.satisfied.is_(True))


def local_days(
    start: datetime, end: datetime, zone: ZoneInfo
) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut at local midnights."""
    low = start
    while low < end:
        following = low.astimezone(zone).date() + timedelta(days=1)
        high = min(datetime.combine(following, time.min, zone), end)
        yield low, high
        low = high


def _local_day(session: Session, at: Any, offset_s: float) -> Any:
    """The local day number of `at` in a zone `offset_s` ahead of UTC, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.floor((func.extract("epoch", at) + offset_s) / 86400.0)
    return cast(func.julianday(at) + offset_s / 86400.0 + 0.5, Integer)


def callbacks(session: Session, start: datetime, end: datetime, zone: ZoneInfo) -> list[Counted]:
    """Missed and abandoned calls of [start, end) with their entry: a person acted on the
    entry the same local day. One query when the zone's offset is the same all through
    (a month without a daylight-saving change); else one per local day, each with the
    day's bounds from the zone."""
    offset = start.astimezone(zone).utcoffset()
    if (
        offset is not None
        and offset == (end - timedelta(microseconds=1)).astimezone(zone).utcoffset()
    ):
        seconds = offset.total_seconds()
        day = _local_day(session, Call.invite_at, seconds)
        met = _acted(session, lambda at: _local_day(session, at, seconds) == day)
        return grouped(session, _missed(start, end), met)
    rows: list[Counted] = []
    for low, high in local_days(start, end, zone):
        day_start = datetime.combine(low.astimezone(zone).date(), time.min, zone)
        day_end = day_start + timedelta(days=1)
        met = _acted(session, lambda at, a=day_start, b=day_end: and_(at >= a, at < b))
        rows += grouped(session, _missed(low, high), met)
    return rows


def _missed(start: datetime, end: datetime) -> Any:
    return (
        _entries()
        .join(Call, LogEntry.call_pk == Call.id)
        .where(
            Call.invite_at >= start,
            Call.invite_at < end,
            Call.disposition.in_([Disposition.MISSED, Disposition.ABANDONED]),
        )
    )


def complaints(session: Session, start: datetime, end: datetime) -> list[Any]:
    """Complaints registered in [start, end), one row each (a month has few): category,
    department, staff, hours to close (None while open)."""
    hours = elapsed(session, Complaint.registered_at, Complaint.closed_at) / 3600.0
    query = select().select_from(LogEntry).join(Complaint, Complaint.entry_id == LogEntry.id)
    department = first_department()
    if joins_orders(session):
        first = first_orders()
        query = query.outerjoin(first, first.c.entry_id == LogEntry.id)
        department = first.c.department
    query = query.add_columns(
        LogEntry.category, department, LogEntry.responsible_user_id, hours
    ).where(Complaint.registered_at >= start, Complaint.registered_at < end)
    return list(session.execute(query).all())
