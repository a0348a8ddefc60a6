"""Imported recordings in the greeting audit (issue 20): one with a staff channel is
audited as the staff member's call (within-rings unknown: nobody knows how long it
rang); one without is left out of the agent's compliance, which played nothing on it.
What is kept: both calls' entries; the audit row of the stereo one only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recorder.ingest import _record
from recorder.models import Call, ComplianceResult, Direction, LogEntry
from recorder.supervision import compliance_by_staff
from recorder.wav import WavWriter
from tests.test_compliance_pipeline import CALLER_TEXT, T0, FakeStereoEngine, _result, pipeline
from transcripts.engine import TranscriptResult


class FakeMonoEngine:
    """Stands in for Vosk on a one-channel import: the caller's words only."""

    def transcribe_file(self, path: str) -> dict[str, TranscriptResult]:
        return {"mono": _result("mono", CALLER_TEXT, [])}


def _imported(sessions: sessionmaker[Session], tmp_path: Path, call_id: str, channels: int) -> None:
    path = tmp_path / f"{call_id}.wav"
    with WavWriter(path, channels=channels) as writer:
        writer.write(np.zeros(channels * 8000 * 10, dtype="<i2").tobytes())
    # As `hotline ingest` records it (recorder/ingest.py).
    _record(sessions, call_id, "13800138000", T0, 10.0, path, tmp_path)
    with sessions() as s:
        call = s.scalars(select(Call).where(Call.call_id == call_id)).one()
        assert (call.direction, call.ring_count) == (Direction.IMPORTED, None)


def test_an_import_without_a_staff_channel_is_not_the_agents_call(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    _imported(sessions, tmp_path, "mono", 1)
    outcome = pipeline(sessions, FakeMonoEngine()).process_call("mono")
    with sessions() as s:
        assert s.get(LogEntry, outcome.entry_id) is not None
        assert s.scalars(select(ComplianceResult)).all() == []
        assert compliance_by_staff(s, T0 - timedelta(hours=1), T0 + timedelta(hours=1)) == []


def test_an_import_with_a_staff_channel_is_audited_as_staff(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    _imported(sessions, tmp_path, "stereo", 2)
    pipeline(sessions, FakeStereoEngine()).process_call("stereo")
    with sessions() as s:
        result = s.scalars(select(ComplianceResult)).one()
        assert (result.answered_by, result.within_rings, result.passed) == ("staff", None, False)
        assert result.forbidden == ["不知道"]
