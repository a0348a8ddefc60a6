"""`hotline ingest` of a batch with bad files in it, as an operator runs it (issue 15, D12).

What is kept: every good file of the batch is imported; each bad one (missing, cut
off, damaged) gets one line naming it and leaves no call, no recording and no copied
file; the exit status says some failed. Audio is made by ffmpeg, then cut or spoiled.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from recorder import db
from recorder.models import Call, Recording
from tests.support.processes import require_tool


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A data directory and SQLite database; no speech model (entries wait for one)."""
    (tmp_path / "hotline.toml").write_text(
        f'[paths]\ndata_dir = "{tmp_path / "var"}"\n', encoding="utf-8"
    )
    assert hotline(tmp_path, "db", "upgrade").returncode == 0
    return tmp_path


def hotline(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    return subprocess.run(
        [sys.executable, "-m", "hotline", "--config", str(site / "hotline.toml"), *args],
        cwd=site,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def tone(path: Path, seconds: float, frequency: int = 440, *extra: str) -> Path:
    """A tone encoded by ffmpeg into whatever `path`'s suffix says (e.g. MP3 via LAME)."""
    subprocess.run(
        [require_tool("ffmpeg"), "-nostdin", "-v", "error", "-f", "lavfi", "-i",
         f"sine=frequency={frequency}:duration={seconds}", "-ar", "16000", "-ac", "1",
         *extra, "-y", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


def imported(site: Path) -> list[tuple[str, float]]:
    engine = db.make_engine(f"sqlite:///{site / 'var' / 'hotline.db'}")
    try:
        with db.session_factory(engine)() as session:
            rows = session.execute(
                select(Call.call_id, Recording.duration_s).join(Recording).order_by(Call.id)
            ).all()
    finally:
        engine.dispose()
    return [(call_id, duration or 0.0) for call_id, duration in rows]


def test_a_batch_goes_on_past_missing_cut_off_and_damaged_files(site: Path) -> None:
    good_mp3 = tone(site / "good.mp3", 4.2, 440, "-b:a", "64k")
    cut_mp3 = site / "cut.mp3"  # a copy stopped at 5 000 of 34 605 bytes (the report's file)
    cut_mp3.write_bytes(tone(site / "whole.mp3", 4.2, 550, "-b:a", "64k").read_bytes()[:5000])
    damaged = bytearray(tone(site / "spoilt.mp3", 4.2, 660, "-b:a", "64k").read_bytes())
    damaged[12_000:12_400] = bytes((n * 37) % 256 for n in range(400))  # noise mid-file
    (site / "spoilt.mp3").write_bytes(bytes(damaged))
    good_wav = tone(site / "good.wav", 3.0, 770)
    missing = site / "missing.wav"

    batch = [missing, cut_mp3, good_mp3, site / "spoilt.mp3", good_wav]
    out = hotline(site, "ingest", *map(str, batch), "--json")

    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    refusals = [line for line in out.stderr.splitlines() if line.startswith("hotline ingest: ")]
    assert refusals[0] == f"hotline ingest: {missing}: no such file"
    assert refusals[1].startswith(f"hotline ingest: {cut_mp3}: truncated audio: the file says 4.")
    assert "only 0.5" in refusals[1]
    assert refusals[2].startswith(f"hotline ingest: {site / 'spoilt.mp3'}: damaged audio")
    assert refusals[3] == "hotline ingest: 3 of 5 files not imported"
    assert len(refusals) == 4
    # The two good files are imported, at their full length, and printed.
    assert len(out.stdout.splitlines()) == 2
    durations = [duration for _, duration in imported(site)]
    assert durations == [pytest.approx(4.2, abs=0.1), pytest.approx(3.0, abs=0.01)]
    # Nothing of the refused files was copied into the recordings tree.
    assert len(list((site / "var" / "recordings").rglob("*.wav"))) == 2


def test_one_missing_file_alone_is_one_line_and_exit_1(site: Path) -> None:
    out = hotline(site, "ingest", str(site / "nothing-here.wav"))
    assert out.returncode == 1
    assert out.stderr.strip() == f"hotline ingest: {site / 'nothing-here.wav'}: no such file"
    assert imported(site) == []
