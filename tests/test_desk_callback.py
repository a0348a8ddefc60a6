"""回电 from the desk (issue 19; recorder/desk_callbacks.py, ivr/outbound_desk.py): the
agent rings the clerk's phone, says whom it calls, dials the resident and bridges them.
On the fake phone (ivr/phone_fake.py) with a clock seam, the queue on SQLite and
PostgreSQL, and the desk's button through Flask's test client.

What a clerk would notice, and what is kept: reached, the number's missed calls leave the
call-back list (done by that clerk, 已回电) and the call is in the log as any bridged call
(the clerk's phone as its leg, the clerk as who took it, the resident left and the clerk
right in its recording); the clerk's phone not answering or the resident busy: the entry
says so and stays on the list, the resident never rung when the clerk did not answer. A
refused request (no extension, not a waiting missed call, a call to that number on the
way) queues nothing and says why.
"""

from __future__ import annotations

import threading
import time
import wave
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.content import load_content
from hotline.settings import CONFIG_DIR, OutboundSettings, PathSettings, Settings, SipSettings
from ivr.flow_config import load_flow
from ivr.flow_events import (
    Answered,
    Bridge,
    Dial,
    FarEndAnswered,
    FarEndBusy,
    HangUp,
    HungUp,
    Play,
    PromptFinished,
    StartTimer,
)
from ivr.flow_runner import clerk_uri
from ivr.flow_timers import ThreadScheduler
from ivr.outbound import Dialer
from ivr.outbound_clerk import ClerkBridge
from ivr.outbound_desk import FAILED, INTRO, DeskCallBack
from ivr.phone_fake import FakeCall, FakePhone
from recorder import desk_callbacks
from recorder import outbound as tasks
from recorder.calls import DatabaseCallLog
from recorder.desk_callbacks import DeskCallBackRefused
from recorder.models import (
    AnsweredBy,
    AuditEvent,
    Call,
    CallLeg,
    Direction,
    Disposition,
    EntryRevision,
    EntryStatus,
    FieldSource,
    LegResult,
    LogEntry,
    Recording,
    Role,
    User,
)
from recorder.outbound_models import OutboundTask, TaskKind, TaskState
from recorder.reception_log import new_entry
from recorder.staff import add_user
from recorder.stored_paths import resolve
from tests.test_admin import Desk, build
from tests.test_outbound import MONDAY_10, NUMBER, URI, Clock, local

CLERK_URI = "sip:8002@127.0.0.1:5060"


def missed_call(
    sessions: sessionmaker[Session], at: datetime, n: int = 1, number: str | None = NUMBER
) -> int:
    """A call from `number` that rang out at `at`, with its entry waiting for a call-back."""
    with sessions.begin() as s:
        call = Call(
            call_id=f"missed-{n}",
            direction=Direction.INBOUND,
            caller_number=number,
            invite_at=at,
            disposition=Disposition.MISSED,
        )
        s.add(call)
        s.flush()
        values = {
            "call_pk": call.id,
            "received_at": at,
            "caller_number": number,
            "unit": "3栋2单元501",
            "surname": "王",
            "summary": "未接来电",
        }
        entry = new_entry(s, values, FieldSource.AUTO)
        s.flush()
        return entry.id


def clerk(sessions: sessionmaker[Session], extension: str | None = "8002") -> int:
    with sessions.begin() as s:
        user = add_user(
            s, "wangfang", "王芳", "1024", Role.CLERK, "pw-1024-long", extension=extension
        )
        s.flush()
        return user.id


# ------------------------------------------------------------------ the call, no I/O


def test_the_clerk_hears_whom_then_the_resident_is_dialled_and_bridged() -> None:
    machine = DeskCallBack(NUMBER, "回电：3栋2单元501 王", "您好", "未能接通", 30.0, 4.0)
    assert machine.handle(Answered()) == [Play(INTRO, "回电：3栋2单元501 王", barge_in=False)]
    dial, timer = machine.handle(PromptFinished(INTRO))
    # The ring time counts from the INVITE; the resident is reported answered after the
    # greeting: the timer allows for it.
    assert dial == Dial("resident", NUMBER, None, "您好", 30.0)
    assert timer == StartTimer("desk_ring", 34.0)
    actions = machine.handle(FarEndAnswered("resident"))
    assert Bridge("resident") in actions and machine.resident == "answered"
    assert machine.handle(HungUp("clerk"))[-1] == HangUp("resident BYE")  # the resident left
    assert machine.ended


def test_a_busy_resident_is_told_to_the_clerk_before_the_agent_hangs_up() -> None:
    machine = DeskCallBack(NUMBER, "回电", "您好", "未能接通住户", 30.0)
    machine.handle(Answered())
    machine.handle(PromptFinished(INTRO))
    assert machine.handle(FarEndBusy("resident"))[-1] == Play(FAILED, "未能接通住户")
    assert machine.handle(PromptFinished(FAILED))[-1] == HangUp("agent BYE")
    assert (machine.resident, machine.stage) == ("busy", "closing")


# ------------------------------------------------------------------ the agent, fake phone


def prompts_said(said: list[tuple[str, str]]) -> Callable[[str, str], bytes]:
    def prompt(name: str, text: str) -> bytes:
        said.append((name, text))
        return b"\x00" * 320 * 5  # 0.1 s

    return prompt


@pytest.fixture
def agent(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> Iterator[tuple[sessionmaker[Session], FakePhone, Dialer, list[tuple[str, str]], Clock]]:
    settings = Settings(
        paths=PathSettings(data_dir=tmp_path),
        sip=SipSettings(registrar="127.0.0.1:5060"),
        outbound=OutboundSettings(enabled=True, ring_timeout_s=0.5),
    )
    content = load_content(settings, CONFIG_DIR)
    flow = load_flow(settings, content)
    phone, said, clock = FakePhone(), [], Clock(local(7, 22))  # after the calling hours
    dialer = Dialer(
        settings,
        sqlite_sessions,
        DatabaseCallLog(sqlite_sessions, data_dir=tmp_path),
        phone.call,
        prompts_said(said),
        content,
        ThreadScheduler(),
        clock,
        owner="agent-test",
        clerks=ClerkBridge(flow.person, list, clerk_uri(settings.sip), phone.call, flow),
    )
    yield sqlite_sessions, phone, dialer, said, clock
    dialer.stop()


def queued(sessions: sessionmaker[Session], entry_id: int, user_id: int, at: datetime) -> int:
    with sessions.begin() as s:
        return desk_callbacks.request(s, entry_id, user_id, at, "Asia/Shanghai").id


def run_once(dialer: Dialer) -> None:
    threads = dialer.tick()
    assert threads, "the desk call-back was not taken"
    for thread in threads:
        thread.join(20)
        assert not thread.is_alive()


def test_reached_at_22h_the_numbers_missed_calls_leave_the_list_done_by_the_clerk(
    agent: tuple, tmp_path: Path
) -> None:
    sessions, phone, dialer, said, clock = agent
    first = missed_call(sessions, clock.at - timedelta(minutes=30), n=1)
    second = missed_call(sessions, clock.at - timedelta(minutes=10), n=2)
    clerk_id = clerk(sessions)
    with sessions.begin() as s:  # the agent's own call-back, waiting for its hours
        s.add(
            OutboundTask(
                kind=TaskKind.CALL_BACK,
                number=NUMBER,
                entry_id=first,
                not_before=clock.at,
                attempts_left=3,
                history=[],
            )
        )
    queued(sessions, second, clerk_id, clock.at)
    clerk_phone, resident = FakeCall("desk-1"), FakeCall("res-1")
    phone.prepared.update({CLERK_URI: clerk_phone, URI: resident})

    def talk_and_hang_up() -> None:
        """Once bridged, both talk for half a second (the clerk +16, the resident -16,
        a frame each 20 ms as RTP would bring them); then the resident hangs up."""
        deadline = time.monotonic() + 10
        while not resident.live and time.monotonic() < deadline:
            time.sleep(0.01)
        for _ in range(25):
            clerk_phone.incoming += b"\x10\x00" * 160
            resident.incoming += b"\xf0\xff" * 160
            time.sleep(0.02)
        resident.ended = True

    leaving = threading.Thread(target=talk_and_hang_up)
    leaving.start()
    run_once(dialer)  # 22:00: outside the calling hours, a clerk's own act all the same
    leaving.join(10)
    assert phone.dialled == [CLERK_URI, URI]  # the clerk's phone first
    assert (INTRO, "回电：3栋2单元501 王，正在接通，请稍候。") in said
    greeting = next(text for name, text in said if name == "whisper")
    assert "1024号话务员" in greeting  # 报号: the clerk's job number, to the resident
    with sessions() as s:
        task = s.scalars(select(OutboundTask).where(OutboundTask.clerk_user_id.is_not(None))).one()
        automatic = s.scalars(select(OutboundTask.state).where(OutboundTask.kind == "call_back"))
        assert automatic.all() == [TaskState.CANCELLED]  # the resident is not called again
        stored = s.scalars(select(Call).where(Call.call_id == "desk-1")).one()
        legs = s.scalars(select(CallLeg)).all()
        recording = s.scalars(select(Recording)).one()
        entries = {e.id: e for e in s.scalars(select(LogEntry))}
        reasons = s.scalars(
            select(EntryRevision.reason).where(EntryRevision.reason == "已回电")
        ).all()
        by = s.scalars(select(EntryRevision.user_id).where(EntryRevision.reason == "已回电")).all()
    assert (task.kind, task.state, task.result) == (
        TaskKind.DESK_CALL_BACK,
        TaskState.DONE,
        "reached",
    )
    assert [entries[e].status for e in (first, second)] == [EntryStatus.DONE] * 2
    assert (len(reasons), set(by)) == (2, {clerk_id})
    assert "回电（王芳）：已接通" in (entries[second].handling or "")
    assert (stored.direction, stored.called_number, stored.disposition) == (
        Direction.OUTBOUND,
        NUMBER,
        Disposition.ANSWERED,
    )
    assert (stored.answered_by, stored.answered_by_user_id) == (AnsweredBy.STAFF, clerk_id)
    assert (stored.ended_in, stored.hangup_cause) == ("bridge", "resident BYE")
    assert [(leg.extension, leg.user_id, leg.result) for leg in legs] == [
        ("8002", clerk_id, LegResult.ANSWERED)
    ]
    # The bridge recorded as any: the resident on the left, the clerk on the right.
    assert recording.channels == "caller,staff"
    with wave.open(str(resolve(tmp_path, recording.path))) as wav:
        both = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    talking = both[(both[:, 0] != 0) & (both[:, 1] != 0)]
    assert len(talking) > 0 and set(talking[:, 0]) == {-16} and set(talking[:, 1]) == {16}


def test_the_clerks_phone_not_answering_never_rings_the_resident(agent: tuple) -> None:
    sessions, phone, dialer, _said, clock = agent
    entry_id = missed_call(sessions, clock.at - timedelta(minutes=5))
    queued(sessions, entry_id, clerk(sessions), clock.at)
    clerk_phone = FakeCall("desk-1")
    clerk_phone.answered = False  # rings out (outbound.ring_timeout_s)
    phone.prepared[CLERK_URI] = clerk_phone
    run_once(dialer)
    assert phone.dialled == [CLERK_URI]
    with sessions() as s:
        task = s.scalars(select(OutboundTask)).one()
        stored = s.scalars(select(Call)).all()[-1]
        leg = s.scalars(select(CallLeg)).one()
        entry = s.get_one(LogEntry, entry_id)
    assert (task.state, task.last_attempt) == (TaskState.GAVE_UP, "clerk_no_answer")
    assert (stored.disposition, stored.ended_in) == (Disposition.FAILED, "clerk")
    assert leg.result is LegResult.NO_ANSWER
    assert entry.status is EntryStatus.RECEIVED  # still on the list
    assert "回电（王芳）：坐席分机未接听" in (entry.handling or "")


def test_a_busy_resident_is_written_on_the_entry_which_stays_listed(agent: tuple) -> None:
    sessions, phone, dialer, said, clock = agent
    entry_id = missed_call(sessions, clock.at - timedelta(minutes=5))
    queued(sessions, entry_id, clerk(sessions), clock.at)
    phone.prepared[CLERK_URI] = FakeCall("desk-1")
    resident = FakeCall("res-1")
    resident.answered, resident.ended, resident.final_status = False, True, 486
    phone.prepared[URI] = resident
    run_once(dialer)
    assert phone.dialled == [CLERK_URI, URI]
    assert any(name == FAILED for name, _ in said)  # the clerk was told
    with sessions() as s:
        task = s.scalars(select(OutboundTask)).one()
        stored = s.scalars(select(Call)).all()[-1]
        entry = s.get_one(LogEntry, entry_id)
    assert (task.state, task.last_attempt) == (TaskState.GAVE_UP, "busy")
    assert stored.disposition is Disposition.FAILED and "resident busy" in (
        stored.hangup_cause or ""
    )
    assert entry.status is EntryStatus.RECEIVED
    assert "回电（王芳）：住户占线" in (entry.handling or "")


# ------------------------------------------------------------------ the queue's rules


def test_requests_are_refused_with_a_reason_and_nothing_queued(
    sessions: sessionmaker[Session],
) -> None:
    now = MONDAY_10
    entry_id = missed_call(sessions, now - timedelta(minutes=5))
    withheld = missed_call(sessions, now - timedelta(minutes=4), n=2, number=None)
    no_phone = clerk(sessions, extension=None)
    with sessions.begin() as s, pytest.raises(DeskCallBackRefused, match="no extension"):
        desk_callbacks.request(s, entry_id, no_phone, now, "Asia/Shanghai")
    with sessions.begin() as s:
        s.get_one(User, no_phone).extension = "8002"
    with sessions.begin() as s, pytest.raises(DeskCallBackRefused, match="withheld"):
        desk_callbacks.request(s, withheld, no_phone, now, "Asia/Shanghai")
    queued(sessions, entry_id, no_phone, now)
    # Never two calls to one number at once: a second request waits for the first.
    with sessions.begin() as s, pytest.raises(DeskCallBackRefused, match="on the way"):
        desk_callbacks.request(s, entry_id, no_phone, now, "Asia/Shanghai")
    with sessions() as s:
        assert s.scalars(select(OutboundTask.kind)).all() == [TaskKind.DESK_CALL_BACK]


def test_outside_the_hours_only_the_clerks_own_call_back_is_taken(
    sessions: sessionmaker[Session],
) -> None:
    late = local(7, 22)
    settings = OutboundSettings(hours="09:00-20:00")
    hours = settings.plan("Asia/Shanghai").hours
    entry_id = missed_call(sessions, late - timedelta(minutes=5))
    other = missed_call(sessions, late - timedelta(minutes=5), n=2, number="13900139000")
    clerk_id = clerk(sessions)
    with sessions.begin() as s:  # the agent's own call-back of another missed call
        s.add(
            OutboundTask(
                kind=TaskKind.CALL_BACK,
                number="13900139000",
                entry_id=other,
                not_before=late - timedelta(minutes=1),
                attempts_left=3,
                history=[],
            )
        )
    queued(sessions, entry_id, clerk_id, late)
    with sessions.begin() as s:
        taken = tasks.claim(s, late, "agent-a", hours)
        assert taken is not None and taken.kind is TaskKind.DESK_CALL_BACK
        assert tasks.claim(s, late, "agent-a", hours) is None  # the automatic one waits


def test_a_request_no_agent_takes_is_given_up_and_the_entry_says_so(
    sessions: sessionmaker[Session],
) -> None:
    entry_id = missed_call(sessions, MONDAY_10 - timedelta(minutes=5))
    queued(sessions, entry_id, clerk(sessions), MONDAY_10)
    with sessions.begin() as s:
        assert desk_callbacks.expired(s, MONDAY_10 + timedelta(minutes=6), "Asia/Shanghai") == 1
    with sessions() as s:
        task = s.scalars(select(OutboundTask)).one()
        entry = s.get_one(LogEntry, entry_id)
    assert (task.state, task.last_attempt) == (TaskState.GAVE_UP, "expired")
    assert "未能呼出" in (entry.handling or "") and entry.status is EntryStatus.RECEIVED


# ------------------------------------------------------------------ the desk


@pytest.fixture(name="web")
def web_fixture(tmp_path: Path) -> Iterator[Desk]:
    yield from build(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}")


def test_the_desks_button_queues_a_call_back_for_the_logged_in_clerk(web: Desk) -> None:
    web.login("clerk")
    entry_id = web.seeded.missed_entry
    page = web.client.get("/live/").text
    assert 'class="call-back"' in page  # 回电 beside 已回电 on the missed call's row
    # No extension yet: refused, said, nothing queued.
    assert web.post("/live/call-back", {"entry": str(entry_id), "back": "live"}, "/live/") == 302
    assert "未能回电" in web.client.get("/live/").text
    with web.app.sessions.begin() as s:
        assert s.scalars(select(OutboundTask)).all() == []
        s.get_one(User, web.seeded.clerk).extension = "8002"
    # From the entry page: queued for this clerk, audited, and the page says it waits.
    page = f"/entries/{entry_id}"
    assert 'class="call-back"' in web.client.get(page).text
    assert web.post("/live/call-back", {"entry": str(entry_id), "back": "entry"}, page) == 302
    shown = web.client.get(page).text
    assert "8002" in shown and 'data-state="due"' in shown  # 回电已排队：先响您的分机（8002）
    with web.app.sessions() as s:
        task = s.scalars(select(OutboundTask)).one()
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "desk_call_back")).one()
    assert (task.kind, task.clerk_user_id, task.entry_id) == (
        TaskKind.DESK_CALL_BACK,
        web.seeded.clerk,
        entry_id,
    )
    assert (audit.user_id, audit.target) == (web.seeded.clerk, f"entry:{entry_id}")
    # An entry that is not a waiting missed call has no button, and a forged POST is refused.
    assert 'class="call-back"' not in web.client.get(f"/entries/{web.seeded.entry}").text
    assert web.post("/live/call-back", {"entry": str(web.seeded.entry)}, "/live/") == 302
    with web.app.sessions() as s:
        assert len(s.scalars(select(OutboundTask)).all()) == 1
