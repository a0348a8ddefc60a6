"""Start-up recovery of a call cut off by kill -9, restarted a minute later (issue 15).

What is kept: the audio up to the kill (repaired, playable) and the call, which ends
when its audio stopped; the minute the agent was down is not added to the call.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recorder.models import Call, Recording, RecordingState
from recorder.recovery import recover

#: A recording agent as kill -9 leaves it: the call answered at argv[3] (a POSIX
#: time), 5 s of audio written, the header last rewritten at 4 s, never closed.
WRITER = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from recorder import db
from recorder.calls import DatabaseCallLog
from recorder.models import AnsweredBy
from recorder.wav import WavWriter
sessions = db.session_factory(db.make_engine(sys.argv[1]))
log = DatabaseCallLog(sessions)
at = datetime.fromtimestamp(float(sys.argv[3]), UTC)
log.call_started("cut-off", "13900001111", "8001", at)
log.call_answered("cut-off", at, 1, AnsweredBy.AGENT, codec="PCMU")
path = Path(sys.argv[2])
log.recording_started("cut-off", path, "caller", 8000, at)
w = WavWriter(path)
for second in range(5):
    w.write(b"\\x10\\x00" * 8000)
w.write(b"\\x10\\x00" * 80)  # part of a sixth second, after the last header rewrite
print("written", flush=True)
time.sleep(600)
"""


def _killed_writer(url: str, path: Path, answered: datetime) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, str(path), str(answered.timestamp())],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"written\n"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.mark.parametrize("touched", [False, True], ids=["as-left", "touched-at-restart"])
def test_a_call_cut_off_and_recovered_a_minute_later_lasts_as_long_as_its_audio(
    tmp_path: Path, sqlite_sessions: sessionmaker[Session], touched: bool
) -> None:
    url = str(sqlite_sessions.kw["bind"].url)
    path = tmp_path / "recordings" / "cut-off.wav"
    restart = datetime.now(UTC)
    answered = restart - timedelta(seconds=65)
    _killed_writer(url, path, answered)
    # The last write was 5 s into the call, 60 s before this restart; a backup tool or
    # a copy may also have touched the file since (then its length is what counts).
    last_write = (restart if touched else answered + timedelta(seconds=5)).timestamp()
    os.utime(path, (last_write, last_write))

    result = recover(sqlite_sessions)

    assert result.calls == ["cut-off"] and result.repaired == [str(path)]
    with sqlite_sessions() as session:
        call = session.scalars(select(Call)).one()
        recording = session.scalars(select(Recording)).one()
        assert call.interrupted and call.hangup_cause == "agent interrupted"
        assert recording.state is RecordingState.REPAIRED
        assert recording.duration_s == pytest.approx(5.01, abs=0.001)
        assert call.answered_at is not None and call.ended_at is not None
        lasted = (call.ended_at - call.answered_at).total_seconds()
        # Before the fix: 65 s (the restart's time, read after repair() wrote the file).
        assert lasted == pytest.approx(5.0, abs=0.1), lasted
        assert recording.closed_at == call.ended_at
    with wave.open(str(path)) as playable:
        assert playable.getnframes() == 5 * 8000 + 80


def test_an_agent_starting_recovers_only_its_own_calls(
    tmp_path: Path, sqlite_sessions: sessionmaker[Session]
) -> None:
    """Two agents on one database (README: Scaling out). Agent "b" restarting while "a"
    is in a call leaves a's live call and the recording a is writing alone (before: b
    ended it as interrupted and rewrote the file's header under a); "a" killed and
    restarted recovers its own. Kept: a's call open and its file untouched, then repaired."""
    from recorder.calls import DatabaseCallLog
    from recorder.models import AnsweredBy
    from recorder.wav import WavWriter

    now = datetime.now(UTC)
    logs = {name: DatabaseCallLog(sqlite_sessions, agent=name) for name in ("a", "b")}
    logs["a"].call_started("a-live", "13900001111", "8001", now)
    logs["a"].call_answered("a-live", now, 1, AnsweredBy.AGENT, codec="PCMU")
    path = tmp_path / "a-live.wav"
    logs["a"].recording_started("a-live", path, "caller", 8000, now)
    writer = WavWriter(path)
    writer.write(b"\x10\x00" * 8000)
    logs["b"].call_started("b-cut", "13900002222", "8001", now)  # b was killed while ringing
    before = path.read_bytes()

    assert recover(sqlite_sessions, agent="b").calls == ["b-cut"]
    with sqlite_sessions() as session:
        live = session.scalars(select(Call).where(Call.call_id == "a-live")).one()
        assert live.ended_at is None and not live.interrupted
        recording = session.scalars(select(Recording)).one()
        assert recording.state is RecordingState.RECORDING
    assert path.read_bytes() == before

    assert recover(sqlite_sessions, agent="a").calls == ["a-live"]
    with sqlite_sessions() as session:
        assert session.scalars(select(Recording)).one().state is RecordingState.REPAIRED
