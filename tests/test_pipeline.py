"""The call pipeline: every ended call ends up as exactly one reception-log entry."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hotline.content import load_content
from hotline.settings import Settings
from recorder.calls import ClerkRing, DatabaseCallLog
from recorder.models import (
    AnsweredBy,
    CallJob,
    Complaint,
    Disposition,
    EntryRevision,
    JobState,
    LegResult,
    LogEntry,
    Role,
    Transcript,
    Urgency,
    User,
)
from recorder.staff import add_user
from recorder.wav import WavWriter
from transcripts.engine import TranscriptResult
from transcripts.pipeline import CALLBACK_SUMMARY, CallNotReady, Pipeline

T0 = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


class FakeEngine:
    """Stands in for Vosk in unit tests: says a fixed text per channel."""

    def __init__(self, said: dict[str, str]) -> None:
        self.said = said
        self.calls = 0

    def transcribe_file(self, path: str) -> dict[str, TranscriptResult]:
        self.calls += 1
        return {
            channel: TranscriptResult(
                text,
                [
                    {"word": w, "start": i * 0.3, "end": i * 0.3 + 0.25, "conf": 0.9}
                    for i, w in enumerate(text.split())
                ],
                "vosk",
                "fake",
                "zh",
                channel,
                3.0,
            )
            for channel, text in self.said.items()
        }


def pipeline(sessions: sessionmaker[Session], engine: Any) -> Pipeline:
    return Pipeline(
        sessions,
        load_content(Settings()),
        Settings(),
        load_engine=lambda: engine,
        clock=lambda: T0 + timedelta(minutes=10),
    )


def answered_call(sessions: sessionmaker[Session], tmp_path: Path, call_id: str = "c1") -> None:
    log = DatabaseCallLog(sessions)
    log.call_started(call_id, "13800138000", "8001", T0)
    log.call_answered(call_id, T0 + timedelta(seconds=6), 2, AnsweredBy.AGENT)
    path = tmp_path / f"{call_id}.wav"
    log.recording_started(call_id, path, "caller", 8000, T0)
    with WavWriter(path) as writer:
        writer.write(np.zeros(8000, dtype="<i2").tobytes())
    log.recording_closed(call_id, writer.close(), T0 + timedelta(seconds=30))
    log.call_ended(
        call_id, T0 + timedelta(seconds=30), Disposition.ANSWERED, "caller BYE", "recording"
    )


LEAK = "喂 你好 我 是 三 栋 二 单元 五 零 一 的 我 姓 王 我 家 卫生间 漏水 了"


def test_an_answered_call_is_transcribed_and_logged_once(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    engine = FakeEngine({"mono": LEAK})
    answered_call(sqlite_sessions, tmp_path)
    work = pipeline(sqlite_sessions, engine)
    first = work.process_call("c1")
    again = work.process_call("c1")
    assert first.entry_id == again.entry_id and first.state is JobState.DONE
    assert engine.calls == 1  # the transcript is kept, not decoded twice
    with sqlite_sessions() as s:
        entry = s.scalars(select(LogEntry)).one()
        assert (entry.surname, entry.unit, entry.category, entry.urgency) == (
            "王",
            "3栋2单元501",
            "repair",
            Urgency.LEAK,
        )
        assert entry.caller_number == "13800138000" and entry.received_at == T0
        assert entry.follow_up_due == date(2026, 11, 26)  # 漏水项目维修三天内回访
        assert entry.field_sources["unit"] == "auto"
        (transcript,) = s.scalars(select(Transcript)).all()
        assert transcript.text.startswith("喂你好我是三栋") and transcript.words[0]["word"] == "喂"
        assert s.scalars(select(CallJob.state)).one() is JobState.DONE


def test_a_complaint_is_registered(sqlite_sessions: sessionmaker[Session], tmp_path: Path) -> None:
    answered_call(sqlite_sessions, tmp_path)
    pipeline(sqlite_sessions, FakeEngine({"mono": "我 要 投诉 报修 一直 没 修"})).process_call("c1")
    with sqlite_sessions() as s:
        assert s.scalars(select(Complaint.number)).one() == "TS-2026-0001"


@pytest.mark.parametrize("disposition", [Disposition.MISSED, Disposition.ABANDONED])
def test_missed_and_abandoned_calls_get_a_callback_entry_for_the_duty_clerk(
    sessions: sessionmaker[Session], disposition: Disposition
) -> None:
    with sessions.begin() as s:
        add_user(
            s,
            "newbie",
            "新人",
            "1001",
            Role.CLERK,
            "correct horse battery",
            independent=False,
            extension="801",
        )
        clerk = add_user(
            s, "wangfang", "王芳", "1023", Role.CLERK, "correct horse battery", extension="802"
        )
        s.flush()
        clerk_id = clerk.id
    log = DatabaseCallLog(sessions)
    log.call_started("m1", "02188886666", "8001", T0)
    log.call_ended("m1", T0 + timedelta(seconds=4), disposition, "CANCEL", "ringing")
    work = pipeline(sessions, None)
    work.process_call("m1")
    work.process_call("m1")
    with sessions() as s:
        entry = s.scalars(select(LogEntry)).one()
        assert entry.summary == CALLBACK_SUMMARY[disposition]
        assert entry.responsible_user_id == clerk_id  # not the staff member who may not work alone
        assert entry.phone == "02188886666"


def test_without_a_model_the_entry_waits_and_is_filled_later(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    answered_call(sqlite_sessions, tmp_path)
    waiting = pipeline(sqlite_sessions, None).process_call("c1")
    assert waiting.state is JobState.WAITING
    with sqlite_sessions() as s:
        entry = s.scalars(select(LogEntry)).one()
        assert (entry.summary, entry.needs_review, entry.caller_number) == (
            "",  # no placeholder saved as data: the job's state says it waits
            True,
            "13800138000",
        )
    later = pipeline(sqlite_sessions, FakeEngine({"mono": LEAK}))
    enqueued: list[str] = []
    assert later.sweep(enqueued.append) == ["c1"] == enqueued  # the model is there now
    assert later.process_call("c1").state is JobState.DONE
    with sqlite_sessions() as s:
        entry = s.scalars(select(LogEntry)).one()
        assert (entry.surname, entry.unit, entry.category) == ("王", "3栋2单元501", "repair")
        fields = {r.field for r in s.scalars(select(EntryRevision))}
        assert {"surname", "unit", "category", "summary"} <= fields  # every fill leaves a revision


def test_the_menu_key_the_caller_pressed_is_the_category_until_the_words_say_more(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """A caller who pressed 1 (repairs) in the call flow: with no speech model yet the
    entry is already a repair, not 'other'; what is kept is the caller's own choice."""
    answered_call(sessions, tmp_path, "menu-1")
    DatabaseCallLog(sessions).menu_chosen("menu-1", "repair")
    assert pipeline(sessions, None).process_call("menu-1").state is JobState.WAITING
    with sessions() as s:
        entry = s.scalars(select(LogEntry)).one()
        assert (entry.category, entry.summary) == ("repair", "")


def test_a_message_left_after_nobody_answered_belongs_to_the_first_clerk_rung(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """首问责任制: the first clerk rung owns the message even if the roster has changed
    (a shift change) by the time the worker writes the entry."""
    with sessions.begin() as s:
        rung = add_user(
            s, "lina", "李娜", "1024", Role.CLERK, "correct horse battery", extension="802"
        )
        s.flush()
        rung_id = rung.id
    answered_call(sessions, tmp_path, "legs-1")
    DatabaseCallLog(sessions).clerks_rung(
        "legs-1",
        [ClerkRing("802", rung_id, T0 + timedelta(seconds=9), 20.0, LegResult.NO_ANSWER)],
    )
    with sessions.begin() as s:  # the next shift: 李娜 is off the phones, 王芳 is on
        add_user(
            s, "wangfang", "王芳", "1023", Role.CLERK, "correct horse battery", extension="803"
        )
        s.get_one(User, rung_id).extension = None
    pipeline(sessions, None).process_call("legs-1")
    with sessions() as s:
        assert s.scalars(select(LogEntry.responsible_user_id)).one() == rung_id


def test_a_call_still_in_progress_is_not_processed(sqlite_sessions: sessionmaker[Session]) -> None:
    DatabaseCallLog(sqlite_sessions).call_started("live", "1", "2", T0)
    with pytest.raises(CallNotReady):
        pipeline(sqlite_sessions, None).process_call("live")
    with pytest.raises(CallNotReady):
        pipeline(sqlite_sessions, None).process_call("nobody")


def test_two_workers_on_one_call_make_one_entry(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    answered_call(sessions, tmp_path)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            pipeline(sessions, FakeEngine({"mono": LEAK})).process_call("c1")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(LogEntry)) == 1
        assert s.scalar(select(func.count()).select_from(Transcript)) == 1


def test_the_sweep_finds_calls_whose_job_was_lost(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    answered_call(sqlite_sessions, tmp_path, "lost")
    enqueued: list[str] = []
    assert pipeline(sqlite_sessions, None).sweep(enqueued.append) == ["lost"] == enqueued


def test_purge_keeps_entries_and_complaint_recordings_longer(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    from hotline.settings import RetentionSettings
    from recorder.models import Recording, RecordingState
    from recorder.retention import purge

    answered_call(sessions, tmp_path, "old-repair")
    answered_call(sessions, tmp_path, "old-complaint")
    pipeline(sessions, FakeEngine({"mono": LEAK})).process_call("old-repair")
    pipeline(sessions, FakeEngine({"mono": "我 要 投诉 物业 一直 没 人 管"})).process_call(
        "old-complaint"
    )
    rules = RetentionSettings(recording_days=30, complaint_recording_days=365)
    assert [p.path for p in purge(sessions, rules, T0 + timedelta(days=10))] == []
    dry = purge(sessions, rules, T0 + timedelta(days=40), dry_run=True)
    assert [Path(p.path).name for p in dry] == ["old-repair.wav"]
    assert (tmp_path / "old-repair.wav").exists()
    assert [Path(p.path).name for p in purge(sessions, rules, T0 + timedelta(days=40))] == [
        "old-repair.wav"
    ]
    assert not (tmp_path / "old-repair.wav").exists() and (tmp_path / "old-complaint.wav").exists()
    assert [Path(p.path).name for p in purge(sessions, rules, T0 + timedelta(days=400))] == [
        "old-complaint.wav"
    ]
    with sessions() as s:
        assert {r.state for r in s.scalars(select(Recording))} == {RecordingState.PURGED}
        assert s.scalar(select(func.count()).select_from(LogEntry)) == 2
