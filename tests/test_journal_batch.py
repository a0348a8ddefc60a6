"""The journal's applier puts what has piled up into one transaction (issue 19).

A burst of calls used to leave the last caller's live_calls row behind one
transaction per earlier event; now a run of pending events goes to
`DatabaseCallLog.batch()` together, each event in its own savepoint. Real SQLite;
each test says what is kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from recorder import db, journal, live_calls
from recorder.calls import DatabaseCallLog
from recorder.db_retry import Backoff
from recorder.journal import JournaledCallLog
from recorder.journal_files import REJECTED
from recorder.models import Call, Disposition

T0 = datetime(2026, 12, 8, 1, 30, tzinfo=UTC)
FAST = Backoff(first_s=0.01, max_s=0.05)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = db.make_engine(f"sqlite:///{tmp_path / 'hotline.db'}")
    db.upgrade(eng)
    yield eng
    eng.dispose()


def commits(engine: Engine) -> list[int]:
    counted: list[int] = []
    event.listen(engine, "commit", lambda _conn: counted.append(1))
    return counted


def burst(log: JournaledCallLog, calls: int) -> None:
    """`calls` callers at once, as the agent's call threads report them: each started
    and ringing, a stray event for a call never started in the middle, the first ended."""
    for i in range(calls):
        log.call_started(f"c{i}", f"1390000{i:04d}", "8001", T0 + timedelta(milliseconds=i))
        log.call_ringing(f"c{i}", T0 + timedelta(milliseconds=i + 1))
        if i == calls // 2:
            log.call_ringing("ghost", T0)
    log.call_ended("c0", T0 + timedelta(seconds=3), Disposition.MISSED, "CANCEL", "ringing")


@pytest.mark.parametrize(("batch_s", "transactions"), [(60.0, 1), (0.0, 42)])
def test_a_burst_of_calls_reaches_the_desk_in_one_transaction(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch, batch_s: float,
    transactions: int,
) -> None:  # fmt: skip
    """What is kept: every caller on the desk, the ended call off it with its pipeline
    run after its row was committed, and the stray event in rejected.jsonl. The 42
    events go in one transaction, or, once a batch has taken BATCH_S (here 0 s), the
    rest in the next ones (the burst's first callers reach the desk meanwhile)."""
    monkeypatch.setattr(journal, "BATCH_S", batch_s)
    sessions = db.session_factory(engine)
    ended_seen: list[datetime | None] = []

    def on_ended(call_id: str) -> None:  # the pipeline reads the committed row
        with sessions() as s:
            ended_seen.append(s.scalar(select(Call.ended_at).where(Call.call_id == call_id)))

    folder = tmp_path / "journal"
    log = JournaledCallLog(DatabaseCallLog(sessions, on_ended=on_ended), folder, FAST)
    burst(log, 20)  # 42 events wait before the applier starts
    counted = commits(engine)
    with log:
        assert log.wait_applied(10)
    assert len(counted) == transactions  # was 42 always: one per event
    with sessions() as s:
        desk = live_calls.in_progress(s)
        assert [c.call_id for c in desk] == [f"c{i}" for i in range(1, 20)]
        assert all(c.stage == "ringing" for c in desk)
        assert s.scalar(select(Call.disposition).where(Call.call_id == "c0")) is Disposition.MISSED
        assert len(s.scalars(select(Call.id).where(Call.ringing_at.is_not(None))).all()) == 20
    assert len(ended_seen) == 1 and ended_seen[0] is not None  # committed before on_ended
    rejected = [json.loads(line) for line in (folder / REJECTED).read_text().splitlines()]
    assert [(r["event"], r["args"]["call_id"]) for r in rejected] == [("call_ringing", "ghost")]
    assert "UnknownCall" in rejected[0]["error"]


def test_a_failed_batch_keeps_nothing_and_its_events_go_one_by_one(
    tmp_path: Path, engine: Engine
) -> None:
    """The queue is away once when the batch has committed (on_ended raises a connection
    error): the events are applied again one by one with back-off, which changes no row,
    and the ended call reaches the pipeline; nothing is rejected or lost."""
    sessions: sessionmaker[Session] = db.session_factory(engine)
    calls: list[str] = []

    def on_ended(call_id: str) -> None:
        calls.append(call_id)
        if len(calls) == 1:
            raise ConnectionError("queue away")

    folder = tmp_path / "journal"
    log = JournaledCallLog(DatabaseCallLog(sessions, on_ended=on_ended), folder, FAST)
    for i in range(5):
        log.call_started(f"c{i}", f"1390000{i:04d}", "8001", T0)
    log.call_ended("c0", T0 + timedelta(seconds=3), Disposition.MISSED, "CANCEL", "ringing")
    with log:
        assert log.wait_applied(10)
    assert calls == ["c0", "c0"]  # the batch's, refused; then the event's own
    with sessions() as s:
        assert len(s.scalars(select(Call)).all()) == 5
        assert [c.call_id for c in live_calls.in_progress(s)] == ["c1", "c2", "c3", "c4"]
    assert not (folder / REJECTED).exists()
