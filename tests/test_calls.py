"""The call log the agent reports to: one row per call, answered or not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recorder.calls import DatabaseCallLog, RtpStats, UnknownCall
from recorder.models import AnsweredBy, Call, Disposition, Recording, RecordingState
from recorder.wav import WavWriter

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_an_answered_call_with_its_recording(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ended: list[str] = []
    log = DatabaseCallLog(sessions, on_ended=ended.append)
    log.call_started("abc@127.0.0.1", "13800138000", "8001", T0)
    log.call_started("abc@127.0.0.1", "13800138000", "8001", T0)  # retransmitted INVITE
    log.call_ringing("abc@127.0.0.1", T0 + timedelta(milliseconds=5))
    log.call_answered("abc@127.0.0.1", T0 + timedelta(seconds=6), 2, AnsweredBy.AGENT, codec="PCMU")
    path = tmp_path / "r.wav"
    log.recording_started("abc@127.0.0.1", path, "caller", 8000, T0 + timedelta(seconds=6))
    with WavWriter(path) as writer:
        writer.write(b"\x00\x01" * 8000)
    log.recording_closed("abc@127.0.0.1", writer.close(), T0 + timedelta(seconds=20))
    log.call_ended(
        "abc@127.0.0.1",
        T0 + timedelta(seconds=20),
        Disposition.ANSWERED,
        "caller BYE",
        "recording",
        RtpStats(packets_received=700, packets_lost=2, jitter_ms=1.5),
    )
    assert ended == ["abc@127.0.0.1"]
    with sessions() as s:
        call = s.scalars(select(Call)).one()
        assert (call.ring_count, call.answered_by, call.disposition, call.codec) == (
            2,
            AnsweredBy.AGENT,
            Disposition.ANSWERED,
            "PCMU",
        )
        assert (call.rtp_packets_lost, call.rtp_jitter_ms, call.ended_in) == (2, 1.5, "recording")
        rec = s.scalars(select(Recording)).one()
        assert rec.state is RecordingState.COMPLETE and rec.duration_s == pytest.approx(1.0)
        assert rec.sha256 and len(rec.sha256) == 64


def test_a_caller_who_gives_up_while_it_rings_is_a_missed_call(
    sessions: sessionmaker[Session],
) -> None:
    log = DatabaseCallLog(sessions)
    log.call_started("m1", "02188886666", "8001", T0)
    log.call_ringing("m1", T0)
    log.call_ended("m1", T0 + timedelta(seconds=3), Disposition.MISSED, "CANCEL", "ringing")
    with sessions() as s:
        call = s.scalars(select(Call)).one()
        assert call.disposition is Disposition.MISSED and call.answered_at is None


def test_events_for_an_unknown_call_are_refused(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(UnknownCall):
        DatabaseCallLog(sessions).call_ringing("nobody", T0)
