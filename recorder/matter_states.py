"""The statuses of a matter as a state machine (issue 21), enforced on every path.

A log entry's status moves only along `TRANSITIONS`: each move says the lowest role that
may make it, the paths it may come by, and whether a reason is required. Paths:

- ``form``: a person chooses the status on the entry page (or any other caller of `move`
  saying so: the CLI, a script);
- ``order``: a work order is made or returned (recorder/dispatch.py): 派工 moves an entry
  to dispatched, 返单 to done, or back to received when the work was not done
  (日常报修服务流程: 完成返单, 如未完成请备注原因);
- ``follow_up``: a follow-up that reached the resident (回访);
- ``closing``: a supervisor approves closing (seed 001 篇4 职权 3: 审核确定 … 报事单是否可归档).

The owner (首问负责人) changes only by `hand_over`, which names who, to whom and why.

Both are enforced for every session by a `before_flush` hook: a status or owner written
any other way (an ORM assignment, a form that forgot to ask) is refused at flush with
`TransitionRefused`, and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from recorder.actors import Actor, RecordIntegrityError, act_as
from recorder.models import EntryStatus, FieldSource, LogEntry, Role

RANK = {Role.CLERK: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}


class Via(StrEnum):
    FORM = "form"
    ORDER = "order"
    FOLLOW_UP = "follow_up"
    CLOSING = "closing"


@dataclass(frozen=True)
class Move:
    role: Role
    via: frozenset[Via]
    reason: bool


def _move(role: Role, *via: Via, reason: bool = False) -> Move:
    return Move(role, frozenset(via), reason)


S = EntryStatus
TRANSITIONS: dict[tuple[EntryStatus, EntryStatus], Move] = {
    # 派工: a work order, from any entry.
    (S.RECEIVED, S.DISPATCHED): _move(Role.CLERK, Via.ORDER),
    # Settled by the desk itself (an inquiry answered, a missed call called back): say how.
    (S.RECEIVED, S.DONE): _move(Role.CLERK, Via.FORM, reason=True),
    # 返单: done, or not done with the reason.
    (S.DISPATCHED, S.DONE): _move(Role.CLERK, Via.ORDER),
    (S.DISPATCHED, S.RECEIVED): _move(Role.CLERK, Via.ORDER, reason=True),
    # 回访 that reached the resident.
    (S.DONE, S.FOLLOWED_UP): _move(Role.CLERK, Via.FOLLOW_UP),
    # Re-dispatch after the return or an unsatisfied follow-up (1.4.3.6.4 整改).
    (S.DONE, S.DISPATCHED): _move(Role.CLERK, Via.ORDER),
    (S.FOLLOWED_UP, S.DISPATCHED): _move(Role.CLERK, Via.ORDER),
    # Closing is approved by a supervisor; without a follow-up, with the decision's reason.
    (S.FOLLOWED_UP, S.CLOSED): _move(Role.SUPERVISOR, Via.CLOSING),
    (S.DONE, S.CLOSED): _move(Role.SUPERVISOR, Via.CLOSING, reason=True),
    (S.RECEIVED, S.CLOSED): _move(Role.SUPERVISOR, Via.CLOSING, reason=True),
    # Reopened (直到客户满意为止): a supervisor, with the reason.
    (S.CLOSED, S.RECEIVED): _move(Role.SUPERVISOR, Via.FORM, reason=True),
}


class TransitionRefused(RecordIntegrityError):
    """A status or owner change the state machine does not allow."""


def rule(current: EntryStatus, to: EntryStatus) -> Move | None:
    return TRANSITIONS.get((current, to))


def allowed(current: EntryStatus, to: EntryStatus, role: Role, via: Via) -> bool:
    found = rule(current, to)
    return found is not None and via in found.via and RANK[role] >= RANK[found.role]


def targets(current: EntryStatus, role: Role, via: Via) -> list[EntryStatus]:
    """Where `role` may move an entry in `current` by `via`, in the statuses' order."""
    return [s for s in EntryStatus if allowed(current, s, role, via)]


def _permits(session: Session) -> dict[tuple[int, str], tuple[Any, Any]]:
    permits: dict[tuple[int, str], tuple[Any, Any]] = session.info.setdefault("permits", {})
    return permits


def move(
    session: Session,
    entry: LogEntry,
    to: EntryStatus,
    *,
    user_id: int | None,
    role: Role,
    via: Via,
    reason: str | None = None,
) -> None:
    """Move `entry` to `to`, or raise TransitionRefused saying why; leaves a revision."""
    current = entry.status or EntryStatus.RECEIVED  # a new entry not yet flushed
    found = rule(current, to)
    reason = (reason or "").strip() or None
    where = f"entry {entry.id}: {current.value} -> {to.value}"
    if found is None:
        raise TransitionRefused(f"{where} is not a step of the matter's procedure")
    if via not in found.via:
        ways = ", ".join(sorted(v.value for v in found.via))
        raise TransitionRefused(f"{where} is made by {ways}, not by {via.value}")
    if RANK[role] < RANK[found.role]:
        raise TransitionRefused(f"{where} needs a {found.role.value}")
    if found.reason and reason is None:
        raise TransitionRefused(f"{where} needs a reason")
    act_as(session, Actor(user_id, FieldSource.PERSON, reason))
    permits = _permits(session)
    # Two moves before a flush (done, then followed up) are one change from the first.
    first = permits.get((id(entry), "status"), (current, to))[0]
    permits[(id(entry), "status")] = (first, to)
    entry.status = to


def hand_over(
    session: Session,
    entry: LogEntry,
    to_user_id: int,
    *,
    user_id: int,
    role: Role,
    reason: str | None,
) -> None:
    """首问责任制: the owner keeps a matter until it is closed, unless it is handed over,
    explicitly, by its owner or a supervisor, with the reason (an unowned matter may be
    taken by anyone)."""
    reason = (reason or "").strip() or None
    owner = entry.responsible_user_id
    if reason is None:
        raise TransitionRefused(f"entry {entry.id}: a hand-over needs a reason")
    if owner is not None and owner != user_id and RANK[role] < RANK[Role.SUPERVISOR]:
        raise TransitionRefused(
            f"entry {entry.id}: only its owner or a supervisor may hand it over"
        )
    if owner == to_user_id:
        raise TransitionRefused(f"entry {entry.id}: it is already theirs")
    if entry.status is EntryStatus.CLOSED:
        raise TransitionRefused(f"entry {entry.id} is closed")
    act_as(session, Actor(user_id, FieldSource.PERSON, f"移交: {reason}"))
    _permits(session)[(id(entry), "responsible_user_id")] = (owner, to_user_id)
    entry.responsible_user_id = to_user_id


def _key(value: Any) -> Any:
    return getattr(value, "value", value)


@event.listens_for(Session, "before_flush")
def _enforce(session: Session, _context: Any, _instances: Any) -> None:
    permits = _permits(session)
    for obj in list(session.dirty):
        if not isinstance(obj, LogEntry):
            continue
        state = inspect(obj)
        for name in ("status", "responsible_user_id"):
            history = state.attrs[name].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if _key(old) == _key(new):
                continue
            permit = permits.pop((id(obj), name), None)
            if permit is None or (_key(permit[0]), _key(permit[1])) != (_key(old), _key(new)):
                how = "recorder.matter_states.move" if name == "status" else "hand_over"
                raise TransitionRefused(
                    f"entry {obj.id}: {name} {_key(old)} -> {_key(new)} was not made through {how}"
                )
    permits.clear()
