"""The call log query: filters, search and one page of entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, literal, select
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
    extra: dict[str, Any] = field(default_factory=dict)


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
    base = filtered(session, filt, zone)
    if filt.query.strip() and session.get_bind().dialect.name == "postgresql":
        # A search scans its index once: the total rides along as a window count.
        # (SQLite is faster with a separate count: its IN-list is cheap to build twice.)
        entries, total = _page_rows(session, base, filt.page, size, windowed=True)
        if entries or filt.page == 1:
            return _page(entries, total, filt.page, size)
    total = session.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0
    page = min(filt.page, max(1, -(-total // size)))
    entries, _ = _page_rows(session, base, page, size, windowed=False)
    return _page(entries, total, page, size)


def _page_rows(
    session: Session, base: Select[LogEntry], page: int, size: int, windowed: bool
) -> tuple[list[LogEntry], int]:
    stmt = (
        base.add_columns(func.count().over() if windowed else literal(0))
        .options(joinedload(LogEntry.call), joinedload(LogEntry.responsible))
        .order_by(LogEntry.received_at.desc(), LogEntry.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    )
    rows = session.execute(stmt).all()
    return [row[0] for row in rows], (rows[0][1] if rows else 0)


def _page(entries: list[LogEntry], total: int, page: int, size: int) -> LogPage:
    return LogPage(entries, total, page, max(1, -(-total // size)))


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
