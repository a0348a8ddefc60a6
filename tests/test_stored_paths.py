"""Recording paths kept relative to the data directory: written by the agent in one
folder, played by the desk started in another, and migrated for older rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.app import App
from hotline.settings import load_settings
from recorder import db
from recorder.calls import DatabaseCallLog
from recorder.models import Call, Direction, FieldSource, LogEntry, Recording
from recorder.reception_log import new_entry
from recorder.stored_paths import migrated, resolve, to_stored
from recorder.wav import WavWriter, recording_path
from tests.browser import desk
from tests.test_admin import Desk

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def test_a_path_inside_the_data_directory_is_stored_relative_to_it(tmp_path: Path) -> None:
    data = tmp_path / "var"
    path = data / "recordings/2026/12/07/081500-c1-ab12cd34.wav"
    assert to_stored(data, path) == "recordings/2026/12/07/081500-c1-ab12cd34.wav"
    # Resolved by a process whose data directory is elsewhere (the folder was moved).
    moved = tmp_path / "srv" / "hotline"
    assert (
        resolve(moved, to_stored(data, path))
        == moved / "recordings/2026/12/07/081500-c1-ab12cd34.wav"
    )


def test_a_path_outside_the_data_directory_stays_absolute(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "call.wav"
    assert to_stored(tmp_path / "var", outside) == str(outside)
    assert resolve(tmp_path / "var", str(outside)) == outside


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # What `scripts/run` stored before: relative to the folder it started in.
        ("var/recordings/2026/12/07/231500-N-1@x-0a1b2c3d.wav",
         "recordings/2026/12/07/231500-N-1@x-0a1b2c3d.wav"),
        ("/srv/hotline/recordings/2026/01/31/080000-c-ffffffff.wav",
         "recordings/2026/01/31/080000-c-ffffffff.wav"),
        ("recordings/2026/01/31/080000-c-ffffffff.wav", "recordings/2026/01/31/080000-c-ffffffff.wav"),
        ("/mnt/old-pbx/export/call-17.wav", None),  # no recognisable form: kept as it is
    ],
)  # fmt: skip
def test_older_rows_migrate_to_the_relative_form(old: str, new: str | None) -> None:
    assert migrated(old) == new


def test_the_agent_stores_relative_paths_and_closes_the_same_row(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    data = tmp_path / "var"
    log = DatabaseCallLog(sqlite_sessions, data_dir=data)
    log.call_started("c1", "13800138000", "8001", T0)
    path = recording_path(data / "recordings", T0, "c1")
    log.recording_started("c1", path, "caller", 8000, T0)
    writer = WavWriter(path, channels=1)
    writer.write(b"\x00\x01" * 8000)
    log.recording_closed("c1", writer.close(), T0)
    with sqlite_sessions() as session:
        recording = session.scalars(select(Recording)).one()
        assert recording.path == to_stored(data, path) and not Path(recording.path).is_absolute()
        assert recording.state.value == "complete" and recording.duration_s == pytest.approx(1.0)


def test_migration_rewrites_older_rows_and_clears_the_waiting_placeholder(
    database_url: str, tmp_path: Path
) -> None:
    """On a copy of a populated database (SQLite and PostgreSQL): every row is kept, the
    paths become relative and the old placeholder summary becomes empty."""
    engine = db.make_engine(database_url)
    try:
        for head in sorted(db.head_revisions() - {"0007"}):
            db.upgrade(engine, head)
        with db.session_factory(engine).begin() as session:
            call = Call(call_id="c1", direction=Direction.INBOUND, invite_at=T0)
            session.add(call)
            session.flush()
            for name in ("var/recordings/2026/12/07/231500-a-00000001.wav", "/mnt/pbx/b.wav"):
                session.add(Recording(call_pk=call.id, path=name, channels="caller"))
            new_entry(
                session,
                {"call_pk": call.id, "received_at": T0, "summary": "（录音已保存，等待语音识别）"},
                FieldSource.AUTO,
            )
        db.upgrade(engine)
        with db.session_factory(engine)() as session:
            paths = session.scalars(select(Recording.path).order_by(Recording.id)).all()
            assert paths == ["recordings/2026/12/07/231500-a-00000001.wav", "/mnt/pbx/b.wav"]
            assert session.scalars(select(LogEntry.summary)).one() == ""
    finally:
        engine.dispose()


@pytest.fixture(name="relative_desk")
def relative_desk_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    """The README's set-up: data_dir = "var", relative, and the row relative to it."""
    monkeypatch.chdir(tmp_path)
    overrides = {"paths": {"data_dir": ("var", "--data-dir")}}  # as the defaults have it
    app = App(load_settings(None, overrides, environ={}))
    assert app.settings.paths.data_dir == tmp_path / "var"  # made absolute once, at start-up
    db.upgrade(app.engine)
    with app.sessions.begin() as session:
        seeded = desk.seed(session, tmp_path / "var" / "recordings")
        recording = session.get(Recording, seeded.recording)
        assert recording is not None
        recording.path = to_stored(tmp_path / "var", Path(recording.path))
    return Desk(app, desk.web(app), seeded)


def test_the_desk_plays_a_relative_recording_whatever_folder_it_runs_in(
    relative_desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Started from another folder than the agent that wrote the file (Flask's send_file
    # resolves relative paths against the admin package, the first release's 500).
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert relative_desk.login() == 302
    audio = relative_desk.client.get(f"/entries/recordings/{relative_desk.seeded.recording}/audio")
    assert audio.status_code == 200 and audio.data[:4] == b"RIFF"


def test_a_missing_recording_file_is_said_on_the_entry_page_never_a_500(
    relative_desk: Desk, tmp_path: Path
) -> None:
    for wav in (tmp_path / "var" / "recordings").rglob("*.wav"):
        wav.unlink()
    assert relative_desk.login() == 302
    seeded = relative_desk.seeded
    page = relative_desk.client.get(f"/entries/{seeded.entry}")
    assert page.status_code == 200
    assert "服务器上找不到这段录音文件" in page.text and "<audio" not in page.text
    assert "记录和转写内容都还在" in page.text  # what is kept, said to the clerk
    audio = relative_desk.client.get(f"/entries/recordings/{seeded.recording}/audio")
    assert audio.status_code == 404
