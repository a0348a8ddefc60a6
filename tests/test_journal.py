"""The call-event journal: nothing the agent reports is lost while the database is away.

Unit tests drive `JournaledCallLog` over a fake target (ordering, back-off,
replay, a torn line, pruning, a journal that cannot be written); the
integration tests use a real PostgreSQL server that is stopped and started
again, and a process killed with SIGKILL between append and apply. Each
test says what is kept.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hotline.app import App
from hotline.settings import QueueSettings, Settings, load_settings
from recorder import db
from recorder.calls import (
    ClerkRing,
    DatabaseCallLog,
    RtpStats,
    UnknownCall,
)
from recorder.db_retry import Backoff
from recorder.journal import JournaledCallLog
from recorder.journal_files import EVENTS as JOURNAL_EVENTS
from recorder.journal_files import REJECTED, WATERMARK
from recorder.models import (
    AnsweredBy,
    AuditEvent,
    Call,
    CallLeg,
    Direction,
    Disposition,
    LegResult,
    LogEntry,
    Recording,
    RecordingState,
)
from recorder.queue import CallQueue, make_huey
from recorder.recording_alarm import NO_RECORDING, RECORDING_FAILED
from recorder.wav import WavInfo, WavWriter, sha256_of
from tests.conftest import new_pg_database
from tests.support.postgres import PostgresCluster
from tests.support.processes import wait_until
from tests.test_pipeline import FakeEngine, pipeline

T0 = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
FAST = Backoff(first_s=0.01, max_s=0.05)
LEAK = "喂 你好 我 是 三 栋 二 单元 五 零 一 的 我 姓 王 我 家 卫生间 漏水 了"


class FakeTarget:
    """Stands in for DatabaseCallLog: records what is applied; can fail on cue."""

    def __init__(self) -> None:
        self.applied: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[str, list[BaseException]] = {}
        self.attempts: list[tuple[str, float]] = []
        self.lock = threading.Lock()

    def fail(self, name: str, *errors: BaseException) -> None:
        self.failures.setdefault(name, []).extend(errors)

    def names(self) -> list[str]:
        with self.lock:
            return [name for name, _ in self.applied]

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name not in JOURNAL_EVENTS:
            raise AttributeError(name)

        def event(**kwargs: Any) -> None:
            with self.lock:
                self.attempts.append((name, time.monotonic()))
                pending = self.failures.get(name)
                if pending:
                    raise pending.pop(0)
                self.applied.append((name, kwargs))

        return event


def unreachable() -> OperationalError:
    return OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


def wav_info(path: Path) -> WavInfo:
    return WavInfo(path, 8000, 1, 2, 8000, 16044, "ab" * 32)


def feed_call(log: Any, call_id: str, path: Path, info: WavInfo | None = None) -> None:
    """A full answered call's events, as the agent reports them."""
    log.call_started(call_id, "13800138000", "8001", T0)
    log.call_ringing(call_id, T0 + timedelta(milliseconds=5))
    log.call_answered(call_id, T0 + timedelta(seconds=6), 2, AnsweredBy.AGENT, codec="PCMU")
    log.recording_started(call_id, path, "caller", 8000, T0 + timedelta(seconds=6))
    log.recording_closed(call_id, info or wav_info(path), T0 + timedelta(seconds=30))
    log.call_ended(
        call_id,
        T0 + timedelta(seconds=30),
        Disposition.ANSWERED,
        "caller BYE",
        "recording",
        RtpStats(packets_received=1200, packets_lost=3, jitter_ms=2.5),
    )


EVENTS = [
    "call_started",
    "call_ringing",
    "call_answered",
    "recording_started",
    "recording_closed",
    "call_ended",
]


def journal_lines(folder: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(folder.glob("????-??-??.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


# Unit tests: a fake target.


def test_events_are_on_disk_before_they_are_applied_then_applied_in_order(
    tmp_path: Path,
) -> None:
    """What is kept: every event as a line on disk before the call goes on; the order."""
    target = FakeTarget()
    log = JournaledCallLog(target, tmp_path / "journal", FAST)
    feed_call(log, "c1", tmp_path / "c1.wav")
    lines = journal_lines(tmp_path / "journal")
    assert [line["event"] for line in lines] == EVENTS
    assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert target.applied == [] and log.pending == 6  # no applier yet: only the journal has them
    with log.start():
        assert log.wait_applied(5)
    assert target.names() == EVENTS
    started, _, answered, _, closed, ended = (kwargs for _, kwargs in target.applied)
    # Read back as the types the agent passed, not as JSON strings.
    assert started["at"] == T0 and started["direction"] is Direction.INBOUND
    assert answered["answered_by"] is AnsweredBy.AGENT and answered["codec"] == "PCMU"
    assert closed["info"] == wav_info(tmp_path / "c1.wav")
    assert ended["disposition"] is Disposition.ANSWERED
    assert ended["rtp"] == RtpStats(1200, 3, 2.5)
    assert (tmp_path / "journal" / WATERMARK).read_text().strip() == "6"


def test_the_applier_retries_with_back_off_and_keeps_the_order(tmp_path: Path) -> None:
    """What is kept: the answered event through four failed attempts, and the events after it
    wait for it (a call is never ended before it was answered)."""
    target = FakeTarget()
    target.fail("call_answered", *(unreachable() for _ in range(4)))
    backoff = Backoff(first_s=0.04, max_s=0.12)
    with JournaledCallLog(target, tmp_path / "journal", backoff) as log:
        feed_call(log, "c1", tmp_path / "c1.wav")
        assert log.wait_applied(5)
    assert target.names() == EVENTS
    tries = [at for name, at in target.attempts if name == "call_answered"]
    gaps = np.diff(tries)
    assert len(tries) == 5
    # 0.04, 0.08, then capped at 0.12 (0.16 and 0.32 without the cap); timers are only late.
    assert list(gaps >= [0.04, 0.08, 0.12, 0.12]) == [True] * 4
    assert gaps[3] < 0.25


def test_an_event_the_database_refuses_is_kept_aside_and_the_rest_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What is kept: the refused event in rejected.jsonl with its error; every other event."""
    target = FakeTarget()
    target.fail("call_ringing", UnknownCall("no call 'c1'"))
    with JournaledCallLog(target, tmp_path / "journal", FAST) as log:
        feed_call(log, "c1", tmp_path / "c1.wav")
        assert log.wait_applied(5)
    assert target.names() == [e for e in EVENTS if e != "call_ringing"]
    (rejected,) = journal_rejected(tmp_path / "journal")
    assert rejected["event"] == "call_ringing" and "UnknownCall" in rejected["error"]
    assert "call_ringing #2 refused by the database" in caplog.text


def journal_rejected(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / REJECTED).read_text().splitlines()]


def test_a_restart_replays_exactly_the_events_not_yet_applied(tmp_path: Path) -> None:
    """What is kept: the three events appended after the database went away, applied once
    by the next run; the three applied before are not applied again."""
    folder = tmp_path / "journal"
    first = FakeTarget()
    with JournaledCallLog(first, folder, FAST) as log:
        log.call_started("c1", "13800138000", "8001", T0)
        log.call_ringing("c1", T0)
        log.call_answered("c1", T0, 2, AnsweredBy.AGENT)
        assert log.wait_applied(5)
        first.fail("recording_started", *(unreachable() for _ in range(1000)))
        log.recording_started("c1", tmp_path / "c1.wav", "caller", 8000, T0)
        log.recording_closed("c1", wav_info(tmp_path / "c1.wav"), T0)
        log.call_ended("c1", T0, Disposition.ANSWERED, "caller BYE", "recording")
        assert not log.close(timeout=0.2)  # the database stays away: the agent stops
    assert first.names() == EVENTS[:3]
    second = FakeTarget()
    with JournaledCallLog(second, folder, FAST) as log:
        assert log.wait_applied(5)
    assert second.names() == EVENTS[3:]
    third = FakeTarget()
    with JournaledCallLog(third, folder, FAST) as log:
        assert log.pending == 0
    assert third.applied == []
    # New events continue the sequence after a restart.
    with JournaledCallLog(FakeTarget(), folder, FAST) as log:
        log.call_started("c2", None, None, T0)
    assert journal_lines(folder)[-1]["seq"] == 7


def test_the_call_flows_events_survive_a_restart_from_disk(
    tmp_path: Path, sqlite_sessions: sessionmaker[Session]
) -> None:
    """What is kept: the key the caller pressed, the clerks rung and who joined, journaled
    while the database was away and read back from disk by the next run (an event name
    the reader did not know was once skipped as unreadable, and the menu choice lost)."""
    folder = tmp_path / "journal"
    away = FakeTarget()
    away.fail("call_started", *(unreachable() for _ in range(1000)))
    rang = [
        ClerkRing("8002", None, T0 + timedelta(seconds=9), 0.9, LegResult.BUSY),
        ClerkRing("8003", None, T0 + timedelta(seconds=10), 2.5, LegResult.ANSWERED),
    ]
    with JournaledCallLog(away, folder, FAST) as log:
        log.call_started("flow-1", "13800138000", "8001", T0)
        log.call_answered("flow-1", T0 + timedelta(seconds=1), 1, AnsweredBy.AGENT)
        log.menu_chosen("flow-1", "repair")
        log.clerks_rung("flow-1", rang)
        log.staff_joined("flow-1", None, T0 + timedelta(seconds=12))
        log.call_ended("flow-1", T0 + timedelta(seconds=40), Disposition.ANSWERED, None, "bridged")
        assert not log.close(timeout=0.2)
    assert away.names() == []
    with JournaledCallLog(DatabaseCallLog(sqlite_sessions), folder, FAST) as log:
        assert log.wait_applied(5)
    assert not (folder / REJECTED).exists()
    with sqlite_sessions() as s:
        call = s.scalars(select(Call)).one()
        legs = s.scalars(select(CallLeg).order_by(CallLeg.seq)).all()
        assert call.menu_category == "repair" and call.ended_in == "bridged"
        assert [(leg.extension, leg.result, leg.ring_seconds) for leg in legs] == [
            ("8002", LegResult.BUSY, 0.9),
            ("8003", LegResult.ANSWERED, 2.5),
        ]


def test_who_answered_elsewhere_survives_a_restart_from_disk(
    tmp_path: Path, sqlite_sessions: sessionmaker[Session]
) -> None:
    """What is kept: the clerk the PBX's CANCEL named (issue 20), journaled while the
    database was away and stored on the call by the next run."""
    folder = tmp_path / "journal"
    away = FakeTarget()
    away.fail("call_started", *(unreachable() for _ in range(1000)))
    with JournaledCallLog(away, folder, FAST) as log:
        log.call_started("ring-1", "13800138000", "8001", T0)
        at = T0 + timedelta(seconds=6)
        log.call_answered("ring-1", at, 2, AnsweredBy.STAFF, answerer="张三 (8002)")
        log.call_ended("ring-1", at, Disposition.ANSWERED, "CANCEL", "elsewhere")
        assert not log.close(timeout=0.2)
    with JournaledCallLog(DatabaseCallLog(sqlite_sessions), folder, FAST) as log:
        assert log.wait_applied(5)
    with sqlite_sessions() as s:
        call = s.scalars(select(Call)).one()
        assert (call.answered_elsewhere, call.answered_elsewhere_by) == (True, "张三 (8002)")


def test_an_event_applied_but_not_yet_marked_is_applied_again(tmp_path: Path) -> None:
    """A kill between apply and watermark: the event is applied a second time, once; the
    target must be idempotent (DatabaseCallLog is: see the PostgreSQL tests below)."""
    folder = tmp_path / "journal"
    with JournaledCallLog(FakeTarget(), folder, FAST) as log:
        feed_call(log, "c1", tmp_path / "c1.wav")
    (folder / WATERMARK).write_text("5\n")  # call_ended applied, the mark lost
    again = FakeTarget()
    with JournaledCallLog(again, folder, FAST) as log:
        assert log.wait_applied(5)
    assert again.names() == ["call_ended"]


def test_a_torn_last_line_is_cut_off_and_the_journal_goes_on(tmp_path: Path) -> None:
    """A crash in mid-append: the torn line (never acknowledged to the agent) is dropped,
    every complete line before it is kept and the next append starts a clean line."""
    folder = tmp_path / "journal"
    with JournaledCallLog(FakeTarget(), folder, FAST) as log:
        log.call_started("c1", None, None, T0)
        log.call_ringing("c1", T0)
    (folder / WATERMARK).unlink()
    (today,) = folder.glob("????-??-??.jsonl")
    with today.open("ab") as fh:
        fh.write(b'{"seq": 3, "event": "call_answ')
    target = FakeTarget()
    with JournaledCallLog(target, folder, FAST) as log:
        log.call_ended("c1", T0, Disposition.MISSED, "CANCEL", "ringing")
        assert log.wait_applied(5)
    assert target.names() == ["call_started", "call_ringing", "call_ended"]
    assert [line["seq"] for line in journal_lines(folder)] == [1, 2, 3]


def test_applied_files_older_than_a_day_are_removed(tmp_path: Path) -> None:
    """What is kept: today's and yesterday's files, and any file with an event not applied."""
    folder = tmp_path / "journal"
    now = [T0]

    def files() -> set[str]:
        return {path.name for path in folder.glob("*.jsonl")}

    def run(target: FakeTarget) -> JournaledCallLog:
        return JournaledCallLog(target, folder, FAST, clock=lambda: now[0]).start()

    log = run(FakeTarget())
    log.call_started("day-1", None, None, now[0])
    assert log.close()
    now[0] = T0 + timedelta(days=1)
    stuck = FakeTarget()
    stuck.fail("call_ringing", *(unreachable() for _ in range(1000)))
    log = run(stuck)
    log.call_started("day-2", None, None, now[0])
    log.call_ringing("day-2", now[0])  # not applied: the database stays away
    assert not log.close(timeout=0.2)
    assert files() == {"2026-11-23.jsonl", "2026-11-24.jsonl"}  # yesterday's is kept a day
    now[0] = T0 + timedelta(days=3)
    assert not run(stuck).close(timeout=0.2)
    assert files() == {"2026-11-24.jsonl"}  # 11-23 is applied and old; 11-24 is not applied
    assert run(FakeTarget()).close()
    assert run(FakeTarget()).close()
    assert files() == set()


def test_when_the_journal_cannot_be_written_events_are_still_applied(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The journal's disk is full (/dev/full): an ALARM is logged and the events are applied
    from memory; nothing the agent reported is dropped while the process lives."""
    folder = tmp_path / "journal"
    target = FakeTarget()
    with JournaledCallLog(target, folder, FAST) as log:
        (folder / f"{datetime.now(UTC).date().isoformat()}.jsonl").symlink_to("/dev/full")
        feed_call(log, "c1", tmp_path / "c1.wav")
        assert log.wait_applied(5)
    assert target.names() == EVENTS
    assert "ALARM: the journal" in caplog.text and "cannot be written" in caplog.text


def test_a_recording_alarm_is_journaled_once_per_call(tmp_path: Path) -> None:
    """What is kept: one alarm per call although the agent reports every failed frame."""
    target = FakeTarget()
    with JournaledCallLog(target, tmp_path / "journal", FAST) as log:
        log.call_started("c1", None, None, T0)
        for _ in range(50):
            log.recording_failed("c1", "No space left on device", T0)
        log.call_ended("c1", T0, Disposition.ANSWERED, "caller BYE", "recording")
        assert log.wait_applied(5)
    assert target.names() == ["call_started", "recording_failed", "call_ended"]
    assert target.applied[1][1] == {"call_id": "c1", "reason": "No space left on device", "at": T0}


# Integration: DatabaseCallLog on SQLite and a real PostgreSQL, the pipeline behind on_ended.


def recorded(path: Path, seconds: float = 1.0) -> WavInfo:
    """A real recording on disk, as the agent leaves it."""
    with WavWriter(path) as writer:
        writer.write(np.full(int(8000 * seconds), 300, dtype="<i2").tobytes())
    return writer.close()


def pipeline_hook(sessions: sessionmaker[Session]) -> tuple[Callable[[str], None], list[str]]:
    """on_ended as the composition root wires it: the call queue (in memory, run at once)."""
    settings = Settings(queue=QueueSettings(backend="memory"))
    work = pipeline(sessions, FakeEngine({"mono": LEAK}))
    queue = CallQueue(make_huey(settings), settings, lambda: work)
    enqueued: list[str] = []

    def on_ended(call_id: str) -> None:
        enqueued.append(call_id)
        queue.enqueue(call_id)

    return on_ended, enqueued


def rows(sessions: sessionmaker[Session]) -> dict[str, Any]:
    with sessions() as s:
        return {
            "calls": s.execute(
                select(
                    Call.call_id,
                    Call.disposition,
                    Call.answered_at,
                    Call.ended_at,
                    Call.rtp_packets_lost,
                    Call.interrupted,
                ).order_by(Call.call_id)
            ).all(),
            "recordings": s.execute(
                select(Recording.path, Recording.state, Recording.sha256, Recording.duration_s)
            ).all(),
            "entries": s.execute(
                select(LogEntry.id, LogEntry.call_pk, LogEntry.category).order_by(LogEntry.id)
            ).all(),
            "alarms": s.execute(
                select(AuditEvent.target, AuditEvent.detail).where(
                    AuditEvent.action == RECORDING_FAILED
                )
            ).all(),
        }


def test_replaying_every_event_again_leaves_the_same_rows(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """The watermark lost altogether: every event is applied twice. What is kept: one call row
    each, one recording, one alarm, one reception-log entry each, with the same values."""
    folder = tmp_path / "journal"
    on_ended, enqueued = pipeline_hook(sessions)
    info = recorded(tmp_path / "c1.wav")
    with JournaledCallLog(DatabaseCallLog(sessions, on_ended=on_ended), folder, FAST) as log:
        feed_call(log, "c1", info.path, info)
        log.call_started("c2", "02188886666", "8001", T0)
        log.call_answered("c2", T0 + timedelta(seconds=6), 2, AnsweredBy.AGENT)
        log.recording_failed("c2", "cannot record: No space left on device", T0)
        log.call_ended("c2", T0 + timedelta(seconds=20), Disposition.ANSWERED, "BYE", "closing")
        assert log.wait_applied(30)
    first = rows(sessions)
    assert [call[0] for call in first["calls"]] == ["c1", "c2"]
    assert first["recordings"] == [
        (str(info.path), RecordingState.COMPLETE, info.sha256, pytest.approx(1.0))
    ]
    assert len(first["entries"]) == 2 and first["entries"][0][2] == "repair"
    # The admin sees the alarm on its Audit page.
    assert first["alarms"] == [
        ("call:c2", {"call_id": "c2", "reason": "cannot record: No space left on device"})
    ]
    (folder / WATERMARK).write_text("0\n")
    log = JournaledCallLog(DatabaseCallLog(sessions, on_ended=on_ended), folder, FAST)
    assert log.pending == 10
    with log.start():
        assert log.wait_applied(30)
    assert enqueued == ["c1", "c2", "c1", "c2"]  # the pipeline ran again, and made nothing new
    assert rows(sessions) == first


def test_an_answered_call_without_a_recording_raises_the_alarm(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """The safety net behind the agent's own report: an answered call that ended with no
    recording is an alarm on the admin's Audit page. A missed call (nothing to record) and
    a recorded call raise none."""
    log = DatabaseCallLog(sessions)
    for call_id in ("unrecorded", "missed", "recorded"):
        log.call_started(call_id, "13800138000", "8001", T0)
    log.call_answered("unrecorded", T0, 1, AnsweredBy.AGENT)
    log.call_answered("recorded", T0, 1, AnsweredBy.AGENT)
    log.recording_started("recorded", tmp_path / "r.wav", "caller", 8000, T0)
    log.call_ended("unrecorded", T0, Disposition.ANSWERED, "agent BYE", "closing")
    log.call_ended("missed", T0, Disposition.MISSED, "CANCEL", "ringing")
    log.call_ended("recorded", T0, Disposition.ANSWERED, "agent BYE", "closing")
    assert rows(sessions)["alarms"] == [
        ("call:unrecorded", {"call_id": "unrecorded", "reason": NO_RECORDING})
    ]


@pytest.fixture
def pg_sessions(stoppable_pg: PostgresCluster) -> Iterator[sessionmaker[Session]]:
    if not stoppable_pg.running:
        stoppable_pg.start()  # a test before failed with the server stopped
    engine = db.make_engine(new_pg_database((stoppable_pg.host, stoppable_pg.port)))
    db.upgrade(engine)
    yield db.session_factory(engine)
    engine.dispose()


def test_postgresql_stopped_during_a_call_gets_every_event_once_it_is_back(
    stoppable_pg: PostgresCluster,
    pg_sessions: sessionmaker[Session],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What is kept: the whole call in the journal while PostgreSQL is down (the agent is
    not held up); once it is back, one call row, its recording and one log entry."""
    caplog.set_level(logging.WARNING, logger="recorder.db_retry")
    folder = tmp_path / "journal"
    on_ended, enqueued = pipeline_hook(pg_sessions)
    info = recorded(tmp_path / "pg-1.wav")
    log = JournaledCallLog(
        DatabaseCallLog(pg_sessions, on_ended=on_ended), folder, Backoff(0.05, 0.5)
    ).start()
    try:
        stoppable_pg.stop()
        started = time.monotonic()
        feed_call(log, "pg-1", info.path, info)
        assert time.monotonic() - started < 1.0  # six fsync'ed appends, no database wait
        wait_until(lambda: "database unreachable" in caplog.text, 20, "the applier to retry")
        with pytest.raises(OperationalError), pg_sessions() as s:
            s.execute(select(1))  # the server is down: nothing can have reached it
        assert [line["event"] for line in journal_lines(folder)] == EVENTS
        assert log.pending == 6 and log.applied == 0 and enqueued == []
        stoppable_pg.start()
        assert log.wait_applied(60)
    finally:
        log.close(timeout=5)
    assert "database reachable again" in caplog.text
    found = rows(pg_sessions)
    ((call_id, disposition, answered_at, ended_at, lost, interrupted),) = found["calls"]
    assert (call_id, disposition, lost, interrupted) == ("pg-1", Disposition.ANSWERED, 3, False)
    assert (answered_at, ended_at) == (T0 + timedelta(seconds=6), T0 + timedelta(seconds=30))
    assert found["recordings"] == [
        (str(info.path), RecordingState.COMPLETE, info.sha256, pytest.approx(1.0))
    ]
    assert len(found["entries"]) == 1 and found["entries"][0][2] == "repair"
    assert enqueued == ["pg-1"]


AGENT_KILLED_AFTER_APPENDING = """
import sys, threading
from pathlib import Path
from recorder import db
from recorder.calls import DatabaseCallLog
from recorder.db_retry import Backoff
from recorder.journal import JournaledCallLog
from recorder.wav import WavWriter
from tests.test_journal import feed_call

url, folder, wav = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
sessions = db.session_factory(db.make_engine(url))
log = JournaledCallLog(DatabaseCallLog(sessions), folder, Backoff(0.05, 0.5)).start()
with WavWriter(wav) as writer:
    writer.write(b"\\x2c\\x01" * 8000)
feed_call(log, "killed-1", wav, writer.close())
print("appended", flush=True)
threading.Event().wait()  # the applier retries until the kill
"""


def test_an_agent_killed_between_append_and_apply_is_replayed_exactly_once(
    stoppable_pg: PostgresCluster, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """kill -9 of an agent whose events are journaled but not applied (PostgreSQL was down).
    What is kept: the journal and the recording; the next start applies the call once, and
    a start after that applies nothing again."""
    folder, wav = tmp_path / "journal", tmp_path / "killed-1.wav"
    with pg_sessions() as s:
        url = s.get_bind().url.render_as_string(hide_password=False)
    stoppable_pg.stop()
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", AGENT_KILLED_AFTER_APPENDING, url, str(folder), str(wav)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == b"appended\n"
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=10)
    finally:
        stoppable_pg.start()
    assert [line["event"] for line in journal_lines(folder)] == EVENTS
    assert rows(pg_sessions)["calls"] == []  # nothing reached the database before the kill
    on_ended, enqueued = pipeline_hook(pg_sessions)
    log = JournaledCallLog(DatabaseCallLog(pg_sessions, on_ended=on_ended), folder, FAST)
    assert log.pending == 6
    with log.start():
        assert log.wait_applied(30)
    log = JournaledCallLog(DatabaseCallLog(pg_sessions, on_ended=on_ended), folder, FAST)
    assert log.pending == 0  # the restart after that has nothing to replay
    with log.start():
        assert log.wait_applied(5)
    found = rows(pg_sessions)
    assert [call[0] for call in found["calls"]] == ["killed-1"]
    ((path, state, sha, _),) = found["recordings"]
    assert (path, state, sha) == (str(wav), RecordingState.COMPLETE, sha256_of(wav))
    assert len(found["entries"]) == 1
    assert enqueued == ["killed-1"]


def test_the_agent_start_replays_the_journal_before_it_recovers(tmp_path: Path) -> None:
    """An agent stopped with two calls journaled and not applied: one had ended, one was cut
    off mid-recording. What is kept: the ended call as answered (not taken for interrupted)
    with its complete recording; the cut-off call interrupted with its recording repaired;
    a reception-log entry for each, made by the pipeline behind on_ended and recovery."""
    config = tmp_path / "hotline.toml"
    config.write_text(
        f'[paths]\ndata_dir = "{tmp_path / "var"}"\n[queue]\nbackend = "memory"\n',
        encoding="utf-8",
    )
    app = App(load_settings(config, environ={}))
    db.upgrade(app.engine)
    folder = app.settings.paths.data_dir / "journal"
    stopped = JournaledCallLog(FakeTarget(), folder)  # its applier never ran
    info = recorded(tmp_path / "done.wav")
    feed_call(stopped, "done", info.path, info)
    cut = tmp_path / "cut.wav"
    WavWriter(cut).write(b"\x2c\x01" * 16000)  # never closed: the agent died recording it
    stopped.call_started("cut", "13900001111", "8001", T0)
    stopped.call_answered("cut", T0 + timedelta(seconds=6), 2, AnsweredBy.AGENT)
    stopped.recording_started("cut", cut, "caller", 8000, T0 + timedelta(seconds=6))
    assert not stopped.close(timeout=0)
    try:
        result = app.recover()
        assert log_is_journaled(app) and app.call_log.pending == 0
    finally:
        app.close()
    assert (result.calls, result.repaired) == (["cut"], [str(cut)])
    found = rows(app.sessions)
    assert [call[:2] for call in found["calls"]] == [
        ("cut", Disposition.ANSWERED),
        ("done", Disposition.ANSWERED),
    ]
    assert [call[5] for call in found["calls"]] == [True, False]  # interrupted?
    assert sorted((path, state) for path, state, _, _ in found["recordings"]) == [
        (str(cut), RecordingState.REPAIRED),
        (str(info.path), RecordingState.COMPLETE),
    ]
    assert len(found["entries"]) == 2


def log_is_journaled(app: App) -> bool:
    return isinstance(app.call_log, JournaledCallLog) and app.call_log.folder == (
        app.settings.paths.data_dir / "journal"
    )
