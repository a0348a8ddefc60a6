"""The matter's state machine (recorder/matter_states.py), table-tested exhaustively: every
status to every status, by every role and path, with and without a reason; and the
before_flush guard that refuses a status or owner written any other way (SQLite and
PostgreSQL)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recorder.matter_states import TRANSITIONS, TransitionRefused, Via, hand_over, move
from recorder.models import EntryRevision, EntryStatus, FieldSource, LogEntry, Role
from recorder.reception_log import Actor, act_as, new_entry
from recorder.staff import add_user

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
RANK = [Role.CLERK, Role.SUPERVISOR, Role.ADMIN]
#: The procedure, written out by hand from the seeds (not computed from TRANSITIONS):
#: (from, to): (lowest role, path, reason required).
EXPECTED = {
    ("received", "dispatched"): ("clerk", "order", False),
    ("received", "done"): ("clerk", "form", True),
    ("received", "closed"): ("supervisor", "closing", True),
    ("dispatched", "done"): ("clerk", "order", False),
    ("dispatched", "received"): ("clerk", "order", True),
    ("done", "followed_up"): ("clerk", "follow_up", False),
    ("done", "dispatched"): ("clerk", "order", False),
    ("done", "closed"): ("supervisor", "closing", True),
    ("followed_up", "dispatched"): ("clerk", "order", False),
    ("followed_up", "closed"): ("supervisor", "closing", False),
    ("closed", "received"): ("supervisor", "form", True),
}


def _entry(s: Session, status: EntryStatus, owner: int | None = None) -> LogEntry:
    entry = new_entry(
        s,
        {"received_at": T0, "status": status, "responsible_user_id": owner},
        FieldSource.AUTO,
    )
    s.flush()
    return entry


def test_the_table_is_the_procedure() -> None:
    table = {
        (a.value, b.value): (m.role.value, *[v.value for v in m.via], m.reason)
        for (a, b), m in TRANSITIONS.items()
    }
    assert table == EXPECTED


def test_every_move_by_every_role_and_path(sessions: sessionmaker[Session]) -> None:
    """5 × 5 statuses × 3 roles × 4 paths × with/without a reason: 600 attempts. Allowed ones
    move and leave a revision with the reason; refused ones leave the status as it was."""
    moved = refused = 0
    with sessions.begin() as s:
        for start, to, role, via, reason in itertools.product(
            EntryStatus, EntryStatus, RANK, Via, (None, "业主来电说明")
        ):
            entry = _entry(s, start)
            expected = EXPECTED.get((start.value, to.value))
            ok = (
                expected is not None
                and via.value == expected[1]
                and RANK.index(role) >= RANK.index(Role(expected[0]))
                and (reason is not None or not expected[2])
            )
            if ok:
                move(s, entry, to, user_id=None, role=role, via=via, reason=reason)
                s.flush()
                (revision,) = s.scalars(
                    select(EntryRevision).where(EntryRevision.entry_id == entry.id)
                ).all()
                assert (revision.field, revision.old_value, revision.new_value) == (
                    "status",
                    start.value,
                    to.value,
                )
                assert revision.reason == reason
                moved += 1
            else:
                with pytest.raises(TransitionRefused):
                    move(s, entry, to, user_id=None, role=role, via=via, reason=reason)
                s.flush()
                s.refresh(entry)
                assert entry.status is start, (start, to, role, via, reason)
                refused += 1
    assert moved + refused == 600 and moved > 0


def test_a_status_or_owner_written_directly_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        clerk = add_user(s, "wang", "王芳", "1023", Role.CLERK, "correct horse battery")
        s.flush()
        entry_id = _entry(s, EntryStatus.RECEIVED, clerk.id).id
    for name, value in (("status", EntryStatus.CLOSED), ("responsible_user_id", None)):
        with sessions() as s:
            entry = s.get_one(LogEntry, entry_id)
            act_as(s, Actor(clerk.id, FieldSource.PERSON, "我改的"))  # an actor is not enough
            setattr(entry, name, value)
            with pytest.raises(TransitionRefused, match=f"{name} .* was not made through"):
                s.flush()
    with sessions() as s:  # nothing was written
        entry = s.get_one(LogEntry, entry_id)
        assert (entry.status, entry.responsible_user_id) == (EntryStatus.RECEIVED, clerk.id)
        assert s.scalars(select(EntryRevision)).all() == []


def test_the_owner_changes_only_by_an_explained_hand_over(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        users = [
            add_user(s, name, name, f"10{i}", role, "correct horse battery")
            for i, (name, role) in enumerate(
                [("wang", Role.CLERK), ("li", Role.CLERK), ("zhao", Role.SUPERVISOR)]
            )
        ]
        s.flush()
        wang, li, zhao = (u.id for u in users)
        entry = _entry(s, EntryStatus.RECEIVED, wang)
        with pytest.raises(TransitionRefused, match="needs a reason"):
            hand_over(s, entry, li, user_id=wang, role=Role.CLERK, reason=" ")
        with pytest.raises(TransitionRefused, match="only its owner or a supervisor"):
            hand_over(s, entry, li, user_id=li, role=Role.CLERK, reason="我来跟进")
        hand_over(s, entry, li, user_id=wang, role=Role.CLERK, reason="交班")
        s.flush()
        hand_over(s, entry, zhao, user_id=zhao, role=Role.SUPERVISOR, reason="重大投诉")
        s.flush()
        revisions = s.scalars(
            select(EntryRevision).where(EntryRevision.field == "responsible_user_id")
        ).all()
        assert [(r.old_value, r.new_value, r.user_id, r.reason) for r in revisions] == [
            (str(wang), str(li), wang, "移交: 交班"),
            (str(li), str(zhao), zhao, "移交: 重大投诉"),
        ]
