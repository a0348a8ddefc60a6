"""Who is calling (issue 19): the caller's number looked up in the resident directory.

One household: the entry's surname, unit and phone come from the directory
(`unit_source` "directory"); a unit said that differs from the directory's is the
call's subject (a neighbour's leak), kept beside the caller's home. Several households
share the number: listed for a clerk, none chosen. A unit said that the estate does not
have (recorder.residents.Layout) is flagged for a clerk instead of written as fact.
A priority resident's call (重点业户, seed 001 篇5 7) is raised one urgency level.
Works with no speech model: `fields` is then None and only the directory speaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from recorder import residents
from recorder.residents import HouseholdCard, Layout
from transcripts.surnames import COMPOUND_SURNAMES

if TYPE_CHECKING:
    from transcripts.fields import EntryFields

#: Urgency levels, least first: a priority resident's call goes one up.
LEVELS = ("normal", "leak", "safety")


def surname_of(name: str) -> str:
    """王建国 -> 王, 欧阳娜 -> 欧阳, John Smith -> Smith."""
    if name.isascii():
        return name.rsplit(maxsplit=1)[-1]
    return next((c for c in COMPOUND_SURNAMES if name.startswith(c)), name[:1])


def raised(urgency: str) -> str:
    return LEVELS[min(LEVELS.index(urgency) + 1, len(LEVELS) - 1)]


@dataclass(frozen=True)
class Recognition:
    households: list[HouseholdCard]
    #: Log-entry values (recorder.models ENTRY_FIELDS and ENTRY_CALLER_FIELDS) to set.
    values: dict[str, Any]


def recognise(
    caller: str | None,
    households: list[HouseholdCard],
    layout: Layout,
    fields: EntryFields | None,
) -> Recognition:
    """What the directory adds to (or corrects in) the entry filled from speech."""
    said_unit = fields.unit if fields is not None else None
    urgency = fields.urgency if fields is not None else "normal"
    values: dict[str, Any] = {"unit_source": "speech" if said_unit else None}
    known = said_unit is None or layout.knows(said_unit)
    if not known:
        values.update(unit=None, unit_source=None, unverified_unit=said_unit, needs_review=True)
    if len(households) == 1:
        home = households[0]
        key = residents.phone_key(caller)
        values.update(
            surname=surname_of(home.callers[0]),
            unit=home.address,
            unit_source="directory",
        )
        if fields is None or fields.phone is None:
            values["phone"] = key.shown if key is not None else caller
        subject = said_unit if said_unit != home.address and known else None
        neighbour = fields.neighbour_unit if fields is not None else None
        if subject is None and neighbour:
            if layout.knows(neighbour):
                subject = neighbour
            else:
                values.update(unverified_unit=neighbour, needs_review=True)
        if subject:
            values["subject_unit"] = subject
        if home.priority:
            urgency = raised(urgency)
            values["urgency"] = urgency
    elif households:
        values.update(households=[h.as_json() for h in households], needs_review=True)
    return Recognition(households, values)


def recognise_in(session: Session, caller: str | None, fields: EntryFields | None) -> Recognition:
    """`recognise` with the directory and the estate's layout read from the database."""
    households = residents.households_of(session, caller)
    said = fields is not None and (fields.unit or fields.neighbour_unit)
    layout = residents.layout(session) if said else Layout()
    return recognise(caller, households, layout, fields)


def as_json(fields: EntryFields, recognition: Recognition) -> dict[str, Any]:
    """`hotline classify --caller`: the keys of today plus unit_source and households (and
    the call's subject and a unit the estate lacks, when there are)."""
    shown = fields.as_json()
    values = recognition.values
    for name in ("surname", "unit", "phone", "urgency"):
        if name in values:
            shown[name] = values[name]
    shown["unit_source"] = values.get("unit_source")
    shown["households"] = [h.as_json() for h in recognition.households]
    for name in ("subject_unit", "unverified_unit"):
        if values.get(name):
            shown[name] = values[name]
    return shown
