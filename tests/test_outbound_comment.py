"""The resident's spoken comment after a survey key (issue 22; seed 000 1.4.3.6: ask for
ideas for improvement), on the fake phone (ivr/phone_fake.py).

What the desk would notice: the comment is a recording of its own on the call (it plays
beside the call's), and the follow-up's notes carry it as a clerk writes one: its text
when a speech model is there, "recorded, to be transcribed" when none is, kept when the
resident hangs up while speaking.
"""

from __future__ import annotations

import threading
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.content import load_content
from hotline.settings import CONFIG_DIR, OutboundSettings, PathSettings, Settings, SipSettings
from ivr.call_media import tone
from ivr.flow_timers import ThreadScheduler
from ivr.outbound import Dialer
from ivr.phone_fake import FakeCall, FakePhone
from recorder.calls import DatabaseCallLog
from recorder.models import Call, FollowUp, Recording
from tests.test_outbound import MONDAY_10, URI, Clock, done_repair, run_once, short_prompt

SAID = "水管修得很好，师傅很耐心"
#: The resident's voice: 1.2 s of 440 Hz, after the key, the invitation and the beep.
VOICE = tone(1.2, hz=440.0)


def heard_voice(path: Path) -> str:
    """A stand-in for the speech engine (transcripts/engine.py reads the same WAV): the
    resident's words when the 440 Hz voice is in the file, nothing otherwise."""
    with wave.open(str(path)) as wav:
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    if samples.size < 800:
        return ""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    freqs = np.fft.rfftfreq(samples.size, 1 / 8000)
    voice = spectrum[(freqs > 430) & (freqs < 450)].sum()
    return SAID if voice > 0.2 * spectrum.sum() else ""


def make_desk(
    sessions: sessionmaker[Session], tmp_path: Path, transcribe: Callable[[Path], str | None] | None
) -> tuple[FakePhone, Dialer]:
    settings = Settings(
        paths=PathSettings(data_dir=tmp_path),
        sip=SipSettings(registrar="127.0.0.1:5060"),
        outbound=OutboundSettings(
            enabled=True, key_wait_s=0.2, ring_timeout_s=0.5, comment_silence_s=1.0
        ),
    )
    phone = FakePhone()
    dialer = Dialer(
        settings,
        sessions,
        DatabaseCallLog(sessions, data_dir=tmp_path),
        phone.call,
        short_prompt,
        load_content(settings, CONFIG_DIR),
        ThreadScheduler(),
        Clock(MONDAY_10),
        owner="agent-test",
        transcribe=transcribe,
    )
    with sessions.begin() as s:
        done_repair(s)
    return phone, dialer


@pytest.fixture
def dialers(sqlite_sessions: sessionmaker[Session], tmp_path: Path) -> Iterator[list[Dialer]]:
    made: list[Dialer] = []
    yield made
    for dialer in made:
        dialer.stop()


def resident_saying(phone: FakePhone, voice: bytes) -> FakeCall:
    """Presses 2 at once, then says `voice` once the beep is over, then is silent."""
    call = FakeCall("out-1", incoming=b"\x00" * 320 * 45 + voice)
    call.keys = "2"
    phone.prepared[URI] = call
    return call


def kept(sessions: sessionmaker[Session], tmp_path: Path) -> tuple[FollowUp, list[Recording]]:
    with sessions() as s:
        follow = s.scalars(select(FollowUp)).one()
        call_pk = s.scalars(select(Call.id)).one()
        recordings = list(s.scalars(select(Recording).order_by(Recording.id)))
    assert {r.call_pk for r in recordings} == {call_pk}
    return follow, recordings


def test_a_spoken_comment_is_recorded_transcribed_and_kept_on_the_follow_up(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path, dialers: list[Dialer]
) -> None:
    phone, dialer = make_desk(sqlite_sessions, tmp_path, heard_voice)
    dialers.append(dialer)
    resident_saying(phone, VOICE)
    run_once(dialer)
    follow, recordings = kept(sqlite_sessions, tmp_path)
    assert (follow.reached, follow.satisfied) == (True, False)
    assert follow.notes == f"电话回访（自动话务员）：不满意；住户意见：{SAID}"
    assert [r.channels for r in recordings] == ["caller", "comment"]
    comment = recordings[1]
    # The comment's recording holds the voice and little else: from the beep's end to
    # the pause that ended it (1 s here), with the margins.
    assert comment.duration_s is not None and 1.2 <= comment.duration_s <= 3.5
    assert heard_voice(tmp_path / comment.path) == SAID


def test_without_a_speech_model_the_comment_is_kept_as_a_recording_to_transcribe(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path, dialers: list[Dialer]
) -> None:
    phone, dialer = make_desk(sqlite_sessions, tmp_path, lambda _path: None)
    dialers.append(dialer)
    resident_saying(phone, VOICE)
    run_once(dialer)
    follow, recordings = kept(sqlite_sessions, tmp_path)
    assert follow.notes == "电话回访（自动话务员）：不满意；住户的语音意见已录音，待转写"
    assert [r.channels for r in recordings] == ["caller", "comment"]


def test_a_resident_who_hangs_up_while_speaking_keeps_the_answer_and_the_comment(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path, dialers: list[Dialer]
) -> None:
    phone, dialer = make_desk(sqlite_sessions, tmp_path, heard_voice)
    dialers.append(dialer)
    call = resident_saying(phone, VOICE + tone(5.0, hz=440.0))  # would go on 6 s

    def hang_up_while_speaking() -> None:
        call.ended = True

    hanging = threading.Timer(2.5, hang_up_while_speaking)  # a second into the comment
    hanging.start()
    run_once(dialer)
    hanging.join(5)
    follow, recordings = kept(sqlite_sessions, tmp_path)
    assert follow.notes == f"电话回访（自动话务员）：不满意；住户意见：{SAID}"
    with sqlite_sessions() as s:
        stored = s.scalars(select(Call)).one()
    assert (stored.ended_in, stored.hangup_cause) == ("comment", "caller BYE")
    assert [r.channels for r in recordings] == ["caller", "comment"]


def test_a_comment_with_nothing_said_leaves_no_recording_and_says_so(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path, dialers: list[Dialer]
) -> None:
    phone, dialer = make_desk(sqlite_sessions, tmp_path, heard_voice)
    dialers.append(dialer)
    resident_saying(phone, b"")  # silent after the beep: the pause ends it
    run_once(dialer)
    follow, recordings = kept(sqlite_sessions, tmp_path)
    assert follow.notes == "电话回访（自动话务员）：不满意；住户没有提出意见"
    assert [r.channels for r in recordings] == ["caller"]
