"""The reply letter's confirmation call (客户回函作业指导书 3.6: 信件在发出3天后与客户电话联系确认,
issue 22) on the fake phone: due three days after mailing, the complainant's key lands on
the letter. Kept: the letter's confirmation (1) as a clerk's, the note that it did not
arrive (2) with the desk told, the task's attempts, the outbound call in the call log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.content import load_content
from hotline.settings import CONFIG_DIR, OutboundSettings, PathSettings, Settings, SipSettings
from ivr.flow_timers import ThreadScheduler
from ivr.outbound import Dialer
from ivr.phone_fake import FakePhone
from recorder import letters
from recorder import outbound_letters as confirmations
from recorder.calls import DatabaseCallLog
from recorder.models import AuditEvent, Call, Direction, FieldSource, ReplyLetter, Role
from recorder.outbound_models import LetterResult, OutboundTask, TaskKind, TaskState
from recorder.reception_log import new_entry, register_complaint
from recorder.staff import add_user
from tests.test_outbound import MONDAY_10, NUMBER, URI, Clock, resident, run_once, short_prompt

MAILED = MONDAY_10 - timedelta(days=3)


def mailed_letter(s: Session) -> int:
    """A complaint's reply letter, reviewed, approved and mailed three days ago."""
    clerk = add_user(s, "lisi", "李四", "1023", Role.CLERK, "pw-1023-long")
    s.flush()
    entry = new_entry(
        s,
        {
            "received_at": MAILED - timedelta(days=2),
            "caller_number": NUMBER,
            "category": "complaint",
            "summary": "楼道卫生差",
        },
        FieldSource.AUTO,
    )
    s.flush()
    complaint = register_complaint(s, entry)
    letter = letters.draft(s, complaint, "关于楼道卫生的回复", "……", clerk.id, MAILED)
    for step in letters.required_steps(letter):
        letters.review(s, letter, step, "王经理", True, "", clerk.id, MAILED)
    letters.approve(s, letter, "营销部经理", clerk.id, MAILED)
    letters.mail(s, letter, MAILED, "XA123456789CN", clerk.id)
    return letter.id


@pytest.fixture
def desk(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> Iterator[tuple[sessionmaker[Session], FakePhone, Dialer, int]]:
    settings = Settings(
        paths=PathSettings(data_dir=tmp_path),
        sip=SipSettings(registrar="127.0.0.1:5060"),
        outbound=OutboundSettings(enabled=True, key_wait_s=0.2, ring_timeout_s=0.5),
    )
    phone, timers = FakePhone(), ThreadScheduler()
    dialer = Dialer(
        settings,
        sqlite_sessions,
        DatabaseCallLog(sqlite_sessions, data_dir=tmp_path),
        phone.call,
        short_prompt,
        load_content(settings, CONFIG_DIR),
        timers,
        Clock(MONDAY_10),
        owner="agent-test",
    )
    with sqlite_sessions.begin() as s:
        letter_id = mailed_letter(s)
    yield sqlite_sessions, phone, dialer, letter_id
    dialer.stop()  # joins the calls, then the timers' thread


def test_key_1_confirms_the_letter_as_a_clerks_confirmation(desk: tuple) -> None:
    sessions, phone, dialer, letter_id = desk
    resident(phone, keys="1")
    run_once(dialer)
    assert phone.dialled == [URI]
    with sessions() as s:
        letter = s.get_one(ReplyLetter, letter_id)
        task = s.scalars(select(OutboundTask)).one()
        stored = s.scalars(select(Call)).one()
    assert (letter.confirmed_at, letter.confirmed_by) == (MONDAY_10, None)
    assert letter.confirm_note == confirmations.RECEIVED_NOTE
    assert (task.kind, task.state, task.result) == (
        TaskKind.LETTER_CONFIRMATION,
        TaskState.DONE,
        "received",
    )
    assert stored.direction is Direction.OUTBOUND
    with sessions() as s:  # the desk's list of confirmations to make is empty now
        assert letters.confirmations_due(s) == []


def test_key_2_notes_the_letter_missing_and_leaves_it_to_the_desk(desk: tuple) -> None:
    sessions, phone, dialer, letter_id = desk
    resident(phone, keys="2")
    run_once(dialer)
    with sessions() as s:
        letter = s.get_one(ReplyLetter, letter_id)
        audit = s.scalars(select(AuditEvent.action)).all()
        due = [due.id for due in letters.confirmations_due(s)]
    assert (letter.confirmed_at, letter.confirm_note) == (None, confirmations.NOT_RECEIVED_NOTE)
    assert audit == [confirmations.LETTER_NOT_RECEIVED]
    assert due == [letter_id]  # still the desk's to settle (send it again)


def test_a_letter_is_not_called_before_its_confirmation_is_due(
    sqlite_sessions: sessionmaker[Session],
) -> None:
    with sqlite_sessions.begin() as s:
        mailed_letter(s)
        plan = OutboundSettings().plan("Asia/Shanghai")
        assert confirmations.create_confirmations(s, MAILED + timedelta(days=2), plan) == []
        made = confirmations.create_confirmations(s, MONDAY_10, plan)
        assert [task.number for task in made] == [NUMBER]


def test_key_0_asks_the_desk_to_call_unless_a_clerk_took_the_call(desk: tuple) -> None:
    """Without a clerk on the line the desk is asked to call the complainant; a call put
    through to a clerk who answered is not queued again (the clerk spoke with them). The
    letter stays unconfirmed either way: only the complainant's 1 or a clerk confirms."""
    sessions, phone, dialer, letter_id = desk
    resident(phone, keys="0")
    run_once(dialer)  # no duty clerks to put through to
    with sessions() as s:
        asked = s.scalars(select(AuditEvent.action)).all()
        task = s.scalars(select(OutboundTask)).one()
    assert asked == [confirmations.LETTER_CLERK_ASKED]
    assert task.result == "clerk"
    with sessions.begin() as s:  # the same answer, a clerk having taken the call
        held = s.get_one(OutboundTask, task.id)
        held.state = TaskState.CALLING
        confirmations.letter_answered(s, held, LetterResult.CLERK, "out-2", MONDAY_10, True)
    with sessions() as s:
        asked = s.scalars(select(AuditEvent.action)).all()
        task = s.get_one(OutboundTask, task.id)
        letter = s.get_one(ReplyLetter, letter_id)
    assert asked == [confirmations.LETTER_CLERK_ASKED], "no second request for the desk"
    assert task.history[-1]["put_through"] is True
    assert letter.confirmed_at is None
