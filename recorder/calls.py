"""Call detail records: what the agent reports about each call, keyed by SIP Call-ID.

The agent talks to the `CallLog` protocol only. `DatabaseCallLog` writes each
event straight to the database in its own short transaction; `on_ended`
is called after a call's final row is committed (the composition root points
it at the pipeline, which transcribes the call and fills the log entry).
The agent's call log is a `recorder.journal.JournaledCallLog` in front of it,
which replays events after a crash or a database outage, so every method here
is idempotent: applying an event twice leaves the same rows.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recorder import live_calls
from recorder.answering import staff_by_extension
from recorder.models import (
    AnsweredBy,
    Call,
    CallLeg,
    Direction,
    Disposition,
    LegResult,
    Recording,
    RecordingState,
)
from recorder.recording_alarm import NO_RECORDING, raise_alarm
from recorder.stored_paths import to_stored
from recorder.wav import WavInfo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RtpStats:
    """Receive-side media quality of one call (RFC 3550 interarrival jitter)."""

    packets_received: int
    packets_lost: int
    jitter_ms: float


@dataclass(frozen=True)
class ClerkRing:
    """One clerk's phone rung for a call: when, for how long, how it ended."""

    extension: str
    user_id: int | None
    rang_at: datetime
    ring_seconds: float
    result: LegResult

    def as_json(self) -> dict[str, Any]:
        return {
            "extension": self.extension,
            "user_id": self.user_id,
            "rang_at": self.rang_at.isoformat(),
            "ring_seconds": self.ring_seconds,
            "result": self.result.value,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ClerkRing:
        return cls(
            str(value["extension"]),
            value.get("user_id"),
            datetime.fromisoformat(value["rang_at"]),
            float(value["ring_seconds"]),
            LegResult(value["result"]),
        )


class RecordingAlarms(Protocol):
    def recording_failed(self, call_id: str, reason: str, at: datetime) -> None:
        """A call is answered but cannot be recorded (disk full?): an alarm for the admin."""
        ...


class CallLog(RecordingAlarms, Protocol):
    def call_started(
        self,
        call_id: str,
        caller: str | None,
        called: str | None,
        at: datetime,
        direction: Direction = Direction.INBOUND,
    ) -> None: ...

    def call_ringing(self, call_id: str, at: datetime) -> None: ...

    def call_answered(
        self,
        call_id: str,
        at: datetime,
        ring_count: int,
        answered_by: AnsweredBy,
        user_id: int | None = None,
        codec: str | None = None,
        answerer: str | None = None,
    ) -> None:
        """`answerer`: who answered elsewhere in the ring group, as the PBX's CANCEL named
        them (ivr/cancel_reason.answerer); None: "a colleague"."""
        ...

    def menu_chosen(self, call_id: str, category: str) -> None:
        """The caller chose `category` in the call flow's menu."""
        ...

    def staff_joined(self, call_id: str, user_id: int | None, at: datetime) -> None:
        """A clerk took the call over from the agent (bridged): the staff member who answered,
        so the entry's first receiver (首问负责人) and the compliance audit are theirs."""
        ...

    def clerks_rung(self, call_id: str, rings: Sequence[ClerkRing]) -> None:
        """The clerks' phones rung for this call, in roster order (the call's legs)."""
        ...

    def call_stage(
        self, call_id: str, stage: str, at: datetime, detail: dict[str, Any] | None = None
    ) -> None:
        """Where in the flow the call now is (recorder.live_calls.STAGES), for the live desk:
        greeting, menu (then `detail` {"category": ...}), message, bridge (then the clerk's
        {"extension": ..., "user_id": ...}), closing."""
        ...

    def recording_started(
        self, call_id: str, path: Path, channels: str, sample_rate: int, at: datetime
    ) -> None: ...

    def recording_closed(self, call_id: str, info: WavInfo, at: datetime) -> None: ...

    def call_ended(
        self,
        call_id: str,
        at: datetime,
        disposition: Disposition,
        cause: str | None,
        ended_in: str | None,
        rtp: RtpStats | None = None,
    ) -> None: ...


#: `ended_in` of a call another phone of the ring group answered: the PBX CANCELled the
#: agent's leg with RFC 3326's "call completed elsewhere" (ivr/cancel_reason.py).
ENDED_ELSEWHERE = "elsewhere"


class UnknownCall(LookupError):
    pass


@runtime_checkable
class Batching(Protocol):
    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Events reported inside share one transaction (recorder.journal's applier)."""
        ...


class DatabaseCallLog(CallLog):
    """Writes every event to the database at once, one transaction per event, or in
    `batch()` a run of events in one transaction, each in its own savepoint."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        on_ended: Callable[[str], None] | None = None,
        data_dir: Path | None = None,
        agent: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._on_ended = on_ended
        self._data_dir = data_dir
        self._agent = agent or None  # stamped on each call this log starts
        self._batch = threading.local()  # .session, .ended: this thread's batch

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for the events this thread reports inside: a burst of calls
        pays one BEGIN/COMMIT (and one write lock on SQLite) instead of one per event.
        An event that fails rolls back its own savepoint and raises; `on_ended` runs
        after the commit. Any failure leaves nothing: the caller applies them again."""
        with self._sessions.begin() as session:
            self._batch.session, self._batch.ended = session, []
            try:
                yield
            finally:
                self._batch.session = None
        for call_id in self._batch.ended:
            if self._on_ended is not None:
                self._on_ended(call_id)

    @contextlib.contextmanager
    def _begin(self) -> Iterator[Session]:
        session: Session | None = getattr(self._batch, "session", None)
        if session is None:
            with self._sessions.begin() as session:
                yield session
        else:
            with session.begin_nested():
                yield session

    def _stored(self, path: Path) -> str:
        """The recording's path as the database keeps it: relative to the data
        directory (recorder/stored_paths.py), absolute where none is given."""
        if self._data_dir is None:
            return str(Path(path).absolute())
        return to_stored(self._data_dir, path)

    def _call(self, session: Session, call_id: str) -> Call:
        call = session.scalar(select(Call).where(Call.call_id == call_id))
        if call is None:
            raise UnknownCall(f"no call {call_id!r}: call_started was not reported")
        return call

    def call_started(
        self,
        call_id: str,
        caller: str | None,
        called: str | None,
        at: datetime,
        direction: Direction = Direction.INBOUND,
    ) -> None:
        with self._begin() as session:
            if session.scalar(select(Call.id).where(Call.call_id == call_id)) is not None:
                return  # a retransmitted INVITE or a replayed event
            call = Call(
                call_id=call_id,
                direction=direction,
                caller_number=caller,
                called_number=called,
                invite_at=at,
                agent=self._agent,
            )
            session.add(call)
            if direction is Direction.INBOUND:  # the live desk shows callers
                session.flush()
                live_calls.started(session, call, at)

    def call_ringing(self, call_id: str, at: datetime) -> None:
        with self._begin() as session:
            call = self._call(session, call_id)
            call.ringing_at = call.ringing_at or at

    def call_answered(
        self,
        call_id: str,
        at: datetime,
        ring_count: int,
        answered_by: AnsweredBy,
        user_id: int | None = None,
        codec: str | None = None,
        answerer: str | None = None,
    ) -> None:
        with self._begin() as session:
            call = self._call(session, call_id)
            call.answered_at = at
            call.ring_count = ring_count
            call.answered_by = answered_by
            call.answered_by_user_id = user_id
            call.codec = codec
            call.disposition = Disposition.ANSWERED
            if answerer:  # answered elsewhere in the ring group, by whom the PBX named
                call.answered_elsewhere_by = answerer[:100]
                call.answered_by_user_id = user_id or staff_by_extension(session, answerer)

    def menu_chosen(self, call_id: str, category: str) -> None:
        with self._begin() as session:
            self._call(session, call_id).menu_category = category

    def staff_joined(self, call_id: str, user_id: int | None, at: datetime) -> None:
        with self._begin() as session:
            call = self._call(session, call_id)
            call.answered_by = AnsweredBy.STAFF
            call.answered_by_user_id = user_id
        logger.info("[%s] staff member %s took the call at %s", call_id, user_id, at)

    def call_stage(
        self, call_id: str, stage: str, at: datetime, detail: dict[str, Any] | None = None
    ) -> None:
        with self._begin() as session:
            live_calls.stage(session, self._call(session, call_id), stage, at, detail)

    def clerks_rung(self, call_id: str, rings: Sequence[ClerkRing]) -> None:
        """One CallLeg per ring, numbered in order; a replay updates the same rows."""
        with self._begin() as session:
            call = self._call(session, call_id)
            kept = {
                leg.seq: leg
                for leg in session.scalars(select(CallLeg).where(CallLeg.call_pk == call.id))
            }
            for seq, ring in enumerate(rings, 1):
                leg = kept.get(seq) or CallLeg(call_pk=call.id, seq=seq)
                leg.extension = ring.extension
                leg.user_id = ring.user_id
                leg.rang_at = ring.rang_at
                leg.ring_seconds = ring.ring_seconds
                leg.result = ring.result
                session.add(leg)

    def recording_started(
        self, call_id: str, path: Path, channels: str, sample_rate: int, at: datetime
    ) -> None:
        with self._begin() as session:
            call = self._call(session, call_id)
            stored = self._stored(path)
            if session.scalar(select(Recording.id).where(Recording.path == stored)) is not None:
                return
            session.add(
                Recording(
                    call_pk=call.id,
                    path=stored,
                    channels=channels,
                    sample_rate=sample_rate,
                    started_at=at,
                    state=RecordingState.RECORDING,
                )
            )

    def recording_closed(self, call_id: str, info: WavInfo, at: datetime) -> None:
        with self._begin() as session:
            stored = self._stored(info.path)
            recording = session.scalar(select(Recording).where(Recording.path == stored))
            if recording is None:
                raise UnknownCall(f"no recording {info.path} for call {call_id!r}")
            recording.duration_s = info.duration_s
            recording.size_bytes = info.size_bytes
            recording.sha256 = info.sha256
            recording.closed_at = at
            recording.state = RecordingState.COMPLETE

    def call_ended(
        self,
        call_id: str,
        at: datetime,
        disposition: Disposition,
        cause: str | None,
        ended_in: str | None,
        rtp: RtpStats | None = None,
    ) -> None:
        with self._begin() as session:
            call = self._call(session, call_id)
            call.ended_at = at
            call.disposition = disposition
            call.hangup_cause = cause
            call.ended_in = ended_in
            call.answered_elsewhere = ended_in == ENDED_ELSEWHERE
            live_calls.ended(session, call)
            if rtp is not None:
                call.rtp_packets_received = rtp.packets_received
                call.rtp_packets_lost = rtp.packets_lost
                call.rtp_jitter_ms = rtp.jitter_ms
            recorded = session.scalar(select(Recording.id).where(Recording.call_pk == call.id))
            if call.answered_at is not None and recorded is None and not call.answered_elsewhere:
                # Every answered call leaves a recording; one without is an alarm, whatever
                # the cause (an explicit recording_failed before keeps its own reason).
                raise_alarm(session, call_id, NO_RECORDING, at)
        logger.info("[%s] ended: %s (%s) in %s", call_id, disposition.value, cause, ended_in)
        if getattr(self._batch, "session", None) is not None:
            self._batch.ended.append(call_id)  # once the batch is committed
        elif self._on_ended is not None:
            self._on_ended(call_id)

    def recording_failed(self, call_id: str, reason: str, at: datetime) -> None:
        """An audit row the admin sees under Audit; one per call, however often it is reported."""
        with self._begin() as session:
            raise_alarm(session, call_id, reason, at)
