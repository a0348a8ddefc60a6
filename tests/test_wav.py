"""Streaming WAV recordings: playable while written, fixed on close, repaired after a crash."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import wave
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from recorder.wav import RecordingError, WavWriter, recording_path, repair, sha256_of


def tone(seconds: float, rate: int = 8000, freq: float = 440.0) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * 8000).astype("<i2").tobytes()


def test_closed_file_is_a_valid_wav_with_its_sha256(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    audio = tone(1.5)
    with WavWriter(path) as writer:
        for i in range(0, len(audio), 320):
            writer.write(audio[i : i + 320])
    info = writer.close()
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (1, 8000, 2)
        assert wav.readframes(wav.getnframes()) == audio
    assert info.duration_s == pytest.approx(1.5)
    assert info.sha256 == sha256_of(path)


def test_stereo_keeps_caller_left_and_staff_right(tmp_path: Path) -> None:
    left, right = tone(0.5, freq=300), tone(0.5, freq=700)
    path = tmp_path / "b.wav"
    with WavWriter(path, channels=2) as writer:
        writer.write_stereo(left, right)
    with wave.open(str(path)) as wav:
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert frames[:, 0].tobytes() == left and frames[:, 1].tobytes() == right


@pytest.mark.parametrize(("rate", "channels", "width"), [(44100, 1, 2), (8000, 3, 2), (8000, 1, 1)])
def test_unsupported_formats_are_refused(
    tmp_path: Path, rate: int, channels: int, width: int
) -> None:
    with pytest.raises(RecordingError, match="8 or 16 kHz"):
        WavWriter(tmp_path / "c.wav", rate, channels, width)


def test_partial_frames_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with WavWriter(tmp_path / "d.wav", channels=2) as writer:
        with pytest.raises(RecordingError, match="whole number of frames"):
            writer.write(b"\x00" * 6)
        assert writer.frames == 0


def test_an_existing_recording_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "e.wav"
    WavWriter(path).close()
    with pytest.raises(RecordingError, match="cannot create"):
        WavWriter(path)


WRITER = """
import sys, time
from pathlib import Path
from recorder.wav import WavWriter
w = WavWriter(Path(sys.argv[1]))
frame = bytes(range(256)) * 1 + bytes(64)  # 320 bytes = 20 ms
while True:
    w.write(frame)
    print("x", flush=True) if w.frames == 8000 * 3 else None
    time.sleep(0.0005)
"""


def test_kill_9_during_recording_leaves_a_repairable_file(tmp_path: Path) -> None:
    """What is kept: every whole frame written before the kill, playable after repair()."""
    path = tmp_path / "killed.wav"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"x\n"  # at least 3 s of audio written
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    size = path.stat().st_size
    info = repair(path)
    assert info.frames == (size - 44) // 2 >= 8000 * 3
    with wave.open(str(path)) as wav:
        assert wav.getnframes() == info.frames
        data = wav.readframes(wav.getnframes())
    assert data[:320] == bytes(range(256)) + bytes(64)
    assert info.sha256 == sha256_of(path)


def test_repair_cuts_a_trailing_partial_frame(tmp_path: Path) -> None:
    path = tmp_path / "f.wav"
    writer = WavWriter(path, channels=2)
    writer.write(tone(0.1) * 2)
    writer._fh.write(b"\x01\x02\x03")  # type: ignore[union-attr]  # a crash mid-frame
    info = repair(path)
    assert info.frames == 800 and path.stat().st_size == 44 + 800 * 4


def test_repair_refuses_what_is_not_a_recording(tmp_path: Path) -> None:
    path = tmp_path / "g.wav"
    path.write_bytes(b"ID3\x03 this is an mp3")
    with pytest.raises(RecordingError, match="not a hotline WAV"):
        repair(path)
    assert path.read_bytes() == b"ID3\x03 this is an mp3"


def test_files_are_laid_out_by_date(tmp_path: Path) -> None:
    when = datetime(2026, 11, 23, 9, 5, 7, tzinfo=UTC)
    path = recording_path(tmp_path, when, "a84b4c76e66710@pc33/../x")
    assert path.parent == tmp_path / "2026/11/23"
    assert re.fullmatch(r"090507-a84b4c76e66710_pc33_\.\._x-[0-9a-f]{8}\.wav", path.name)
    # The same Call-ID twice (a broken or hostile phone) still gets two files.
    assert recording_path(tmp_path, when, "a84b4c76e66710@pc33/../x") != path
