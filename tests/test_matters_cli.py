"""`hotline matters` as an operator runs it (issue 21): the CLI moves a matter only by the
state machine (who, which path, the reason) and hands it over only with the reason; what it
refuses is one line and leaves the entry as it was."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from recorder import db
from recorder.models import EntryRevision, EntryStatus, FieldSource, LogEntry, User
from recorder.reception_log import new_entry
from tests.test_cli import hotline


def _add(cwd: Path, username: str, name: str, number: str, role: str) -> None:
    out = hotline(
        "users", "add", username, "--name", name, "--job-number", number, "--role", role,
        "--password-stdin", cwd=cwd, stdin="correct horse battery\n",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr


def test_the_cli_goes_through_the_state_machine(tmp_path: Path) -> None:
    assert hotline("db", "upgrade", cwd=tmp_path).returncode == 0
    _add(tmp_path, "wangfang", "王芳", "1023", "clerk")
    _add(tmp_path, "lijun", "李军", "2001", "supervisor")
    engine = db.make_engine(f"sqlite:///{tmp_path / 'var' / 'hotline.db'}")
    sessions = db.session_factory(engine)
    with sessions.begin() as session:
        entry = new_entry(
            session,
            {"received_at": datetime(2026, 11, 23, 2, tzinfo=UTC), "summary": "咨询停车"},
            FieldSource.AUTO,
        )
        session.flush()
        entry_id = str(entry.id)
    refused = [
        (["move", entry_id, "dispatched", "--as", "wangfang", "--reason", "x"], "made by order"),
        (["move", entry_id, "done", "--as", "wangfang"], "needs a reason"),
        (
            ["move", entry_id, "closed", "--as", "wangfang", "--reason", "重复"],
            "needs a supervisor",
        ),
        (["hand-over", entry_id, "--to", "lijun", "--as", "wangfang"], "needs a reason"),
    ]
    for args, why in refused:
        out = hotline("matters", *args, cwd=tmp_path)
        assert out.returncode != 0 and why in out.stderr, (args, out.stderr)
        assert out.stderr.count("\n") == 1
    with sessions() as session:
        assert session.get_one(LogEntry, int(entry_id)).status is EntryStatus.RECEIVED
    shown = hotline("matters", "show", entry_id, "--as", "wangfang", cwd=tmp_path).stdout
    assert "received" in shown and "moves open to you: done" in shown
    out = hotline(
        "matters",
        "move",
        entry_id,
        "done",
        "--as",
        "wangfang",
        "--reason",
        "电话已答复",
        cwd=tmp_path,
    )
    assert out.returncode == 0 and "now done" in out.stdout
    out = hotline(
        "matters", "hand-over", entry_id, "--to", "lijun", "--as", "wangfang", "--reason", "交班",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    with sessions() as session:
        lijun = session.scalars(select(User.id).where(User.username == "lijun")).one()
        revisions = session.scalars(select(EntryRevision).order_by(EntryRevision.id)).all()
        assert [(r.field, r.new_value, r.reason) for r in revisions] == [
            ("status", "done", "电话已答复"),
            ("responsible_user_id", str(lijun), "移交: 交班"),
        ]
    engine.dispose()
