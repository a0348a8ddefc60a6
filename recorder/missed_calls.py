"""Missed calls waiting for a call-back, one group per caller's number (issue 19): a
resident who rang 15 times is one row with a count, not 15, until someone reaches them
(the entries leave the list as their status moves on) or a clerk marks the group
"已回电" by hand, which moves every entry of it to done, each with its revision
(recorder/matter_states.py: received -> done by a person, with a reason).

Numbers meet as the directory's lookup normalises them (recorder.residents.phone_key):
021-62345678 and 62345678 are one caller. A withheld number is a group of its own.
Functions take a Session; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from recorder.matter_states import TransitionRefused, Via, move
from recorder.models import Call, Disposition, EntryStatus, LogEntry, Role
from recorder.residents import phone_key

#: Why the entries moved to done, in their revisions.
CALLED_BACK = "已回电"
WAITING = (Disposition.MISSED, Disposition.ABANDONED)


@dataclass
class MissedGroup:
    number: str | None
    entries: list[int] = field(default_factory=list)
    first_at: datetime | None = None
    last_at: datetime | None = None

    @property
    def count(self) -> int:
        return len(self.entries)

    @property
    def latest(self) -> int:
        return self.entries[-1]


def _key(number: str | None, entry_id: int) -> str:
    found = phone_key(number)
    if found is not None:
        return found.local
    return (number or "").strip() or f"withheld:{entry_id}"


def _waiting(session: Session) -> list[tuple[int, str | None, datetime]]:
    rows = session.execute(
        select(LogEntry.id, Call.caller_number, LogEntry.caller_number, Call.invite_at)
        .join(Call, Call.id == LogEntry.call_pk)
        .where(Call.disposition.in_(WAITING), LogEntry.status == EntryStatus.RECEIVED)
        .order_by(Call.invite_at, LogEntry.id)
    ).all()
    return [(entry_id, called or said, at) for entry_id, called, said, at in rows]


def waiting(session: Session) -> list[MissedGroup]:
    """The groups, the one missed most recently first."""
    groups: dict[str, MissedGroup] = {}
    for entry_id, number, at in _waiting(session):
        group = groups.setdefault(_key(number, entry_id), MissedGroup(number))
        group.entries.append(entry_id)
        group.first_at = group.first_at or at
        group.last_at = at
    return sorted(groups.values(), key=lambda g: (g.last_at is not None, g.last_at), reverse=True)


def mark_called_back(session: Session, entry_id: int, user_id: int, role: Role) -> list[int]:
    """已回电: every waiting entry of the number `entry_id` was missed from; their ids.

    Raises TransitionRefused when the entry is not a missed call waiting any more.
    """
    rows = _waiting(session)
    number = next((n for e, n, _ in rows if e == entry_id), None)
    if not any(e == entry_id for e, _, _ in rows):
        raise TransitionRefused(f"entry {entry_id} is not a missed call waiting for a call-back")
    key = _key(number, entry_id)
    done = [e for e, n, _ in rows if _key(n, e) == key]
    for entry in session.scalars(select(LogEntry).where(LogEntry.id.in_(done))):
        move(
            session,
            entry,
            EntryStatus.DONE,
            user_id=user_id,
            role=role,
            via=Via.FORM,
            reason=CALLED_BACK,
        )
    return done
