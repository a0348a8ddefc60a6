"""`hotline ingest --watch DIR` as an operator runs it beside another PBX.

The real command runs as a subprocess. The PBX side writes each recording
under a temporary name and renames it into the folder when it is complete.
What is kept: the good recording becomes one call, one recording copy and
one reception-log entry (printed as JSON); a corrupt file is named in a
clear error and leaves nothing behind (no call row, no copied audio); the
watcher goes on after it and stops cleanly on SIGINT. While PostgreSQL is
stopped a dropped recording waits, and is imported once when it is back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from recorder import db
from recorder.models import Call, Direction, LogEntry, Recording, RecordingState
from recorder.wav import WavWriter
from tests.conftest import new_pg_database
from tests.support.postgres import PostgresCluster
from tests.support.processes import wait_until

ENTRY_KEYS = {
    "id",
    "category",
    "category_label",
    "urgency",
    "surname",
    "unit",
    "phone",
    "summary",
    "follow_up_due",
    "transcript",
}


class Lines:
    """The lines a process writes to one pipe, read in a thread so waits stay bounded."""

    def __init__(self, pipe: object) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: object) -> None:
        for line in pipe:  # type: ignore[attr-defined]
            self.lines.append(line.rstrip("\n"))

    def join(self) -> None:
        self._thread.join(timeout=10)

    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite unless a test asks for PostgreSQL (indirect parametrisation)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'hotline.db'}"
    cluster = request.getfixturevalue("stoppable_pg")
    return new_pg_database((cluster.host, cluster.port))


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Path:
    (tmp_path / "hotline.toml").write_text(
        f'[paths]\ndata_dir = "{tmp_path / "var"}"\n[database]\nurl = "{database_url}"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "hotline",
            "--config",
            str(tmp_path / "hotline.toml"),
            "db",
            "upgrade",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return tmp_path


@pytest.fixture
def watcher(site: Path) -> Iterator[tuple[subprocess.Popen[str], Lines, Lines, Path]]:
    inbox = site / "inbox"
    inbox.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    argv = [sys.executable, "-m", "hotline", "--config", str(site / "hotline.toml")]
    argv += ["ingest", "--watch", str(inbox), "--caller", "13800138000", "--json"]
    proc = subprocess.Popen(
        argv, cwd=site, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out, err = Lines(proc.stdout), Lines(proc.stderr)
    try:
        wait_until(lambda: "watching" in err.text(), 60, "the watcher to start")
        yield proc, out, err, inbox
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def drop(inbox: Path, name: str, write: object) -> Path:
    """Write under a temporary name (not an audio suffix), then rename in, as a PBX does."""
    partial = inbox / f".{name}.part"
    write(partial)  # type: ignore[operator]
    os.rename(partial, inbox / name)
    return inbox / name


def good_wav(path: Path) -> None:
    t = np.arange(16000) / 8000
    with WavWriter(path) as writer:
        writer.write((np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes())


def test_watch_imports_a_dropped_recording_and_names_a_corrupt_file(
    site: Path, database_url: str, watcher: tuple[subprocess.Popen[str], Lines, Lines, Path]
) -> None:
    proc, out, err, inbox = watcher
    broken = drop(inbox, "broken.wav", lambda p: p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 7))
    good = drop(inbox, "call-0930.wav", good_wav)
    wait_until(lambda: len(out.lines) >= 1, 60, "the entry for the dropped recording")
    wait_until(lambda: str(broken) in err.text(), 30, "the error naming the corrupt file")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=15) == 0  # stopped cleanly
    out.join()
    err.join()
    (entry,) = (json.loads(line) for line in out.lines)
    assert set(entry) == ENTRY_KEYS and entry["id"] is not None
    (error,) = [line for line in err.lines if str(broken) in line]
    assert error.startswith(f"hotline ingest: {broken}: ")
    assert "Traceback" not in err.text()
    assert str(good) not in err.text()
    engine = db.make_engine(database_url)
    with db.session_factory(engine)() as s:
        call = s.scalars(select(Call)).one()  # the corrupt file left no call row
        assert (call.direction, call.caller_number) == (Direction.IMPORTED, "13800138000")
        recording = s.scalars(select(Recording)).one()
        assert recording.state is RecordingState.COMPLETE and recording.duration_s == 2.0
        assert s.scalar(select(func.count()).select_from(LogEntry)) == 1
        assert s.scalar(select(LogEntry.id)) == entry["id"]
    engine.dispose()
    copies = list((site / "var" / "recordings").rglob("*.wav"))
    # No half-copied audio of the bad file; the row names the file relative to the data dir.
    assert copies == [site / "var" / recording.path]
    assert good.exists() and broken.exists()  # the PBX's files are left where they were


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_recording_dropped_while_postgresql_is_down_is_imported_once_it_is_back(
    site: Path,
    database_url: str,
    stoppable_pg: PostgresCluster,
    watcher: tuple[subprocess.Popen[str], Lines, Lines, Path],
) -> None:
    proc, out, err, inbox = watcher
    stoppable_pg.stop()
    try:
        good = drop(inbox, "call-1015.wav", good_wav)
        wait_until(lambda: "trying again" in err.text(), 30, "the watcher to wait for the database")
        assert out.lines == [] and proc.poll() is None  # waiting, not given up, not crashed
        assert not list((site / "var" / "recordings").rglob("*.wav"))  # nothing copied yet
    finally:
        stoppable_pg.start()
    wait_until(lambda: len(out.lines) >= 1, 60, "the entry once PostgreSQL is back")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=15) == 0
    out.join()
    err.join()
    (entry,) = (json.loads(line) for line in out.lines)
    (waited,) = [line for line in err.lines if "trying again" in line]
    assert waited.startswith(f"hotline ingest: {good}: ")  # said once, naming the file
    engine = db.make_engine(database_url)
    with db.session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Call)) == 1
        assert s.scalar(select(LogEntry.id)) == entry["id"]
    engine.dispose()
    assert len(list((site / "var" / "recordings").rglob("*.wav"))) == 1
