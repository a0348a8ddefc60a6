"""Building a web desk over a real database, seeded with staff, calls and WAV files."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from flask import Flask
from sqlalchemy.orm import Session

from admin import create_app
from hotline.app import App
from hotline.settings import load_settings
from recorder import db, staff
from recorder.models import (
    Call,
    Direction,
    Disposition,
    EntryStatus,
    FieldSource,
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
    return create_app(app, {"TESTING": True, "CLOCK": lambda: NOW, **config})


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
