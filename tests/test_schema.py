"""Schema, migrations, revisions and complaint numbering on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from hotline.errors import DatabaseUnreachable, SchemaOutdated
from recorder import db
from recorder.models import (
    Call,
    Complaint,
    Direction,
    Disposition,
    EntryRevision,
    FieldSource,
    LogEntry,
    Role,
    Urgency,
)
from recorder.reception_log import (
    SYSTEM,
    Actor,
    RecordIntegrityError,
    act_as,
    new_entry,
    original_values,
    register_complaint,
)
from recorder.staff import add_user

T0 = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
TABLES = {
    "calls",
    "recordings",
    "transcripts",
    "log_entries",
    "entry_revisions",
    "users",
    "complaints",
    "complaint_sequences",
    "audit_events",
    # issue 21
    "matter_revisions",
    "reply_letters",
    "letter_reviews",
    "handovers",
    "check_marks",
    # issue 19
    "households",
    "residents",
    "resident_phones",
    "directory_revisions",
    "live_calls",
    "desk_alerts",
    # issue 22
    "outbound_tasks",
    "outbound_opt_outs",
}


def test_upgrade_creates_every_table_and_downgrade_removes_them(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert db.current_revision(engine) == db.head_revision()
    db.check_schema(engine)

    db.downgrade(engine, "base")
    assert not TABLES & set(inspect(engine).get_table_names())
    with pytest.raises(SchemaOutdated, match="hotline db upgrade"):
        db.check_schema(engine)

    db.upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_times_come_back_aware_utc(sessions: sessionmaker[Session]) -> None:
    shanghai = T0.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    with sessions.begin() as s:
        s.add(
            Call(
                call_id="c1",
                direction=Direction.INBOUND,
                caller_number="13800138000",
                invite_at=shanghai,
            )
        )
    with sessions() as s:
        call = s.scalars(select(Call)).one()
        assert call.invite_at == T0 and call.invite_at.tzinfo is not None
        assert call.disposition is Disposition.RINGING
        assert call.created_at.tzinfo is not None


def test_naive_datetimes_are_refused(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(Exception, match="naive datetime"), sessions.begin() as s:
        s.add(Call(call_id="c2", direction=Direction.INBOUND, invite_at=datetime(2026, 1, 1)))


def _entry(s: Session) -> LogEntry:
    entry = new_entry(
        s,
        {
            "received_at": T0,
            "caller_number": "13800138000",
            "surname": "王",
            "unit": "3栋2单元501",
            "category": "repair",
            "urgency": Urgency.LEAK,
            "summary": "卫生间漏水",
        },
        FieldSource.AUTO,
    )
    s.flush()
    return entry


def test_every_change_to_an_entry_writes_a_revision(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        clerk = add_user(s, "wangfang", "王芳", "1023", Role.CLERK, "correct horse battery")
        entry = _entry(s)
        assert entry.field_sources["surname"] == "auto"
        assert "phone" not in entry.field_sources
        entry_id, clerk_id = entry.id, clerk.id

    with sessions.begin() as s:
        act_as(s, Actor(user_id=clerk_id, source=FieldSource.PERSON, reason="caller corrected"))
        entry = s.get(LogEntry, entry_id)
        assert entry is not None
        entry.surname = "汪"
        entry.category = "complaint"
        entry.summary = entry.summary  # unchanged: no revision

    with sessions() as s:
        entry = s.get(LogEntry, entry_id)
        assert entry is not None
        revisions = s.scalars(select(EntryRevision).order_by(EntryRevision.field)).all()
        assert [
            (r.field, r.old_value, r.new_value, r.old_source, r.new_source, r.user_id)
            for r in revisions
        ] == [
            ("category", "repair", "complaint", "auto", "person", clerk_id),
            ("surname", "王", "汪", "auto", "person", clerk_id),
        ]
        assert entry.field_sources["surname"] == "person"
        assert entry.field_sources["unit"] == "auto"
        assert original_values(entry) == {"category": "repair", "surname": "王"}


def test_system_changes_are_revised_too(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        entry_id = _entry(s).id
    with sessions.begin() as s:
        act_as(s, SYSTEM)
        entry = s.get(LogEntry, entry_id)
        assert entry is not None
        entry.follow_up_due = (T0 + timedelta(days=3)).date()
    with sessions() as s:
        (rev,) = s.scalars(select(EntryRevision)).all()
        assert (rev.field, rev.old_value, rev.new_value, rev.user_id) == (
            "follow_up_due",
            None,
            "2026-11-26",
            None,
        )


def test_a_change_without_an_actor_is_refused_and_nothing_is_kept(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        entry_id = _entry(s).id
    with pytest.raises(RecordIntegrityError, match="needs an actor"), sessions.begin() as s:
        entry = s.get(LogEntry, entry_id)
        assert entry is not None
        entry.surname = "李"
    with sessions() as s:
        entry = s.get(LogEntry, entry_id)
        assert entry is not None and entry.surname == "王"
        assert s.scalar(select(func.count()).select_from(EntryRevision)) == 0


def test_entries_and_revisions_cannot_be_deleted(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        entry_id = _entry(s).id
    with (
        pytest.raises(RecordIntegrityError, match="kept without alteration"),
        sessions.begin() as s,
    ):
        s.delete(s.get(LogEntry, entry_id))
    with sessions() as s:
        assert s.get(LogEntry, entry_id) is not None


def test_complaint_numbers_are_yearly_and_shared_by_register_and_entry(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        first = register_complaint(s, _entry(s))
        again = register_complaint(s, first.entry)
        second = register_complaint(s, _entry(s))
        next_year = register_complaint(s, _entry(s), year=2027)
        assert again is first
        assert (first.number, second.number, next_year.number) == (
            "TS-2026-0001",
            "TS-2026-0002",
            "TS-2027-0001",
        )
        assert first.resident == "3栋2单元501 王"


def test_complaint_numbers_under_concurrent_registrations(sessions: sessionmaker[Session]) -> None:
    """Eight writers registering at once: no duplicate and no gap within the year."""
    with sessions.begin() as s:
        entry_ids = [_entry(s).id for _ in range(40)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def register(ids: list[int]) -> None:
        try:
            barrier.wait()
            for entry_id in ids:
                with sessions.begin() as s:
                    entry = s.get(LogEntry, entry_id)
                    assert entry is not None
                    register_complaint(s, entry)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(entry_ids[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    with sessions() as s:
        seqs = sorted(s.scalars(select(Complaint.seq).where(Complaint.year == 2026)))
    assert seqs == list(range(1, 41))


def test_a_rolled_back_registration_leaves_no_gap(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        ids = [_entry(s).id for _ in range(2)]
    with pytest.raises(RuntimeError), sessions.begin() as s:
        entry = s.get(LogEntry, ids[0])
        assert entry is not None
        register_complaint(s, entry)
        raise RuntimeError("the clerk's request failed half-way")
    with sessions.begin() as s:
        entry = s.get(LogEntry, ids[1])
        assert entry is not None
        assert register_complaint(s, entry).number == "TS-2026-0001"


def test_one_entry_per_call(sessions: sessionmaker[Session]) -> None:
    from sqlalchemy.exc import IntegrityError

    with sessions.begin() as s:
        call = Call(call_id="dup", direction=Direction.INBOUND, invite_at=T0)
        s.add(call)
        s.flush()
        new_entry(s, {"call_pk": call.id, "received_at": T0}, FieldSource.AUTO)
    with pytest.raises(IntegrityError), sessions.begin() as s:
        call_pk = s.scalars(select(Call.id)).one()
        new_entry(s, {"call_pk": call_pk, "received_at": T0}, FieldSource.AUTO)


def test_unreachable_database_is_one_clear_line() -> None:
    engine = db.make_engine("postgresql://hotline:secret@127.0.0.1:9/hotline")
    with pytest.raises(DatabaseUnreachable) as info:
        db.check_schema(engine)
    message = str(info.value)
    assert "cannot reach database postgresql+psycopg://hotline:***@127.0.0.1:9/hotline" in message
    assert "secret" not in message and "\n" not in message
