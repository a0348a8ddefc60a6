"""The resident directory's storage: numbers normalised for lookup, households found by
the caller's number, the estate's layout derived from the addresses, and changes written
with their history (recorder.directory). Functions take a Session; the caller commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from recorder.directory import DirectoryRevision, Household, Resident, ResidentPhone
from recorder.models import utcnow

#: An address as the log writes it: 3栋2单元501, C栋302, 2期3栋1单元1201, 12栋.
_ADDRESS = re.compile(
    r"(?P<building>(?:\d{1,2}期|[东南西北中A-Z]区|\d{1,2}区)?(?:[A-Z]\d{0,3}|\d{1,3})栋)?"
    r"(?:(?P<unit>\d{1,2})单元)?(?P<room>\d{3,4})?室?"
)
#: A landline said without its area code.
_LOCAL_LANDLINE = re.compile(r"[2-9]\d{6,7}")


@dataclass(frozen=True)
class PhoneKey:
    """`number`: E.164 when complete, else the local digits; `local`: without the area code."""

    number: str
    local: str

    @property
    def shown(self) -> str:
        """As a clerk dials it: 13812345678, 02162345678, 62345678."""
        if self.number.startswith("+86"):
            national = self.number[3:]
            return national if national.startswith("1") else f"0{national}"
        return self.number


def phone_key(raw: str | None) -> PhoneKey | None:
    """A Chinese mobile or landline (with or without its area code), or None: not a number."""
    digits = re.sub(r"[^\d+]", "", raw or "")
    if not digits.strip("+"):
        return None
    try:
        parsed = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_valid_number(parsed):
        number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        national = str(parsed.national_number)
        area = phonenumbers.length_of_geographical_area_code(parsed)
        return PhoneKey(number, national[area:])
    bare = digits.lstrip("+")
    return PhoneKey(bare, bare) if _LOCAL_LANDLINE.fullmatch(bare) else None


@dataclass(frozen=True)
class Address:
    building: str | None
    unit_no: str | None
    room: str | None

    @property
    def floor(self) -> int | None:
        return int(self.room[:-2]) if self.room else None

    @property
    def door(self) -> int | None:
        return int(self.room[-2:]) if self.room else None


def parse_address(address: str) -> Address | None:
    """The parts of a normalised address; None: not one (a landmark, free text)."""
    match = _ADDRESS.fullmatch(address.strip())
    if match is None or not any(match.groups()):
        return None
    unit_no = str(int(match["unit"])) if match["unit"] else None
    return Address(match["building"], unit_no, match["room"])


def address_of(building: str, unit_no: str | None, room: str) -> str:
    return f"{building}{unit_no}单元{room}" if unit_no else f"{building}{room}"


@dataclass(frozen=True)
class Layout:
    """The estate as the directory knows it: buildings, their units, top floor and doors."""

    buildings: frozenset[str] = frozenset()
    units: frozenset[tuple[str, str | None]] = frozenset()
    #: (building, unit_no) -> (top floor, most doors on a floor)
    extent: dict[tuple[str, str | None], tuple[int, int]] = field(default_factory=dict)

    def knows(self, address: str) -> bool:
        """Whether the estate has this address; True when it cannot tell (no directory yet,
        a room said alone)."""
        parts = parse_address(address)
        if not self.buildings or parts is None or parts.building is None:
            return True
        if parts.building not in self.buildings:
            return False
        if parts.unit_no is not None and (parts.building, parts.unit_no) not in self.units:
            return False
        if parts.room is None or parts.floor is None or parts.door is None:
            return True
        if parts.unit_no is None:  # 5栋302: any unit of the building with that floor and door
            keys = [key for key in self.extent if key[0] == parts.building]
        else:
            keys = [(parts.building, parts.unit_no)]
        return any(
            1 <= parts.floor <= top and 1 <= parts.door <= doors
            for top, doors in (self.extent[k] for k in keys)
        )


def layout(session: Session) -> Layout:
    rows = session.execute(select(Household.building, Household.unit_no, Household.room)).all()
    extent: dict[tuple[str, str | None], tuple[int, int]] = {}
    for building, unit_no, room in rows:
        parts = Address(building, unit_no, room)
        if parts.floor is None or parts.door is None:
            continue
        top, doors = extent.get((building, unit_no), (0, 0))
        extent[(building, unit_no)] = (max(top, parts.floor), max(doors, parts.door))
    return Layout(
        frozenset(r.building for r in rows),
        frozenset((r.building, r.unit_no) for r in rows),
        extent,
    )


@dataclass(frozen=True)
class HouseholdCard:
    """What a clerk sees of a household the caller's number belongs to."""

    id: int
    address: str
    residents: list[dict[str, object]]
    #: The names whose number the caller's is.
    callers: list[str]

    @property
    def priority(self) -> bool:
        return any(r["priority"] for r in self.residents if r["name"] in self.callers)

    def as_json(self) -> dict[str, object]:
        return {"address": self.address, "names": self.callers, "priority": self.priority}


def card(household: Household, callers: Iterable[str] = ()) -> HouseholdCard:
    residents: list[dict[str, object]] = [
        {
            "name": r.name,
            "relation": r.relation,
            "priority": r.priority,
            "notes": r.notes,
            "phones": [PhoneKey(p.number, p.local).shown for p in r.phones],
        }
        for r in household.residents
    ]
    return HouseholdCard(household.id, household.address, residents, list(callers))


def households_of(session: Session, number: str | None) -> list[HouseholdCard]:
    """The households whose residents have this number, fewest first by address."""
    key = phone_key(number)
    if key is None:
        return []
    phones = session.scalars(
        select(ResidentPhone)
        .where(ResidentPhone.local == key.local)
        .options(selectinload(ResidentPhone.resident).selectinload(Resident.household))
    ).all()
    found: dict[int, tuple[Household, list[str]]] = {}
    for phone in phones:
        complete = phone.number != phone.local and key.number != key.local
        if complete and phone.number != key.number:
            continue  # the same local digits in another city
        household = phone.resident.household
        found.setdefault(household.id, (household, []))[1].append(phone.resident.name)
    return [card(h, names) for h, names in sorted(found.values(), key=lambda f: f[0].address)]


@dataclass
class Change:
    """The values a resident should have; `phones` as PhoneKeys."""

    address: Address
    name: str
    phones: Sequence[PhoneKey]
    relation: str | None = None
    notes: str | None = None
    priority: bool = False


def _values(resident: Resident) -> dict[str, str | None]:
    return {
        "relation": resident.relation,
        "notes": resident.notes,
        "priority": "是" if resident.priority else None,
        "phones": "、".join(PhoneKey(p.number, p.local).shown for p in resident.phones) or None,
    }


def household_at(session: Session, parts: Address) -> Household | None:
    if parts.building is None or parts.room is None:
        return None
    address = address_of(parts.building, parts.unit_no, parts.room)
    return session.scalar(select(Household).where(Household.address == address))


def save(session: Session, change: Change, origin: str, user_id: int | None = None) -> str:
    """Add or update one resident, with a revision row per changed field; returns
    "added", "updated" or "unchanged"."""
    parts = change.address
    if parts.building is None or parts.room is None:
        raise ValueError("an address needs its building and room")
    household = household_at(session, parts)
    if household is None:
        address = address_of(parts.building, parts.unit_no, parts.room)
        household = Household(
            address=address, building=parts.building, unit_no=parts.unit_no, room=parts.room
        )
        session.add(household)
        session.flush()
    resident = next((r for r in household.residents if r.name == change.name), None)
    outcome = "updated"
    if resident is None:
        resident = Resident(household=household, name=change.name)
        session.add(resident)
        outcome = "added"
    before: dict[str, str | None] = {"name": None}
    if outcome == "updated":
        before = {"name": resident.name, **_values(resident)}
    resident.relation, resident.notes = change.relation, change.notes
    resident.priority = change.priority
    wanted = {key.number: key for key in change.phones}
    for phone in list(resident.phones):
        if phone.number not in wanted:
            resident.phones.remove(phone)
    have = {p.number for p in resident.phones}
    resident.phones.extend(
        ResidentPhone(number=k.number, local=k.local) for n, k in wanted.items() if n not in have
    )
    session.flush()
    after = {"name": resident.name, **_values(resident)}
    changed = [(f, before.get(f), new) for f, new in after.items() if before.get(f) != new]
    for name, old, new in changed:
        session.add(
            DirectoryRevision(
                household_id=household.id,
                resident_id=resident.id,
                user_id=user_id,
                changed_at=utcnow(),
                origin=origin[:255],
                field=name,
                old_value=old,
                new_value=new,
            )
        )
    return outcome if changed else "unchanged"


def history(session: Session, household_id: int) -> list[DirectoryRevision]:
    return list(
        session.scalars(
            select(DirectoryRevision)
            .where(DirectoryRevision.household_id == household_id)
            .order_by(DirectoryRevision.id)
        )
    )


def everyone(session: Session) -> list[Resident]:
    """Every resident with household and phones, in address order."""
    return list(
        session.scalars(
            select(Resident)
            .join(Household)
            .options(selectinload(Resident.phones), selectinload(Resident.household))
            .order_by(Household.building, Household.unit_no, Household.room, Resident.id)
        )
    )
