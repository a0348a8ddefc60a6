"""Service level as a supervisor can sign it (issue 20): who was answered within the
threshold, counting every caller who gave up, and leaving out what nobody can know.

The threshold is `max_rings` rings (铃响三声之内接听: the seeds' three); as time, the
same rings at the configured cadence: T = rings × on + (rings − 1) × off seconds
(China's 1 s on, 4 s off: 11 s for three rings). A call is, in the period:

- answered: ANSWERED, by the agent past the greeting, by a clerk it was put through to,
  or by a clerk's phone of the ring group first (`answered_elsewhere`); within the
  threshold when its rings heard (`ring_count`, from the 180 to the answer) ≤ max_rings;
- abandoned: the caller hung up before being served: while it rang (MISSED) or in the
  greeting or the menu (ABANDONED; `ended_in` says which); within the threshold when
  they hung up within T of calling;
- a short abandon: such a caller who hung up within `short_abandon_s` (5 s by default,
  as call centres do: a misdial, a change of mind) is left out of both ratios and
  shown apart;
- imported: a recording brought in from elsewhere; nobody knows how long it rang
  (`ring_count` is NULL), so it is left out of both ratios and shown apart;
- failed: the call could not be set up; in the count of calls only.

Calls the agent placed (direction outbound, issue 22) are not inbound service: they
are left out of every figure here.

Both forms:
    answered_share = answered within T ÷ answered
    offered_share  = (answered within T + abandoned within T) ÷ (answered + abandoned)

Every figure is one aggregate query (a UNION ALL of one per bucket for the chart), so a
month of 100,000 calls is counted by the database (bench/supervision_dashboard.py).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from recorder.models import Call, Direction, Disposition, User

#: The calls service level counts: not those the agent placed.
INBOUND_SIDE = Call.direction != Direction.OUTBOUND
#: The defaults of hotline.settings.RingingSettings (China's cadence) and its short abandon.
RING_ON_S, RING_OFF_S, SHORT_ABANDON_S = 1.0, 4.0, 5.0


@dataclass(frozen=True)
class ServiceLevel:
    calls: int
    answered: int
    answered_within: int
    missed: int
    """Gave up while it rang (not a short abandon)."""
    missed_within: int
    abandoned: int
    """Hung up in the greeting or the menu (not a short abandon)."""
    abandoned_within: int = 0
    short_abandons: int = 0
    imported: int = 0
    answered_elsewhere: int = 0
    failed: int = 0

    @property
    def gave_up(self) -> int:
        """Every caller counted as abandoned: while ringing, in the greeting or the menu."""
        return self.missed + self.abandoned

    @property
    def gave_up_within(self) -> int:
        return self.missed_within + self.abandoned_within

    @property
    def answered_share(self) -> float | None:
        return self.answered_within / self.answered if self.answered else None

    @property
    def offered_share(self) -> float | None:
        total = self.answered + self.gave_up
        return (self.answered_within + self.gave_up_within) / total if total else None


@dataclass(frozen=True)
class Threshold:
    """The threshold in rings, its time at the cadence, and the short-abandon time."""

    max_rings: int = 3
    ring_on_s: float = RING_ON_S
    ring_off_s: float = RING_OFF_S
    short_abandon_s: float = SHORT_ABANDON_S

    @property
    def seconds(self) -> float:
        if self.max_rings <= 0:
            return 0.0
        return self.max_rings * self.ring_on_s + (self.max_rings - 1) * self.ring_off_s


def _seconds(session: Session, start: Any, end: Any) -> Any:
    """`end - start` in seconds, in SQL (SQLite keeps times as text, PostgreSQL as timestamps)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _figures(session: Session, threshold: Threshold) -> list[Any]:
    """The columns of one ServiceLevel, in field order, as aggregates over `calls`."""

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    live = Call.direction != Direction.IMPORTED
    answered = and_(live, Call.disposition == Disposition.ANSWERED)
    waited = _seconds(session, Call.invite_at, func.coalesce(Call.ended_at, Call.invite_at))
    gave_up = and_(
        live,
        or_(Call.disposition == Disposition.MISSED, Call.disposition == Disposition.ABANDONED),
    )
    short = and_(gave_up, waited < threshold.short_abandon_s)
    kept = and_(gave_up, waited >= threshold.short_abandon_s)
    in_time = waited <= threshold.seconds
    missed = and_(kept, Call.disposition == Disposition.MISSED)
    abandoned = and_(kept, Call.disposition == Disposition.ABANDONED)
    return [
        func.count(),
        count(answered),
        count(and_(answered, Call.ring_count <= threshold.max_rings)),
        count(missed),
        count(and_(missed, in_time)),
        count(abandoned),
        count(and_(abandoned, in_time)),
        count(short),
        count(Call.direction == Direction.IMPORTED),
        count(and_(answered, Call.answered_elsewhere.is_(True))),
        count(and_(live, Call.disposition == Disposition.FAILED)),
    ]


def service_level(
    session: Session, start: datetime, end: datetime, threshold: Threshold | int = 3
) -> ServiceLevel:
    """The figures of the calls that arrived in [start, end)."""
    if isinstance(threshold, int):
        threshold = Threshold(threshold)
    row = session.execute(
        select(*_figures(session, threshold)).where(
            Call.invite_at >= start, Call.invite_at < end, INBOUND_SIDE
        )
    ).one()
    return ServiceLevel(*(int(v) for v in row))


def service_level_by(
    session: Session, start: datetime, end: datetime, key: Any, threshold: Threshold | int = 3
) -> dict[Any, ServiceLevel]:
    """`service_level` for each value of `key`, a column of calls (the estate, issue 23),
    in one grouped statement."""
    if isinstance(threshold, int):
        threshold = Threshold(threshold)
    rows = session.execute(
        select(key, *_figures(session, threshold))
        .where(Call.invite_at >= start, Call.invite_at < end, INBOUND_SIDE)
        .group_by(key)
    )
    return {value: ServiceLevel(*(int(v) for v in figures)) for value, *figures in rows}


def total(levels: list[ServiceLevel]) -> ServiceLevel:
    """The figures of consecutive buckets together (every field is a count): the
    dashboard's period from its chart's buckets, without counting the calls twice."""
    names = [f.name for f in fields(ServiceLevel)]
    return ServiceLevel(*(sum(getattr(level, name) for level in levels) for name in names))


def service_level_by_bucket(
    session: Session, bounds: list[datetime], threshold: Threshold | int = 3
) -> list[ServiceLevel]:
    """`service_level` for each interval [bounds[i], bounds[i + 1]), in one statement: a
    UNION ALL of one aggregate per interval, each reading its own range of the
    invite_at index (measured against a CASE over the whole range in
    bench/supervision_dashboard.py)."""
    if len(bounds) < 2:
        return []
    if isinstance(threshold, int):
        threshold = Threshold(threshold)
    columns = _figures(session, threshold)
    parts = [
        select(literal(index).label("bucket"), *columns).where(
            Call.invite_at >= low, Call.invite_at < high, INBOUND_SIDE
        )
        for index, (low, high) in enumerate(itertools.pairwise(bounds))
    ]
    empty = ServiceLevel(*([0] * len(columns)))
    levels = [empty for _ in parts]
    for index, *figures in session.execute(union_all(*parts)).all():
        levels[int(index)] = ServiceLevel(*(int(v) for v in figures))
    return levels


def answered_elsewhere_by(session: Session, start: datetime, end: datetime) -> list[Any]:
    """Who answered the calls of [start, end) elsewhere in the ring group, most first:
    (the user the PBX's extension names, else the name it gave, else None for "a
    colleague", count). Read from the partial index ix_calls_answered_elsewhere
    (migration 0022), whose condition is the bare `answered_elsewhere` term below."""
    who = func.coalesce(User.display_name, Call.answered_elsewhere_by)
    return list(
        session.execute(
            select(who, func.count())
            .select_from(Call)
            .outerjoin(User, User.id == Call.answered_by_user_id)
            .where(
                Call.invite_at >= start,
                Call.invite_at < end,
                Call.answered_elsewhere,
                Call.disposition == Disposition.ANSWERED,
            )
            .group_by(who)
            .order_by(func.count().desc(), who)
        ).all()
    )
