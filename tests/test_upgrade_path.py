"""`hotline db upgrade` keeps working across every release (issue 23): a database created
by the oldest migration (0001), with a site's data in it as that release wrote it, is
brought to the newest schema by the command an operator runs, on SQLite and PostgreSQL.

What is kept: the staff user, the call with its times and numbers, the entry's words
and status, the recording (its path moved to the relative form of migration 0007);
the desk's own reads of the newest schema work on those rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text

from recorder import db
from recorder.estates import Estate
from recorder.models import Call, Disposition, LogEntry, Recording, User
from tests.test_cli import hotline

AT = datetime(2025, 3, 4, 1, 2, 3, tzinfo=UTC)
SUMMARY = "七栋三单元一零二楼上漏水，已派工程部"


def _release_one_site(url: str, data_dir: Path) -> None:
    """The rows release 0001 wrote (plain SQL: the models describe the newest schema)."""
    engine = db.make_engine(url)
    try:
        db.upgrade(engine, "0001")
        wav = data_dir / "recordings" / "2025" / "03" / "04" / "old.wav"
        wav.parent.mkdir(parents=True, exist_ok=True)
        wav.write_bytes(b"RIFF" + bytes(64))
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, username, display_name, job_number, role, "
                    "password_hash, independent, active, language, created_at) VALUES "
                    "(1, 'wang', '王芳', '8001', 'clerk', 'x', true, true, 'zh-CN', :at)"
                ),
                {"at": AT},
            )
            conn.execute(
                text(
                    "INSERT INTO calls (id, call_id, direction, caller_number, invite_at, "
                    "answered_at, ended_at, ring_count, answered_by, disposition, "
                    "interrupted, created_at) VALUES (1, 'old@site', 'inbound', "
                    "'13912345678', :at, :at, :at, 2, 'agent', 'answered', false, :at)"
                ),
                {"at": AT},
            )
            conn.execute(
                text(
                    "INSERT INTO log_entries (id, call_pk, received_at, caller_number, unit, "
                    "category, urgency, summary, status, responsible_user_id, field_sources, "
                    "needs_review, created_at, updated_at) VALUES (1, 1, :at, '13912345678', "
                    "'7栋3单元102', 'repair', 'leak', :summary, 'dispatched', 1, '{}', false, "
                    ":at, :at)"
                ),
                {"at": AT, "summary": SUMMARY},
            )
            conn.execute(
                text(
                    "INSERT INTO recordings (id, call_pk, path, channels, sample_rate, state, "
                    "started_at) VALUES (1, 1, :path, 'caller', 8000, 'complete', :at)"
                ),
                {"at": AT, "path": str(wav)},  # release 1 stored absolute paths
            )
    finally:
        engine.dispose()


def test_a_database_of_the_first_release_upgrades_with_its_data(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "var"
    _release_one_site(database_url, data_dir)
    flags = ["--data-dir", str(data_dir), "--database-url", database_url]

    before = hotline(*flags, "db", "current", cwd=tmp_path)
    assert before.returncode == 0 and "0001" in before.stdout and "needs upgrade" in before.stdout
    out = hotline(*flags, "db", "upgrade", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    after = hotline(*flags, "db", "current", cwd=tmp_path)
    assert "up to date" in after.stdout, after.stdout

    engine = db.make_engine(database_url)
    try:
        assert db.current_revision(engine) == db.head_revision()
        with db.session_factory(engine)() as session:
            user = session.scalars(select(User)).one()
            call = session.scalars(select(Call)).one()
            entry = session.scalars(select(LogEntry)).one()
            recording = session.scalars(select(Recording)).one()
            estate = session.scalars(select(Estate)).one()
        assert (user.username, user.job_number) == ("wang", "8001")
        assert call.caller_number == "13912345678" and call.invite_at == AT
        assert call.disposition == Disposition.ANSWERED
        assert (entry.summary, entry.unit, entry.status.value) == (
            SUMMARY,
            "7栋3单元102",
            "dispatched",
        )
        assert recording.path == "recordings/2025/03/04/old.wav"  # relative (0007)
        # One organisation becomes one estate, the company's name said for it (0016).
        assert (estate.code, estate.name) == ("main", "")
        assert call.estate_id == entry.estate_id == estate.id
    finally:
        engine.dispose()
