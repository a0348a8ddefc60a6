"""Automatic call-backs of missed calls (issue 22; seed 001 篇2 3.1.4-3.1.5), on the fake
phone (ivr/phone_fake.py) with a clock seam.

What the desk and the resident would notice: with outbound.call_back on, a missed call
is called back within the configured minutes, once per number however often it rang; the
agent says it is returning the call and offers the usual menu (a message left on it is
a new entry with the resident's number); each attempt is written on the missed entry,
and the entries leave the call-back list once the resident answered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from admin.queries import needs_callback
from hotline.content import load_content
from hotline.settings import CONFIG_DIR, OutboundSettings, PathSettings, Settings, SipSettings
from ivr.flow_config import load_flow
from ivr.flow_runner import clerk_uri
from ivr.flow_timers import ThreadScheduler
from ivr.outbound import Dialer
from ivr.outbound_clerk import ClerkBridge
from ivr.phone_fake import FakeCall, FakePhone
from recorder.calls import DatabaseCallLog
from recorder.models import Call, Direction, Disposition, EntryStatus, FieldSource, LogEntry
from recorder.outbound_models import OutboundTask, TaskKind, TaskState
from recorder.reception_log import new_entry
from tests.test_outbound import MONDAY_10, NUMBER, URI, Clock, run_once, short_prompt
from transcripts.pipeline import Pipeline

Desk = tuple[sessionmaker[Session], FakePhone, Dialer, Settings]


@pytest.fixture
def desk(sqlite_sessions: sessionmaker[Session], tmp_path: Path) -> Iterator[Desk]:
    settings = Settings(
        paths=PathSettings(data_dir=tmp_path),
        sip=SipSettings(registrar="127.0.0.1:5060"),
        outbound=OutboundSettings(
            enabled=True, ring_timeout_s=0.5, call_back=True, call_back_within_minutes=30
        ),
    )
    content = load_content(settings, CONFIG_DIR)
    flow = load_flow(settings, content)
    phone = FakePhone()
    dialer = Dialer(
        settings,
        sqlite_sessions,
        DatabaseCallLog(sqlite_sessions, data_dir=tmp_path),
        phone.call,
        short_prompt,
        content,
        ThreadScheduler(),
        Clock(MONDAY_10),
        owner="agent-test",
        clerks=ClerkBridge(flow.person, list, clerk_uri(settings.sip), phone.call, flow),
    )
    yield sqlite_sessions, phone, dialer, settings
    dialer.stop()


def missed(
    sessions: sessionmaker[Session],
    tmp_path: Path,
    minutes_ago: int,
    n: int = 1,
    number: str = NUMBER,
) -> int:
    """A call from `number` that rang out `minutes_ago`, with its call-back entry."""
    log = DatabaseCallLog(sessions, data_dir=tmp_path)
    at = MONDAY_10 - timedelta(minutes=minutes_ago)
    cid = f"missed-{n}"
    log.call_started(cid, number, "agent", at)
    log.call_ended(cid, at + timedelta(seconds=20), Disposition.MISSED, "CANCEL", "ringing")
    with sessions.begin() as s:
        call = s.scalars(select(Call).where(Call.call_id == cid)).one()
        values = {
            "call_pk": call.id,
            "received_at": at,
            "caller_number": number,
            "summary": "未接来电，请回电",
        }
        entry = new_entry(s, values, FieldSource.AUTO)
        s.flush()
        return entry.id


def entry_of(sessions: sessionmaker[Session], entry_id: int) -> tuple[LogEntry, bool]:
    with sessions() as s:
        entry = s.get_one(LogEntry, entry_id)
        _ = entry.call  # loaded for needs_callback
        return entry, needs_callback(entry)


def test_a_missed_call_is_called_back_offered_the_menu_and_leaves_the_list(
    desk: Desk, tmp_path: Path
) -> None:
    sessions, phone, dialer, settings = desk
    entry_id = missed(sessions, tmp_path, minutes_ago=5)
    resident = FakeCall("back-1")
    phone.prepared[URI] = resident

    def presses() -> None:
        """On the call's own clock (20 ms sent per tick): 1 once the greeting and the menu
        have played (0.1 s each here), # a while after the message's beep."""
        for at_s, key in ((0.4, "1"), (2.0, "#")):
            deadline = time.monotonic() + 20
            while len(resident.sent) < at_s * 16000 and time.monotonic() < deadline:
                time.sleep(0.01)
            resident.keys += key

    pressing = threading.Thread(target=presses)
    pressing.start()
    run_once(dialer)
    pressing.join(5)
    assert phone.dialled == [URI]
    entry, listed = entry_of(sessions, entry_id)
    assert (entry.status, listed) == (EntryStatus.DONE, False)
    assert entry.handling is not None and "自动回电：已接通" in entry.handling
    with sessions() as s:
        task = s.scalars(select(OutboundTask)).one()
        back = s.scalars(select(Call).where(Call.call_id == "back-1")).one()
    assert (task.kind, task.state, task.result) == (TaskKind.CALL_BACK, TaskState.DONE, "reached")
    assert (back.direction, back.called_number, back.menu_category) == (
        Direction.OUTBOUND,
        NUMBER,
        "repair",
    )
    # The repair message left on the call-back is an entry of its own, the resident's.
    pipeline = Pipeline(
        sessions, load_content(settings, CONFIG_DIR), settings, load_engine=lambda: None
    )
    made = pipeline.process_call("back-1").entry_id
    assert made is not None and made != entry_id
    with sessions() as s:
        new = s.get_one(LogEntry, made)
        assert (new.caller_number, new.category) == (NUMBER, "repair")


def test_a_call_back_not_answered_is_written_on_the_entry_which_stays_listed(
    desk: Desk, tmp_path: Path
) -> None:
    sessions, phone, dialer, _settings = desk
    entry_id = missed(sessions, tmp_path, minutes_ago=5)
    resident = FakeCall("back-1")
    resident.answered = False  # rings out
    phone.prepared[URI] = resident
    run_once(dialer)
    entry, listed = entry_of(sessions, entry_id)
    assert (entry.status, listed) == (EntryStatus.RECEIVED, True)
    assert entry.handling is not None and "自动回电：无人接听" in entry.handling
    with sessions() as s:
        task = s.scalars(select(OutboundTask)).one()
    # The next attempt (60 minutes on) would be past the 30 minutes: the agent gives up
    # and the missed call waits on the list for a clerk.
    assert (task.state, task.attempts_left, task.last_attempt) == (
        TaskState.GAVE_UP,
        2,
        "no_answer",
    )


def test_one_call_back_per_number_settles_all_its_missed_calls_none_past_the_minutes(
    desk: Desk, tmp_path: Path
) -> None:
    sessions, phone, dialer, _settings = desk
    first = missed(sessions, tmp_path, minutes_ago=10, n=1)
    second = missed(sessions, tmp_path, minutes_ago=3, n=2)
    # Another number's, past the 30 minutes: no call-back; a clerk's.
    old = missed(sessions, tmp_path, minutes_ago=45, n=3, number="13900139000")
    phone.prepared[URI] = FakeCall("back-1")  # answers, hangs up at once
    phone.prepared[URI].ended = False
    threads = dialer.tick()
    phone.prepared[URI].ended = True  # the resident hangs up after answering
    for thread in threads:
        thread.join(20)
    assert phone.dialled == [URI]  # one call for the number
    with sessions() as s:
        kinds = s.scalars(select(OutboundTask.entry_id)).all()
    assert kinds == [first]
    # Reaching the resident settles both their missed calls.
    assert [entry_of(sessions, e)[0].status for e in (first, second)] == [EntryStatus.DONE] * 2
    assert entry_of(sessions, old)[1], "the old missed call stays for a clerk"
