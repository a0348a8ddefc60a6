"""The greeting audit of a bridged call carries the second of each finding (issue 9).

A supervisor's "play at the finding" link is /entries/<id>?t=<at_s>; if the
pipeline checks the staff channel without its word timings, at_s is null and
playback starts at 0 s. These tests keep the time of the forbidden phrase as
Vosk timed it, on SQLite and PostgreSQL, whether the pipeline transcribes the
call itself (a fake engine) or finds the staff transcript stored already.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.content import load_content
from hotline.settings import Settings
from recorder.calls import DatabaseCallLog
from recorder.models import AnsweredBy, Call, ComplianceResult, Disposition, Role, Transcript
from recorder.staff import add_user
from recorder.supervision import flagged_calls
from recorder.wav import WavWriter
from transcripts.engine import TranscriptResult
from transcripts.pipeline import Pipeline

T0 = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
#: The clerk's side as Vosk times it: 我不知道 (the family 不知道, pronoun included) starts at 3.0 s.
STAFF_WORDS = [
    ("您好", 0.40),
    ("幸福家园", 0.80),
    ("物业", 1.45),
    ("工号", 1.80),
    ("一", 2.10),
    ("零", 2.30),
    ("二", 2.50),
    ("三", 2.70),
    ("我", 3.00),
    ("不", 3.20),
    ("知道", 3.35),
    ("请问", 4.60),
    ("有", 4.90),
    ("什么", 5.05),
    ("可以", 5.30),
    ("帮", 5.55),
    ("您", 5.70),
    ("再见", 9.50),
]
CALLER_TEXT = "我 家 水管 漏水 了"


def _words(timed: list[tuple[str, float]]) -> list[dict[str, Any]]:
    return [{"word": w, "start": s, "end": s + 0.25, "conf": 0.93} for w, s in timed]


def _result(channel: str, text: str, words: list[dict[str, Any]]) -> TranscriptResult:
    return TranscriptResult(text, words, "vosk", "fake", "zh", channel, 10.0)


class FakeStereoEngine:
    """Stands in for Vosk: a two-channel file gives the caller's and the clerk's words."""

    def __init__(self) -> None:
        self.files: list[str] = []

    def transcribe_file(self, path: str) -> dict[str, TranscriptResult]:
        self.files.append(path)
        staff = " ".join(w for w, _ in STAFF_WORDS)
        return {
            "caller": _result("caller", CALLER_TEXT, _words([("我", 0.2)])),
            "staff": _result("staff", staff, _words(STAFF_WORDS)),
        }


def bridged_call(sessions: sessionmaker[Session], tmp_path: Path) -> int:
    """The agent answers, a clerk takes the call over; a stereo recording (caller | staff)."""
    with sessions.begin() as s:
        clerk = add_user(s, "wangfang", "王芳", "1023", Role.CLERK, "correct horse battery")
        clerk_id = clerk.id
    log = DatabaseCallLog(sessions)
    log.call_started("b1", "13800138000", "8001", T0)
    log.call_answered("b1", T0 + timedelta(seconds=6), 2, AnsweredBy.AGENT)
    log.staff_joined("b1", clerk_id, T0 + timedelta(seconds=12))
    path = tmp_path / "b1.wav"
    log.recording_started("b1", path, "caller+staff", 8000, T0 + timedelta(seconds=12))
    with WavWriter(path, channels=2) as writer:
        writer.write(np.zeros(2 * 8000 * 10, dtype="<i2").tobytes())
    log.recording_closed("b1", writer.close(), T0 + timedelta(seconds=22))
    log.call_ended("b1", T0 + timedelta(seconds=22), Disposition.ANSWERED, "caller BYE", "bridge")
    return clerk_id


def pipeline(sessions: sessionmaker[Session], engine: object) -> Pipeline:
    return Pipeline(
        sessions,
        load_content(Settings()),
        Settings(),
        load_engine=lambda: engine,
        clock=lambda: T0 + timedelta(minutes=10),
    )


def forbidden_at(sessions: sessionmaker[Session], clerk_id: int) -> list[float | None]:
    with sessions() as s:
        result = s.scalars(select(ComplianceResult)).one()
        assert (result.answered_by, result.user_id, result.passed) == ("staff", clerk_id, False)
        assert result.forbidden == ["不知道"]
        # What the dashboard lists: the flagged call and its finding's second.
        (flagged,) = flagged_calls(s, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
        assert flagged.id == result.id
        return [f["at_s"] for f in result.findings if f["check"] == "forbidden"]


def test_the_staff_channel_transcribed_by_the_pipeline_times_the_finding(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    clerk_id = bridged_call(sessions, tmp_path)
    engine = FakeStereoEngine()
    pipeline(sessions, engine).process_call("b1")
    assert engine.files == [str(tmp_path / "b1.wav")]
    (at,) = forbidden_at(sessions, clerk_id)
    assert at == pytest.approx(3.0, abs=0.1)
    with sessions() as s:
        findings = {
            f["check"]: f["at_s"] for f in s.scalars(select(ComplianceResult)).one().findings
        }
    assert findings["greeting"] == pytest.approx(0.4) and findings["closing"] == pytest.approx(9.5)


def test_a_stored_staff_transcript_times_the_finding(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Transcribed live during the call: the rows exist and the engine is never asked."""
    clerk_id = bridged_call(sessions, tmp_path)
    staff = " ".join(w for w, _ in STAFF_WORDS)
    with sessions.begin() as s:
        call_pk = s.scalars(select(Call.id)).one()
        s.add_all(
            [
                Transcript(
                    call_pk=call_pk,
                    engine="vosk",
                    model="fake",
                    language="zh",
                    channel="caller",
                    text="我家水管漏水了",
                    raw_text=CALLER_TEXT,
                    words=_words([("我", 0.2)]),
                ),
                Transcript(
                    call_pk=call_pk,
                    engine="vosk",
                    model="fake",
                    language="zh",
                    channel="staff",
                    text=staff.replace(" ", ""),
                    raw_text=staff,
                    words=_words(STAFF_WORDS),
                ),
            ]
        )
    engine = FakeStereoEngine()
    pipeline(sessions, engine).process_call("b1")
    assert engine.files == []
    (at,) = forbidden_at(sessions, clerk_id)
    assert at == pytest.approx(3.0, abs=0.1)
