"""Building a web desk over a real database, seeded with staff, calls and WAV files."""

from __future__ import annotations

import threading
import wave
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask
from sqlalchemy.orm import Session

from admin.app import create_app
from hotline.app import App
from hotline.settings import load_settings
from recorder import db, dispatch, staff
from recorder.models import (
    Call,
    ComplianceResult,
    Direction,
    Disposition,
    EntryStatus,
    FieldSource,
    LogEntry,
    Recording,
    RecordingState,
    Role,
    Transcript,
    Urgency,
)
from recorder.reception_log import new_entry

PASSWORD = "correct horse 1"
#: 2026-11-23 10:00 in Asia/Shanghai: the tests' "now".
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)
WORDS = [
    {"word": "您好", "start": 0.2, "end": 0.6, "conf": 0.95},
    {"word": "厨房", "start": 1.1, "end": 1.5, "conf": 0.91},
    {"word": "漏水", "start": 2.3, "end": 2.8, "conf": 0.42},
    {"word": "<script>alert(1)</script>", "start": 3.1, "end": 3.4, "conf": 0.9},
]


def make_app(tmp: Path, database_url: str, **admin: object) -> App:
    overrides = {
        "paths": {"data_dir": (str(tmp / "var"), "--data-dir")},
        "database": {"url": (database_url, "--database-url")},
    }
    if admin:
        overrides["admin"] = {k: (v, f"--{k}") for k, v in admin.items()}
    app = App(load_settings(None, overrides, environ={}))
    db.upgrade(app.engine)
    return app


def web(app: App, **config: object) -> Flask:
    return create_app(
        app.settings,
        app.sessions,
        lambda: app.content,
        {"TESTING": True, "CLOCK": lambda: NOW, **config},
    )


def stereo_wav(path: Path, seconds: float = 4.0, rate: int = 8000) -> Path:
    """Left: the caller (a 440 Hz tone), right: the staff (660 Hz, second half)."""
    t = np.arange(int(seconds * rate)) / rate
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    right = np.where(t > seconds / 2, 0.3 * np.sin(2 * np.pi * 660 * t), 0.0)
    pcm = (np.stack([left, right], axis=1) * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return path


@dataclass
class Seeded:
    clerk: int
    supervisor: int
    admin: int
    entry: int
    missed_entry: int
    recording: int


def seed(session: Session, recordings: Path) -> Seeded:
    """Three staff, a bridged call with its recording and transcripts, and a missed call."""
    users = {
        role: staff.add_user(session, role.value, name, f"00{i}", role, PASSWORD)
        for i, (role, name) in enumerate(
            [(Role.CLERK, "王芳"), (Role.SUPERVISOR, "李主管"), (Role.ADMIN, "赵管理")]
        )
    }
    session.flush()
    call = Call(
        call_id="call-1@test",
        direction=Direction.INBOUND,
        caller_number="13812345678",
        invite_at=NOW - timedelta(minutes=30),
        answered_at=NOW - timedelta(minutes=30),
        disposition=Disposition.ANSWERED,
    )
    session.add(call)
    session.flush()
    path = stereo_wav(recordings / "call-1.wav")
    recording = Recording(
        call_pk=call.id,
        path=str(path),
        channels="caller,staff",
        duration_s=4.0,
        state=RecordingState.COMPLETE,
    )
    session.add(recording)
    session.flush()
    for channel, words in (("caller", WORDS), ("staff", WORDS[:1])):
        session.add(
            Transcript(
                call_pk=call.id,
                recording_id=recording.id,
                engine="vosk",
                model="test",
                language="zh",
                channel=channel,
                text=" ".join(w["word"] for w in words),
                words=words,
            )
        )
    entry = new_entry(
        session,
        {
            "call_pk": call.id,
            "received_at": NOW - timedelta(minutes=30),
            "caller_number": "13812345678",
            "surname": "张",
            "unit": "3栋2单元501",
            "category": "repair",
            "urgency": Urgency.LEAK,
            "summary": "厨房水管漏水 <script>alert('x')</script>",
            "follow_up_due": TODAY - timedelta(days=1),
            "status": EntryStatus.DISPATCHED,
            "responsible_user_id": users[Role.CLERK].id,
        },
        FieldSource.AUTO,
    )
    missed_call = Call(
        call_id="call-2@test",
        direction=Direction.INBOUND,
        caller_number="13900001111",
        invite_at=NOW - timedelta(minutes=10),
        disposition=Disposition.MISSED,
    )
    session.add(missed_call)
    session.flush()
    missed = new_entry(
        session,
        {
            "call_pk": missed_call.id,
            "received_at": NOW - timedelta(minutes=10),
            "caller_number": "13900001111",
            "summary": "未接来电",
        },
        FieldSource.AUTO,
    )
    session.flush()
    return Seeded(
        users[Role.CLERK].id,
        users[Role.SUPERVISOR].id,
        users[Role.ADMIN].id,
        entry.id,
        missed.id,
        recording.id,
    )


@dataclass
class SupervisionSeeded:
    flagged_entry: int
    late_order: int
    late_order_entry: int
    open_order: int
    open_order_entry: int


def _add_call(
    session: Session, name: str, at: datetime, disposition: Disposition, rings: int
) -> Call:
    call = Call(
        call_id=f"{name}@test",
        direction=Direction.INBOUND,
        caller_number="13700002222",
        invite_at=at,
        answered_at=at + timedelta(seconds=5 * rings)
        if disposition is Disposition.ANSWERED
        else None,
        ended_at=at + timedelta(minutes=2),
        ring_count=rings,
        disposition=disposition,
    )
    session.add(call)
    session.flush()
    return call


def _result(
    session: Session, call: Call, by: str, user: int | None, passed: bool, **extra: Any
) -> None:
    checks = {
        name: True
        for name in (
            "greeting",
            "organization",
            "staff_id",
            "offer_help",
            "surname_asked",
            "closing",
        )
    }
    checks.update(extra.pop("failed", {}))
    session.add(
        ComplianceResult(
            call_pk=call.id,
            answered_by=by,
            user_id=user,
            within_rings=call.ring_count <= 3,
            passed=passed,
            checks=checks,
            forbidden=extra.get("forbidden", []),
            findings=extra.get("findings", []),
        )
    )


def seed_supervision(session: Session, seeded: Seeded) -> SupervisionSeeded:
    """On top of `seed`: calls of today, this month and last month with script checks,
    a flagged call on the recorded entry, and work orders (one past its 18:00 check)."""
    clerk = seeded.clerk
    call_1 = session.get_one(Call, session.get_one(LogEntry, seeded.entry).call_pk)
    call_1.ring_count = 2
    _result(
        session,
        call_1,
        "staff",
        clerk,
        False,
        failed={"staff_id": False, "surname_asked": False},
        forbidden=["不知道"],
        findings=[
            {"check": "greeting", "phrase": "您好", "at_s": 0.2},
            {"check": "forbidden", "phrase": "不知道", "at_s": 2.3},
        ],
    )
    hour = timedelta(hours=1)
    _result(
        session,
        _add_call(session, "s-3", NOW - 2 * hour, Disposition.ANSWERED, 2),
        "agent",
        None,
        True,
    )
    _result(
        session,
        _add_call(session, "s-4", NOW - 3 * hour, Disposition.ANSWERED, 4),
        "staff",
        clerk,
        True,
    )
    missed = _add_call(session, "s-5", NOW - 4 * hour, Disposition.MISSED, 5)
    called_back = _add_call(session, "s-6", NOW - 5 * hour, Disposition.ABANDONED, 1)
    for call, status in ((missed, EntryStatus.RECEIVED), (called_back, EntryStatus.DONE)):
        new_entry(
            session,
            {
                "call_pk": call.id,
                "received_at": call.invite_at,
                "summary": "未接来电",
                "status": status,
            },
            FieldSource.AUTO,
        )
    earlier = _add_call(session, "s-7", NOW - 3 * timedelta(days=1), Disposition.ANSWERED, 1)
    _result(session, earlier, "agent", None, False, failed={"closing": False})
    _add_call(session, "s-8", NOW - 30 * timedelta(days=1), Disposition.ANSWERED, 1)
    departments = ["工程部", "保洁部", "保安部", "客服部"]

    def matter(at: datetime, summary: str, due: date) -> LogEntry:
        entry = new_entry(
            session,
            {
                "received_at": at,
                "category": "repair",
                "summary": summary,
                "unit": "5栋1单元101",
                "responsible_user_id": clerk,
                "follow_up_due": due,
            },
            FieldSource.AUTO,
        )
        session.flush()
        return entry

    late = matter(NOW - 3 * timedelta(days=1), "楼道灯不亮", TODAY + timedelta(days=4))
    late_order = dispatch.dispatch(
        session, late, "工程部", departments, seeded.supervisor, now=late.received_at + hour
    )
    done = matter(NOW - 2 * hour, "水龙头滴水", TODAY + timedelta(days=7))
    order = dispatch.dispatch(
        session, done, "工程部", departments, seeded.supervisor, now=NOW - hour - hour / 2
    )
    dispatch.complete(session, order, True, seeded.supervisor, now=NOW - hour / 2)
    absent = matter(NOW - 2 * hour, "门禁打不开", TODAY - timedelta(days=1))
    order = dispatch.dispatch(
        session, absent, "保安部", departments, seeded.supervisor, now=NOW - hour
    )
    dispatch.complete(
        session, order, False, seeded.supervisor, reason="业主不在家", now=NOW - hour / 4
    )
    still = matter(NOW - hour, "电梯异响", TODAY + timedelta(days=7))
    open_order = dispatch.dispatch(
        session, still, "工程部", departments, seeded.supervisor, now=NOW - hour / 2
    )
    session.flush()
    return SupervisionSeeded(seeded.entry, late_order.id, late.id, open_order.id, still.id)


def stop_waitress(server: Any, thread: threading.Thread) -> None:
    """Stop a waitress server run in `thread`: every channel is closed from inside its
    own loop (closing them from here breaks the select it is waiting in: EBADF)."""

    def close_all() -> None:
        for channel in list(server._map.values()):
            channel.close()

    server.trigger.pull_trigger(close_all)
    thread.join(timeout=10)
    server.task_dispatcher.shutdown()
