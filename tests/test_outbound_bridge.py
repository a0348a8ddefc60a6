"""Key 0 on a call the agent placed (issue 22): the resident is put through to the duty
clerk as the inbound flow's 0 does (docs/bridge.md), on the fake phone (ivr/phone_fake.py).

What the resident and the desk would notice: the transfer prompt, the clerk's phone
rung and whispered to, the two joined and recorded in two channels; the clerk's ring
kept as the call's leg and the clerk as who took the call, and the desk NOT asked to call
the resident again (the clerk spoke with them); nobody answering ends in the "a clerk will
call you" closing, with each clerk's ring kept and the desk asked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.content import load_content
from hotline.settings import CONFIG_DIR, OutboundSettings, PathSettings, Settings, SipSettings
from ivr.flow_config import load_flow
from ivr.flow_runner import clerk_uri, roster_clerks
from ivr.flow_timers import ThreadScheduler
from ivr.outbound import Dialer
from ivr.outbound_clerk import ClerkBridge
from ivr.phone_fake import FakeCall, FakePhone
from recorder import outbound as tasks
from recorder.calls import DatabaseCallLog
from recorder.models import AnsweredBy, AuditEvent, Call, CallLeg, LegResult, Recording, Role
from recorder.outbound_models import OutboundTask
from recorder.staff import add_user, duty_roster
from tests.test_outbound import MONDAY_10, URI, Clock, done_repair, run_once

CLERK_URI = "sip:8002@127.0.0.1:5060"


@pytest.fixture
def desk(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> Iterator[tuple[sessionmaker[Session], FakePhone, Dialer, list[str]]]:
    settings = Settings(
        paths=PathSettings(data_dir=tmp_path),
        sip=SipSettings(registrar="127.0.0.1:5060"),
        outbound=OutboundSettings(enabled=True, key_wait_s=0.2, ring_timeout_s=0.5),
    )
    content = load_content(settings, CONFIG_DIR)
    person = load_flow(settings, content).person.model_copy(update={"ring_timeout_s": 1.0})

    def roster() -> list:
        with sqlite_sessions() as s:
            return roster_clerks(duty_roster(s))

    said: list[str] = []

    def prompt(name: str, text: str) -> bytes:
        said.append(f"{name}: {text}")
        return b"\x00" * 320 * 5  # 0.1 s: the call's path, not the voice, is under test

    phone, timers = FakePhone(), ThreadScheduler()
    dialer = Dialer(
        settings,
        sqlite_sessions,
        DatabaseCallLog(sqlite_sessions, data_dir=tmp_path),
        phone.call,
        prompt,
        content,
        timers,
        Clock(MONDAY_10),
        owner="agent-test",
        clerks=ClerkBridge(person, roster, clerk_uri(settings.sip), phone.call),
    )
    with sqlite_sessions.begin() as s:
        done_repair(s)
        add_user(s, "wangfang", "王芳", "1024", Role.CLERK, "pw-1024-long", extension="8002")
    yield sqlite_sessions, phone, dialer, said
    dialer.stop()


def _resident(phone: FakePhone) -> FakeCall:
    call = FakeCall("out-1")
    call.keys = "0"
    phone.prepared[URI] = call
    return call


def test_key_0_bridges_the_resident_to_the_duty_clerk_recorded_in_two_channels(
    desk: tuple,
) -> None:
    sessions, phone, dialer, said = desk
    resident = _resident(phone)
    clerk = FakeCall("clerk-1")
    phone.prepared[CLERK_URI] = clerk

    def clerk_hangs_up_once_bridged() -> None:
        deadline = time.monotonic() + 10
        while not clerk.live and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # they talk a moment
        clerk.ended = True

    hanging = threading.Thread(target=clerk_hangs_up_once_bridged)
    hanging.start()
    run_once(dialer)
    hanging.join(10)
    assert phone.dialled == [URI, CLERK_URI]
    assert clerk.live and resident.live, "the two were joined"
    assert any(line.startswith("whisper: 来电：回访报修，3号楼1201") for line in said), said
    assert any(line.startswith("transfer: 请稍等") for line in said)
    with sessions() as s:
        stored = s.scalars(select(Call)).one()
        legs = list(s.scalars(select(CallLeg)))
        recordings = [r.channels for r in s.scalars(select(Recording).order_by(Recording.id))]
        clerk_id = s.scalars(select(CallLeg.user_id)).one()
        task = s.scalars(select(OutboundTask)).one()
        asked = s.scalars(select(AuditEvent.action)).all()
    assert [(leg.extension, leg.result) for leg in legs] == [("8002", LegResult.ANSWERED)]
    assert (stored.answered_by, stored.answered_by_user_id) == (AnsweredBy.STAFF, clerk_id)
    assert recordings == ["caller", "caller,staff"]
    assert task.result == "clerk"
    assert task.history[-1]["put_through"] is True
    assert tasks.CLERK_ASKED not in asked, "a resident the clerk spoke with is not queued again"


def test_key_0_with_no_clerk_answering_says_a_clerk_will_call_and_asks_the_desk(
    desk: tuple,
) -> None:
    sessions, phone, dialer, said = desk
    _resident(phone)
    clerk = FakeCall("clerk-1")
    clerk.answered = False  # rings on past the transfer's ring time
    phone.prepared[CLERK_URI] = clerk
    run_once(dialer)
    assert clerk.ended, "the clerk's phone stopped ringing"
    assert any(line.startswith("closing.survey_clerk: ") for line in said), said
    with sessions() as s:
        legs = list(s.scalars(select(CallLeg)))
        stored = s.scalars(select(Call)).one()
        asked = s.scalars(select(AuditEvent.action)).all()
    assert [(leg.extension, leg.result) for leg in legs] == [("8002", LegResult.NO_ANSWER)]
    assert stored.answered_by is AnsweredBy.AGENT
    assert asked == [tasks.CLERK_ASKED]
    with sessions() as s:
        task = s.scalars(select(OutboundTask)).one()
    assert "put_through" not in task.history[-1]
