"""`hotline backup` and `hotline restore` as an IT person runs them (issue 23): a backup
of a desk with calls, entries and recordings, restored onto a fresh machine (a new data
directory and an empty database of the same kind: SQLite, and a real PostgreSQL with
pg_dump/pg_restore).

What is kept: every call and entry with its text as it was, every recording byte for
byte (its sha256), the trained model, and the settings file beside the new one. A
damaged archive is refused before anything is written; a database that already holds
calls is not overwritten without --force.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from recorder import db
from recorder.models import Call, Direction, Disposition, FieldSource, LogEntry, Recording
from recorder.reception_log import new_entry
from tests.conftest import new_pg_database
from tests.test_cli import hotline

T0 = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
SUMMARY = "三栋二单元五零一卫生间漏水，请尽快派人"


def _populate(url: str, data_dir: Path, days: int = 2) -> dict[str, str]:
    """Calls on `days` days, each with a recording file and an entry; {stored path: sha256}."""
    engine = db.make_engine(url)
    db.upgrade(engine)
    sums: dict[str, str] = {}
    with db.session_factory(engine).begin() as session:
        for day in range(days):
            at = T0 + timedelta(days=day)
            call = Call(
                call_id=f"backup-{day}@test",
                direction=Direction.INBOUND,
                caller_number=f"1381234567{day}",
                invite_at=at,
                disposition=Disposition.ANSWERED,
            )
            session.add(call)
            session.flush()
            stored = f"recordings/{at:%Y/%m/%d}/call-{day}.wav"
            audio = b"RIFF" + bytes(range(256)) * (40 + day)
            (data_dir / stored).parent.mkdir(parents=True, exist_ok=True)
            (data_dir / stored).write_bytes(audio)
            sums[stored] = hashlib.sha256(audio).hexdigest()
            session.add(Recording(call_pk=call.id, path=stored, channels="caller"))
            new_entry(
                session,
                {"call_pk": call.id, "received_at": at, "summary": f"{SUMMARY}{day}"},
                FieldSource.AUTO,
            )
    engine.dispose()
    models = data_dir / "models"
    models.mkdir(parents=True, exist_ok=True)
    (models / "category_model.json").write_text('{"trained": "here"}', encoding="utf-8")
    return sums


def _site(tmp_path: Path, name: str, url: str) -> tuple[Path, list[str]]:
    """A machine: its folder, data directory and the global flags naming them."""
    home = tmp_path / name
    data = home / "var"
    data.mkdir(parents=True)
    config = home / "hotline.toml"
    config.write_text(f'[organization]\nname = "{name}物业服务中心"\n', encoding="utf-8")
    return home, ["--config", str(config), "--data-dir", str(data), "--database-url", url]


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_backup_restored_on_a_fresh_machine_keeps_every_call_entry_and_recording(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    def url(site: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{tmp_path / site / 'var' / 'hotline.db'}"
        return new_pg_database(request.getfixturevalue("pg_server"))

    old_url, new_url = url("old"), url("new")
    old, old_flags = _site(tmp_path, "old", old_url)
    sums = _populate(old_url, old / "var")
    archive = tmp_path / "carry" / "site.tar"

    out = hotline(*old_flags, "backup", str(archive), cwd=old)
    assert out.returncode == 0, out.stderr
    assert f"{kind} database" in out.stdout and "2 recordings" in out.stdout
    with tarfile.open(archive) as tar:
        handle = tar.extractfile("manifest.json")
        assert handle is not None
        manifest = json.loads(handle.read())
    listed = {e["name"]: e["sha256"] for e in manifest["files"]}
    for stored, digest in sums.items():
        assert listed[stored] == digest
    assert manifest["schema_revision"] == db.head_revision()

    new, new_flags = _site(tmp_path, "new", new_url)
    check = hotline(*new_flags, "restore", "--check", str(archive), cwd=new)
    assert check.returncode == 0 and "whole" in check.stdout, check.stderr
    out = hotline(*new_flags, "restore", str(archive), cwd=new)
    assert out.returncode == 0, out.stderr
    for stored, digest in sums.items():
        assert hashlib.sha256((new / "var" / stored).read_bytes()).hexdigest() == digest
    assert (new / "var" / "models" / "category_model.json").read_text() == '{"trained": "here"}'
    kept = (new / "var" / "restored-settings" / "hotline.toml").read_text(encoding="utf-8")
    assert "old物业服务中心" in kept
    engine = db.make_engine(new_url)
    try:
        with db.session_factory(engine)() as session:
            summaries = sorted(session.scalars(select(LogEntry.summary)))
            paths = sorted(session.scalars(select(Recording.path)))
            numbers = sorted(session.scalars(select(Call.caller_number)))
        assert summaries == [f"{SUMMARY}0", f"{SUMMARY}1"]
        assert paths == sorted(sums)
        assert numbers == ["13812345670", "13812345671"]
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()

    # Restoring again onto the database that now holds calls is refused: nothing replaced.
    again = hotline(*new_flags, "restore", str(archive), cwd=new)
    assert again.returncode != 0 and "already holds calls" in again.stderr
    assert again.stderr.count("\n") == 1


def test_a_damaged_archive_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    old, old_flags = _site(tmp_path, "old", f"sqlite:///{tmp_path / 'old' / 'var' / 'h.db'}")
    _populate(f"sqlite:///{tmp_path / 'old' / 'var' / 'h.db'}", old / "var", days=1)
    archive = tmp_path / "site.tar"
    assert hotline(*old_flags, "backup", str(archive), cwd=old).returncode == 0
    # One byte of the recording changed, where tar keeps it (a bad disk, a bad copy).
    data = bytearray(archive.read_bytes())
    spot = data.index(b"RIFF" + bytes(range(16))) + 100
    data[spot] ^= 0xFF
    archive.write_bytes(bytes(data))

    new_db = tmp_path / "new" / "var" / "h.db"
    new, new_flags = _site(tmp_path, "new", f"sqlite:///{new_db}")
    out = hotline(*new_flags, "restore", str(archive), cwd=new)
    assert out.returncode == 74, out.stderr
    assert "call-0.wav does not match its sha256: damaged" in out.stderr
    assert not new_db.exists() and not (new / "var" / "recordings").exists()
    check = hotline(*new_flags, "restore", "--check", str(archive), cwd=new)
    assert check.returncode == 74 and "damaged" in check.stderr


def test_a_backup_never_overwrites_and_says_which_recordings_are_gone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'site' / 'var' / 'h.db'}"
    site, flags = _site(tmp_path, "site", url)
    sums = _populate(url, site / "var")
    gone = sorted(sums)[0]
    (site / "var" / gone).unlink()
    archive = tmp_path / "site.tar"
    out = hotline(*flags, "backup", str(archive), cwd=site)
    assert out.returncode == 0, out.stderr
    assert "1 recordings" in out.stdout and gone in out.stdout
    with tarfile.open(archive) as tar:
        handle = tar.extractfile("manifest.json")
        assert handle is not None
        assert json.loads(handle.read())["missing_recordings"] == [gone]
    again = hotline(*flags, "backup", str(archive), cwd=site)
    assert again.returncode == 74 and "exists already" in again.stderr
