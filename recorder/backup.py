"""Backup and restore of everything a site would miss: the database, the recordings, the
trained models and the settings file, in one tar archive with a manifest of sha256 sums.

The records are kept without alteration (seed 004 四, confidentiality and records; the
reception log is 不得涂改): a backup is a copy taken while the desk runs, and a restore
checks every byte against the manifest before it writes anything.

    archive.tar
    ├── manifest.json        format, created_at, schema revision, database kind, files
    ├── database.sqlite      SQLite's online backup (a consistent copy while calls are written)
    │   or database.pgdump   pg_dump --format=custom (restored with pg_restore)
    ├── recordings/...       the recordings of the chosen days, at their stored paths
    ├── models/...           the category model trained here (data_dir/models)
    └── settings/hotline.toml  the settings file in use, if any

`backup()` and `restore()` take an Engine and the data directory; the CLI is
`hotline backup` / `hotline restore` (hotline/commands/backup.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path, PurePosixPath

from sqlalchemy import Engine, inspect, select

from recorder import db
from recorder.errors import RecorderError
from recorder.models import Call, Recording
from recorder.stored_paths import resolve

FORMAT = 1
MANIFEST = "manifest.json"
CHUNK = 1 << 20


class BackupError(RecorderError):
    """A backup that cannot be taken or restored; the message says which file and why."""

    exit_code = 74  # EX_IOERR


@dataclass
class Report:
    archive: Path
    files: int = 0
    bytes: int = 0
    recordings: int = 0
    missing: list[str] = field(default_factory=list)
    """Recordings the database names but the disk no longer has (kept out, listed)."""
    revision: str | None = None
    database: str = ""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _libpq_url(engine: Engine) -> str:
    """The engine's URL as pg_dump and pg_restore read it (no SQLAlchemy driver name)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy even while another process writes."""
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


def _pg_tool(name: str, *args: str) -> None:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian: apt install postgresql-client)")
    done = subprocess.run([found, *args], capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise BackupError(f"{name} failed: {done.stderr.strip()[-500:]}")


def _dump_database(engine: Engine, into: Path) -> str:
    if engine.dialect.name == "sqlite":
        source = engine.url.database
        if not source or source == ":memory:":
            raise BackupError("an in-memory SQLite database has nothing to back up")
        target = into / "database.sqlite"
        _sqlite_copy(Path(source), target)
        return target.name
    target = into / "database.pgdump"
    _pg_tool("pg_dump", "--format=custom", "--no-owner", f"--file={target}", _libpq_url(engine))
    return target.name


def _recordings(
    engine: Engine, data_dir: Path, since: date | None, until: date | None
) -> Iterator[tuple[str, Path | None]]:
    """(stored path, file on disk or None when it is gone) of the chosen days' recordings."""
    query = select(Recording.path).join(Call, Call.id == Recording.call_pk)
    if since is not None:
        query = query.where(Call.invite_at >= datetime.combine(since, time(), UTC))
    if until is not None:
        end = datetime.combine(until + timedelta(days=1), time(), UTC)
        query = query.where(Call.invite_at < end)
    with engine.connect() as conn:
        stored = list(conn.scalars(query.order_by(Recording.id)))
    for path in stored:
        file = resolve(data_dir, path)
        yield path, (file if file.is_file() else None)


def backup(
    engine: Engine,
    data_dir: Path,
    archive: Path,
    since: date | None = None,
    until: date | None = None,
    settings_file: Path | None = None,
    recordings: bool = True,
) -> Report:
    """Write `archive` (a .tar); it appears only when complete (written beside, renamed)."""
    if archive.exists():
        raise BackupError(f"{archive} exists already: name a new file")
    archive.parent.mkdir(parents=True, exist_ok=True)
    report = Report(archive=archive, revision=db.current_revision(engine))
    report.database = engine.dialect.name
    entries: list[dict[str, object]] = []
    partial = archive.with_name(archive.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="hotline-backup-") as scratch:
        dump = Path(scratch) / _dump_database(engine, Path(scratch))
        with tarfile.open(partial, "w") as tar:

            def add(file: Path, name: str) -> None:
                size = file.stat().st_size
                entries.append({"name": name, "size": size, "sha256": _sha256(file)})
                tar.add(file, arcname=name, recursive=False)
                report.files += 1
                report.bytes += size

            add(dump, dump.name)
            if recordings:
                for stored, file in _recordings(engine, data_dir, since, until):
                    if file is None:
                        report.missing.append(stored)
                        continue
                    add(file, f"recordings/{_relative(file, data_dir / 'recordings')}")
                    report.recordings += 1
            models = data_dir / "models"
            for file in sorted(models.rglob("*")) if models.is_dir() else []:
                if file.is_file():
                    add(file, f"models/{file.relative_to(models).as_posix()}")
            if settings_file is not None and settings_file.is_file():
                add(settings_file, "settings/hotline.toml")
            manifest = {
                "format": FORMAT,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "database": report.database,
                "schema_revision": report.revision,
                "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None,
                "missing_recordings": report.missing,
                "files": entries,
            }
            body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(body), int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(body))
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
    partial.rename(archive)
    return report


def _relative(file: Path, root: Path) -> str:
    try:
        return file.relative_to(root).as_posix()
    except ValueError:  # stored outside the recordings folder (an old absolute path)
        return f"elsewhere/{file.name}"


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(f"the archive names an unsafe path: {name!r}")
    return path


def verify(archive: Path) -> dict[str, object]:
    """The manifest, once every file in it has been read and found whole; else a
    BackupError naming the first file that is missing, cut short or changed."""
    try:
        with tarfile.open(archive, "r") as tar:
            try:
                member = tar.getmember(MANIFEST)
            except KeyError:
                raise BackupError(f"{archive} has no {MANIFEST}: not a hotline backup") from None
            handle = tar.extractfile(member)
            manifest = json.loads(handle.read() if handle else b"{}")
            if manifest.get("format") != FORMAT:
                raise BackupError(f"{archive}: backup format {manifest.get('format')!r} unknown")
            for entry in manifest["files"]:
                name = str(entry["name"])
                _safe_name(name)
                try:
                    data = tar.extractfile(name)
                except KeyError:
                    raise BackupError(f"{archive}: {name} is missing") from None
                if data is None:
                    raise BackupError(f"{archive}: {name} is not a file")
                digest = hashlib.sha256()
                while block := data.read(CHUNK):
                    digest.update(block)
                if digest.hexdigest() != entry["sha256"]:
                    raise BackupError(f"{archive}: {name} does not match its sha256: damaged")
    except (tarfile.TarError, OSError, ValueError) as exc:
        raise BackupError(f"{archive} cannot be read: {exc}") from None
    return dict(manifest)


def _has_calls(engine: Engine) -> bool:
    if "calls" not in inspect(engine).get_table_names():
        return False
    with engine.connect() as conn:
        return conn.scalar(select(Call.id).limit(1)) is not None


def restore(engine: Engine, data_dir: Path, archive: Path, force: bool = False) -> Report:
    """Check the whole archive, then write the database, recordings and models, and bring
    the schema up to this release. Refuses a database that already holds calls, and a
    recording file that differs from the one on disk, unless `force`."""
    manifest = verify(archive)
    files = [str(e["name"]) for e in manifest["files"]]  # type: ignore[attr-defined]
    dump = next((n for n in files if n.startswith("database.")), None)
    if dump is None:
        raise BackupError(f"{archive} holds no database")
    kind = "sqlite" if dump == "database.sqlite" else "postgresql"
    if kind != engine.dialect.name:
        raise BackupError(
            f"{archive} holds a {kind} database; the configured one is {engine.dialect.name} "
            "(set database.url to the kind of the backup)"
        )
    if not force and _has_calls(engine):
        raise BackupError(
            f"the database {db.redact(str(engine.url))} already holds calls: restore onto an "
            "empty one, or --force to replace it"
        )
    report = Report(archive=archive, revision=str(manifest.get("schema_revision")))
    report.database = kind
    with tarfile.open(archive, "r") as tar:
        targets = _targets(files, data_dir)
        for name, target in targets.items():
            if not force and target.exists() and _sha256(target) != _entry_sha(manifest, name):
                raise BackupError(f"{target} exists and differs: --force to replace it")
        with tempfile.TemporaryDirectory(prefix="hotline-restore-") as scratch:
            tar.extract(dump, scratch, filter="data")
            _load_database(engine, Path(scratch) / dump)
        for name, target in targets.items():
            member = tar.extractfile(name)
            assert member is not None
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                shutil.copyfileobj(member, out, CHUNK)
            report.files += 1
            report.bytes += target.stat().st_size
            report.recordings += name.startswith("recordings/")
    engine.dispose()
    db.upgrade(engine)
    return report


def _entry_sha(manifest: dict[str, object], name: str) -> str:
    entries = manifest["files"]
    assert isinstance(entries, list)
    return next(str(e["sha256"]) for e in entries if e["name"] == name)


def _targets(files: list[str], data_dir: Path) -> dict[str, Path]:
    """Where each recording, model and the settings file go under `data_dir`."""
    out: dict[str, Path] = {}
    for name in files:
        path = _safe_name(name)
        if path.parts[0] in {"recordings", "models"}:
            out[name] = data_dir.joinpath(*path.parts)
        elif path.parts[0] == "settings":
            # Never over the settings in use: put beside, for the operator to compare.
            out[name] = data_dir / "restored-settings" / path.name
    return out


def _load_database(engine: Engine, dump: Path) -> None:
    engine.dispose()
    if engine.dialect.name == "sqlite":
        target = engine.url.database
        if not target or target == ":memory:":
            raise BackupError("restore needs an SQLite file, not an in-memory database")
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(dump, Path(target))
        return
    _pg_tool(
        "pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={_libpq_url(engine)}",
        str(dump),
    )  # fmt: skip
