"""Start-up recovery after the agent was killed: nothing recorded is lost.

Run by the agent before it takes calls (it is the only writer of its
recordings, so at its start none of its own is legitimately in progress;
with several agents on one database each is named, agent.name, and recovers
only the calls it took). A recording
left in state `recording` is repaired (its header fixed from the file
length), marked `repaired`, its call marked interrupted and ended, and the
call handed to the pipeline; the call ends when its audio stopped (not at the
restart, which may be much later). A call that never ended and has no recording
(killed while it rang) is recorded as missed, so the caller gets called back.

The agent's events go through the journal (recorder/journal.py), so
`replay_then_recover` first applies what the killed agent had journaled but
not yet applied: a call that ended normally is not taken for interrupted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recorder.models import Call, Disposition, Recording, RecordingState
from recorder.stored_paths import resolve
from recorder.wav import RecordingError, repair

if TYPE_CHECKING:
    from recorder.journal import JournaledCallLog

logger = logging.getLogger(__name__)
#: How long start-up waits for the journal before recovering anyway.
REPLAY_TIMEOUT_S = 60.0
#: How much later than its audio's end a recording's last write can be (the header
#: is rewritten every second; the playout holds back up to a second of audio).
WRITE_LAG = timedelta(seconds=3)


@dataclass(frozen=True)
class Recovered:
    repaired: list[str]
    missing: list[str]
    calls: list[str]


def recover(
    sessions: sessionmaker[Session],
    enqueue: Callable[[str], object] | None = None,
    data_dir: Path = Path(),
    agent: str | None = None,
) -> Recovered:
    """Repair and end this agent's calls left open: `agent` is its name (agent.name), and
    other agents' calls on the same database are theirs, maybe live (README: Scaling out).
    An unnamed agent is the site's only one: every open call is its own."""
    repaired, missing, calls = [], [], []
    own = Call.agent == agent if agent else Call.agent.is_(None)
    with sessions.begin() as session:
        for recording in session.scalars(
            select(Recording)
            .join(Call, Recording.call_pk == Call.id)
            .where(Recording.state == RecordingState.RECORDING, own)
        ):
            call = recording.call
            path = resolve(data_dir, recording.path)
            try:
                written = _last_written(path)  # before repair() writes the file again
                info = repair(path)
            except (RecordingError, FileNotFoundError) as exc:
                logger.error(
                    "recording %s of call %s cannot be repaired: %s", path, call.call_id, exc
                )
                recording.state = RecordingState.MISSING
                missing.append(str(path))
            else:
                recording.state = RecordingState.REPAIRED
                recording.duration_s, recording.size_bytes, recording.sha256 = (
                    info.duration_s,
                    info.size_bytes,
                    info.sha256,
                )
                recording.closed_at = _audio_end(recording, info.duration_s, written)
                repaired.append(str(path))
            _interrupt(call, recording.closed_at or call.invite_at)
            calls.append(call.call_id)
        for call in session.scalars(select(Call).where(Call.ended_at.is_(None), own)):
            if call.call_id not in calls:
                _interrupt(call, call.answered_at or call.ringing_at or call.invite_at)
                calls.append(call.call_id)
    for call_id in calls:
        logger.warning("recovered call %s after an interruption", call_id)
        if enqueue is not None:
            enqueue(call_id)
    return Recovered(repaired, missing, calls)


def replay_then_recover(
    sessions: sessionmaker[Session],
    journal: JournaledCallLog,
    enqueue: Callable[[str], object] | None = None,
    timeout: float = REPLAY_TIMEOUT_S,
    data_dir: Path = Path(),
    agent: str | None = None,
) -> Recovered:
    """Start the journal, wait until the last run's events are applied, then `recover`."""
    left = journal.pending
    journal.start()
    if left:
        logger.warning("replaying %d call events the last run journaled but had not applied", left)
    if not journal.wait_applied(timeout):
        # Recovering now may take a call that did end for interrupted; its events, applied
        # later, still fill in how it ended (recording complete, disposition, end time).
        logger.error(
            "journal: %d events not applied within %.0f s; recovering anyway",
            journal.pending,
            timeout,
        )
    return recover(sessions, enqueue, data_dir, agent)


def _last_written(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return None


def _audio_end(recording: Recording, duration_s: float, written: datetime | None) -> datetime:
    """When the interrupted call's audio stopped: not the restart, which may be much later.

    The audio's length after its start is the floor. The file's last write (before the
    repair) may be a little later, as the writer rewrites the header every second and
    the playout holds back up to a second of audio; it is used when within WRITE_LAG
    of that floor, else (a file copied or touched since) the floor stands.
    """
    started = recording.started_at or recording.call.answered_at or recording.call.invite_at
    by_length = started + timedelta(seconds=duration_s)
    if written is not None and by_length <= written <= by_length + WRITE_LAG:
        return written
    return by_length


def _interrupt(call: Call, at: datetime) -> None:
    call.interrupted = True
    call.ended_at = call.ended_at or at
    call.hangup_cause = call.hangup_cause or "agent interrupted"
    if call.disposition is Disposition.RINGING:
        call.disposition = Disposition.ANSWERED if call.answered_at else Disposition.MISSED
