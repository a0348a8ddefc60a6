"""The agent on the fake phone shipped beside ivr.phone's protocols: a call rung in
is answered, greeted, recorded and logged, with no socket (the same call over real SIP
is tests/sip/test_agent_calls.py)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.settings import Settings
from ivr.agent import Agent
from ivr.agent_setup import Script
from ivr.call_media import tone
from ivr.phone_fake import FakeCall, FakePhone
from recorder.calls import DatabaseCallLog
from recorder.models import AnsweredBy, Call, Disposition, Recording, RecordingState


def test_a_call_on_the_fake_phone_is_answered_recorded_and_logged(
    tmp_path: Path, sqlite_sessions: sessionmaker[Session]
) -> None:
    settings = Settings.model_validate(
        {
            "paths": {"data_dir": tmp_path / "var"},
            "ringing": {"answer_after_rings": 0},
            "agent": {"mode": "message", "record_seconds": 0.6},
        }
    )
    greeting, closing = tone(0.2, hz=1000), tone(0.2, hz=600)
    agent = Agent(settings, Script(greeting, closing), DatabaseCallLog(sqlite_sessions))
    said = (np.random.default_rng(3).standard_normal(8000) * 6000).astype("<i2").tobytes()
    call = FakeCall("fake-1", incoming=said)

    FakePhone(agent.on_call).ring(call)

    # The caller heard the greeting first and the closing last; then the agent hung up.
    assert bytes(call.sent).startswith(greeting)
    assert closing in bytes(call.sent) and call.hung_up
    with sqlite_sessions() as session:
        logged = session.scalars(select(Call).where(Call.call_id == "fake-1")).one()
        (recording,) = session.scalars(select(Recording)).all()
    assert logged.disposition is Disposition.ANSWERED
    assert logged.answered_by is AnsweredBy.AGENT and logged.codec == "PCMU"
    assert logged.caller_number == "13800138000"
    # What the caller said is in the recording the clerk will play.
    assert recording.state is RecordingState.COMPLETE
    with wave.open(str(settings.paths.data_dir / recording.path)) as wav:
        recorded = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert np.abs(recorded).max() > 3000


def test_a_ring_group_cancel_naming_the_clerk_leaves_a_call_answered_by_them(
    tmp_path: Path, sqlite_sessions: sessionmaker[Session]
) -> None:
    """The PBX CANCELs the agent's leg while it rings, saying another phone answered and
    who (a header the site named, ivr/cancel_reason.answerer): the call is answered by
    that clerk (their extension), never missed; a CANCEL naming nobody: "a colleague"."""
    from ivr.cancel_reason import header_fields, reason_headers
    from recorder import staff
    from recorder.models import Role
    from recorder.service_level import answered_elsewhere_by
    from tests.test_cancel_reason import FREESWITCH_CANCEL, KAMAILIO_CANCEL

    with sqlite_sessions.begin() as session:
        user = staff.add_user(
            session, "zhang", "张三", "0802", Role.CLERK, "x" * 12, extension="8002"
        )
        session.flush()
        clerk = user.id
    settings = Settings.model_validate(
        {"paths": {"data_dir": tmp_path / "var"}, "ringing": {"answer_after_rings": 1}}
    )
    agent = Agent(settings, Script(b"", b""), DatabaseCallLog(sqlite_sessions))
    for name, raw in (("named", FREESWITCH_CANCEL), ("nobody", KAMAILIO_CANCEL)):
        call = FakeCall(name)
        call.ended = True  # cancelled while it rang
        call.cancel_reasons, call.cancel_headers = reason_headers(raw), header_fields(raw)
        FakePhone(agent.on_call).ring(call)
    with sqlite_sessions() as session:
        calls = {c.call_id: c for c in session.scalars(select(Call))}
        named, nobody = calls["named"], calls["nobody"]
        assert named.disposition is Disposition.ANSWERED and named.answered_elsewhere
        assert named.answered_by is AnsweredBy.STAFF and named.answered_by_user_id == clerk
        assert named.answered_elsewhere_by == "张三 (8002)"
        assert nobody.disposition is Disposition.ANSWERED and nobody.answered_elsewhere
        assert (nobody.answered_by_user_id, nobody.answered_elsewhere_by) == (None, None)
        # What the dashboard lists: the clerk by their name, the other as a colleague.
        day = (named.invite_at.replace(hour=0), named.invite_at.replace(hour=23, minute=59))
        assert sorted(answered_elsewhere_by(session, *day), key=str) == [("张三", 1), (None, 1)]
