"""Estates (项目/小区) as data (issue 23): one company's desk serves many estates.

An estate has a code (TS-<code>-2026-0001), the name said in the greeting and printed on
notices, the numbers that reach it (the PBX's DID: the called number of a call), its
opening hours and holidays, and optionally its own phone script; what it leaves empty
is the company's (`[organization]`, `[content]`). Staff belong to one or more estates.

Kept in the database (migration 0016; `hotline estates import config/estates.toml`):

- a call takes the estate of its called number when it is written (`_stamp`, a flush
  hook on every Session, like the reception log's revisions); with no number matching,
  the only estate of a one-estate company, else none (the company's);
- an entry takes its call's estate, a complaint or work order its entry's;
- `restrict(session, ids)` makes every ORM read of that session see only those estates'
  entries, calls, complaints and work orders (SQLAlchemy's `with_loader_criteria`): the
  desk scopes a clerk's or supervisor's session once, not page by page;
- the estates side by side for a month: recorder/estate_figures.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import ForeignKey, Integer, String, delete, event, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, with_loader_criteria

from recorder.errors import ConfigError
from recorder.models import (
    Base,
    Call,
    Complaint,
    LogEntry,
    Role,
    User,
    WorkOrder,
)
from recorder.residents import phone_key
from recorder.settings import OrganizationSettings, load_data

#: The session's `info` key holding the estate ids it may read (absent: all).
SCOPE = "estate_ids"


class Estate(Base):
    __tablename__ = "estates"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    #: Said in the greeting and printed on notices; empty: the company's name.
    name: Mapped[str] = mapped_column(String(100), default="")
    #: "08:00-18:00"; None: the company's hours (so are working days and holidays).
    opening_hours: Mapped[str | None] = mapped_column(String(16))
    working_days: Mapped[list[Any] | None]
    holidays: Mapped[list[Any] | None]
    #: A phone script of its own (a path under config/); None: the company's.
    script: Mapped[str | None] = mapped_column(String(200))
    #: The departments its work orders go to; None: the company's (migration 0019).
    departments: Mapped[list[Any] | None]
    #: "company": complaints and work orders take the company's numbers (TS-2026-0001);
    #: "estate": the estate's own (TS-HX-2026-0001).
    numbering: Mapped[str] = mapped_column(String(8), default="company", server_default="company")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class EstateNumber(Base):
    """A called number (DID, To user) that reaches an estate; one estate per number."""

    __tablename__ = "estate_numbers"

    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id", ondelete="CASCADE"))


class EstateSequence(Base):
    """The last number an estate issued of a kind (TS, PG) in a year; row-locked while
    one is taken, as the company's sequences are (recorder/reception_log.py)."""

    __tablename__ = "estate_sequences"

    kind: Mapped[str] = mapped_column(String(4), primary_key=True)
    estate_id: Mapped[int] = mapped_column(
        ForeignKey("estates.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class StaffEstate(Base):
    """A staff member works for an estate. Staff with none work for the company."""

    __tablename__ = "staff_estates"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    estate_id: Mapped[int] = mapped_column(
        ForeignKey("estates.id", ondelete="CASCADE"), primary_key=True
    )


class EstateData(BaseModel):
    """One `[[estate]]` of config/estates.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[A-Za-z0-9]{1,16}$")
    name: str = Field(min_length=1, max_length=100)
    numbers: list[str] = Field(default_factory=list)
    opening_hours: str | None = None
    working_days: list[int] | None = None
    holidays: list[str] | None = None
    script: str | None = None
    numbering: Literal["company", "estate"] = "company"
    departments: list[str] | None = Field(default=None, min_length=1)


class EstatesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    estate: list[EstateData] = Field(default_factory=list)


def load_estates(path: Path) -> list[EstateData]:
    """The estates of a TOML file; a `ConfigError` names the file and what is wrong."""
    data: EstatesFile = load_data(path, EstatesFile)
    seen: dict[str, str] = {}
    for estate in data.estate:
        try:  # the company's checks on hours
            OrganizationSettings(opening_hours=estate.opening_hours or "08:00-18:00")
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"]
            raise ConfigError(f"{path}: estate {estate.code}: opening_hours: {reason}") from None
        for day in estate.working_days or ():
            if not 1 <= day <= 7:
                raise ConfigError(f"{path}: estate {estate.code}: working day {day} is not 1-7")
        for item in estate.holidays or ():
            try:
                date.fromisoformat(item)
            except ValueError:
                raise ConfigError(
                    f"{path}: estate {estate.code}: holiday {item!r} is not a date such as 2026-10-01"
                ) from None
        for number in estate.numbers:
            key = phone_key(number)
            same = key.number if key is not None else number  # +86 10 8888 8888 = 01088888888
            if same in seen:
                raise ConfigError(
                    f"{path}: number {number} reaches both {seen[same]} and {estate.code}"
                )
            seen[same] = estate.code
    return list(data.estate)


def save_estates(session: Session, estates: Iterable[EstateData]) -> list[Estate]:
    """Add or update estates by code; their numbers become exactly those given."""
    saved = []
    for data in estates:
        row = session.scalar(select(Estate).where(Estate.code == data.code))
        if row is None:
            row = Estate(code=data.code)
            session.add(row)
        row.name, row.opening_hours = data.name, data.opening_hours
        row.working_days, row.holidays, row.script = data.working_days, data.holidays, data.script
        row.numbering, row.departments = data.numbering, data.departments
        session.flush()
        session.execute(delete(EstateNumber).where(EstateNumber.estate_id == row.id))
        for number in data.numbers:
            taken = session.get(EstateNumber, number)
            if taken is not None:
                session.delete(taken)
                session.flush()
            session.add(EstateNumber(number=number, estate_id=row.id))
        saved.append(row)
    session.flush()
    return saved


def reaches(called: str, number: str) -> int:
    """How a call to `called` meets an estate's `number`, both normalised as the caller's
    number is (recorder.residents.phone_key): 2 the same number (+86 10 8888 8888,
    01088888888, 861088888888, 008610...; a mobile with or without +86), 1 the same
    subscriber number where one side lacks its area code (88888888 and 010-88888888),
    0 not the same (another area code, another number)."""
    if called == number:
        return 2
    ours, theirs = phone_key(called), phone_key(number)
    if ours is None or theirs is None:
        return 0
    if ours.number == theirs.number:
        return 2
    complete = ours.number.startswith("+"), theirs.number.startswith("+")
    return 1 if complete[0] != complete[1] and ours.local == theirs.local else 0


def estate_for(session: Session, called: str | None) -> Estate | None:
    """The estate a call to `called` reaches: by its number as written, else as the same
    number written otherwise (`reaches`), when one estate has it; otherwise a one-estate
    company's estate; otherwise none (the company answers)."""
    if called:
        estate = session.scalar(
            select(Estate).join(EstateNumber).where(EstateNumber.number == called)
        )
        if estate is not None:
            return estate
        found: dict[int, set[int]] = {2: set(), 1: set()}
        for number, estate_id in session.execute(
            select(EstateNumber.number, EstateNumber.estate_id)
        ):
            if match := reaches(called, number):
                found[match].add(estate_id)
        ids = found[2] or found[1]
        if len(ids) == 1:  # several: the area code that would tell them apart is missing
            return session.get(Estate, ids.pop())
    only = session.scalars(select(Estate).limit(2)).all()
    return only[0] if len(only) == 1 else None


def estate_number(
    session: Session, estate_id: int | None, prefix: str, year: int
) -> tuple[int, str] | None:
    """The next number of an estate that numbers its own (TS-HX-2026-0001), inside the
    caller's transaction; None: the company's numbers apply."""
    estate = session.get(Estate, estate_id) if estate_id is not None else None
    if estate is None or estate.numbering != "estate":
        return None
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    key = {"kind": prefix, "estate_id": estate.id, "year": year}
    session.execute(insert(EstateSequence).values(**key, last_number=0).on_conflict_do_nothing())
    seq = session.execute(
        update(EstateSequence)
        .where(
            EstateSequence.kind == prefix,
            EstateSequence.estate_id == estate.id,
            EstateSequence.year == year,
        )
        .values(last_number=EstateSequence.last_number + 1)
        .returning(EstateSequence.last_number)
    ).scalar_one()
    return int(seq), f"{prefix}-{estate.code}-{year}-{int(seq):04d}"


def by_code(session: Session, code: str) -> Estate:
    estate = session.scalar(select(Estate).where(Estate.code == code))
    if estate is None:
        raise ConfigError(f"no estate {code!r} (hotline estates list shows them)")
    return estate


def numbers_of(session: Session, estate_id: int) -> list[str]:
    stmt = select(EstateNumber.number).where(EstateNumber.estate_id == estate_id)
    return list(session.scalars(stmt.order_by(EstateNumber.number)))


def assign(session: Session, user: User, codes: Iterable[str]) -> None:
    """The user works for exactly these estates (none: for the company)."""
    session.execute(delete(StaffEstate).where(StaffEstate.user_id == user.id))
    for code in codes:
        session.add(StaffEstate(user_id=user.id, estate_id=by_code(session, code).id))
    session.flush()


def estates_of(session: Session, user_id: int) -> frozenset[int]:
    stmt = select(StaffEstate.estate_id).where(StaffEstate.user_id == user_id)
    return frozenset(session.scalars(stmt))


def visible_estates(session: Session, user_id: int, role: Role) -> frozenset[int] | None:
    """The estates whose entries the user sees; None: all (an admin, or staff of the
    company, who belong to no estate)."""
    if role is Role.ADMIN:
        return None
    return estates_of(session, user_id) or None


def restrict(session: Session, estate_ids: frozenset[int] | None) -> None:
    """From now on, the session's reads see only these estates' rows (None: all)."""
    if estate_ids is None:
        session.info.pop(SCOPE, None)
    else:
        session.info[SCOPE] = estate_ids


@event.listens_for(Session, "do_orm_execute")
def _scope(state: ORMExecuteState) -> None:
    ids = state.session.info.get(SCOPE)
    if ids is None or not state.is_select:
        return
    state.statement = state.statement.options(
        *(
            with_loader_criteria(model, model.estate_id.in_(ids), include_aliases=True)
            for model in (LogEntry, Call, Complaint, WorkOrder)
        )
    )


@event.listens_for(Session, "before_flush")
def _stamp(session: Session, _context: object, _instances: object) -> None:
    """New rows take their estate: a call from its called number, the rest from what
    they belong to."""
    with session.no_autoflush:
        for obj in list(session.new):
            if getattr(obj, "estate_id", 0) is not None:
                continue
            if isinstance(obj, Call):
                estate = estate_for(session, obj.called_number)
                obj.estate_id = estate.id if estate is not None else None
            elif isinstance(obj, LogEntry):
                call = obj.call or (session.get(Call, obj.call_pk) if obj.call_pk else None)
                obj.estate_id = call.estate_id if call is not None else _only(session)
            elif isinstance(obj, Complaint | WorkOrder):
                entry = getattr(obj, "entry", None) or (
                    session.get(LogEntry, obj.entry_id) if obj.entry_id else None
                )
                obj.estate_id = entry.estate_id if entry is not None else None


def _only(session: Session) -> int | None:
    estate = estate_for(session, None)
    return estate.id if estate is not None else None
