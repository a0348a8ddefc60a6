"""The call log query: filters, search and one page of entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload

from admin import params, search
from recorder.models import Call, EntryStatus, LogEntry, Urgency


@dataclass(frozen=True)
class LogFilter:
    """What the clerk asked for; None means no limit on that column."""

    date_from: date | None = None
    date_to: date | None = None
    category: str | None = None
    urgency: Urgency | None = None
    status: EntryStatus | None = None
    staff: int | None = None
    query: str = ""
    page: int = 1


@dataclass
class LogPage:
    entries: list[LogEntry]
    total: int
    page: int
    pages: int
    #: More entries match than `total` (counting stopped at COUNT_CAP).
    more: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


#: How far the log's list counts the entries that match. Counting every match cost seconds
#: a page at 1,000,000 entries (a search for 漏水 over years of calls matches a fifth of
#: them: bench/admin_pages.py); nobody pages through 200 pages, and the desk says "over".
COUNT_CAP = 10_000


def _enum_or_none(cls: Any, value: str | None) -> Any:
    try:
        return cls(value) if value else None
    except ValueError:
        return None


def _date_or_none(value: str | None) -> date | None:
    """A day, or None (no limit): also for days before or after any call (clamped)."""
    try:
        return params.parse_day(value) if value else None
    except ValueError:
        return None


def parse_filter(args: Any, today: date) -> LogFilter:
    """From query-string arguments; without any date argument: today only.

    Raises ValueError for a staff id no row can have (the caller answers 400).
    """
    explicit = "date_from" in args or "date_to" in args
    return LogFilter(
        date_from=_date_or_none(args.get("date_from")) if explicit else today,
        date_to=_date_or_none(args.get("date_to")) if explicit else today,
        category=args.get("category") or None,
        urgency=_enum_or_none(Urgency, args.get("urgency")),
        status=_enum_or_none(EntryStatus, args.get("status")),
        staff=params.id_or_none(args.get("staff")),
        query=(args.get("q") or "")[:200],
        page=params.page_number(args.get("page")),
    )


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, start + timedelta(days=1)


def filtered(session: Session, filt: LogFilter, zone: ZoneInfo) -> Select[LogEntry]:
    stmt = select(LogEntry)
    if filt.date_from is not None:
        stmt = stmt.where(LogEntry.received_at >= day_bounds(filt.date_from, zone)[0])
    if filt.date_to is not None:
        stmt = stmt.where(LogEntry.received_at < day_bounds(filt.date_to, zone)[1])
    if filt.category:
        stmt = stmt.where(LogEntry.category == filt.category)
    if filt.urgency is not None:
        stmt = stmt.where(LogEntry.urgency == filt.urgency)
    if filt.status is not None:
        stmt = stmt.where(LogEntry.status == filt.status)
    if filt.staff is not None:
        stmt = stmt.where(LogEntry.responsible_user_id == filt.staff)
    if filt.query.strip():
        stmt = stmt.where(search.condition(session, filt.query))
    return stmt


def log_page(session: Session, filt: LogFilter, zone: ZoneInfo, size: int) -> LogPage:
    """One page of the log, newest first, and how many entries match, counted up to
    COUNT_CAP (or to the page asked for): past it the desk says "over N"."""
    base = filtered(session, filt, zone)
    cap = max(COUNT_CAP, filt.page * size)
    matching = base.order_by(None).with_only_columns(LogEntry.id).limit(cap + 1).subquery()
    counted = session.scalar(select(func.count()).select_from(matching)) or 0
    total = min(counted, cap)
    pages = max(1, -(-total // size))
    page = min(filt.page, pages)
    stmt = (
        base.options(joinedload(LogEntry.call), joinedload(LogEntry.responsible))
        .order_by(LogEntry.received_at.desc(), LogEntry.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    )
    entries = list(session.scalars(stmt).unique())
    return LogPage(entries, total, page, pages, more=counted > cap)


def in_range(session: Session, first: date, last: date, zone: ZoneInfo) -> list[LogEntry]:
    """Entries of a date range, oldest first (the order of the paper book)."""
    stmt = filtered(session, LogFilter(date_from=first, date_to=last), zone)
    stmt = stmt.options(joinedload(LogEntry.call), joinedload(LogEntry.responsible))
    return list(session.scalars(stmt.order_by(LogEntry.received_at, LogEntry.id)).unique())


def needs_callback(entry: LogEntry) -> bool:
    """A missed or abandoned call nobody has called back yet."""
    call: Call | None = entry.call
    return (
        call is not None
        and call.disposition.value in ("missed", "abandoned")
        and entry.status == EntryStatus.RECEIVED
    )
