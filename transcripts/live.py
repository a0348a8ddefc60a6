"""Transcription while the call is in progress, so the text is ready at hang-up.

The agent hands every received audio frame to `LiveTranscriber.tap` (its
`audio_tap`); each call and channel gets a stream of the shared engine,
decoding in the stream's own thread. `TranscribingCallLog` wraps the
agent's CallLog: when a call ends it finishes the call's streams and stores
their text before reporting the end, so the pipeline finds the transcript
and only fills the entry. Without a usable model the tap does nothing and
the pipeline decodes the recording later, as for an imported file.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recorder.calls import CallLog, ClerkRing, RtpStats
from recorder.models import AnsweredBy, Call, Direction, Disposition
from recorder.wav import WavInfo
from transcripts.engine import SpeechEngine, TranscriptResult, TranscriptStream
from transcripts.errors import TranscriptionError

logger = logging.getLogger(__name__)
TELEPHONE_RATE = 8000


class LiveTranscriber:
    def __init__(
        self,
        load_engine: Callable[[], SpeechEngine | None],
        finish_timeout: float = 30.0,
        recheck_s: float = 60.0,
    ) -> None:
        self._load_engine = load_engine
        self._engine: SpeechEngine | None = None
        self._streams: dict[tuple[str, str], TranscriptStream] = {}
        self._lock = threading.Lock()
        self._finish_timeout = finish_timeout
        self._recheck_s = recheck_s
        self._checked_at = float("-inf")

    def preload(self) -> bool:
        """Load the model now (at start-up), never on an audio thread; True if one is usable."""
        self._checked_at = time.monotonic()
        self._engine = self._load_engine()
        return self._engine is not None

    def _reload_later(self) -> None:
        """Without a model, look again at most once a minute, in the background."""
        if time.monotonic() - self._checked_at >= self._recheck_s:
            self._checked_at = time.monotonic()
            threading.Thread(target=self.preload, name="model check", daemon=True).start()

    def _stream(self, call_id: str, channel: str) -> TranscriptStream | None:
        with self._lock:
            stream = self._streams.get((call_id, channel))
            if stream is None:
                if self._engine is None:
                    self._reload_later()
                    return None
                stream = self._engine.open_stream(TELEPHONE_RATE, channel)
                self._streams[(call_id, channel)] = stream
            return stream

    def tap(self, call_id: str, channel: str, pcm16: bytes) -> None:
        """8 kHz 16-bit mono audio of one channel; never blocks the audio thread."""
        stream = self._stream(call_id, channel)
        if stream is not None:
            stream.accept(pcm16)

    def finish(self, call_id: str) -> dict[str, TranscriptResult]:
        with self._lock:
            mine = {ch: s for (cid, ch), s in self._streams.items() if cid == call_id}
            for channel in mine:
                del self._streams[(call_id, channel)]
        results = {}
        for channel, stream in mine.items():
            try:
                results[channel] = stream.finish(self._finish_timeout)
            except TranscriptionError as exc:  # the pipeline decodes the recording instead
                logger.warning("[%s] live transcription of %s failed: %s", call_id, channel, exc)
        return results


class TranscribingCallLog(CallLog):
    """A CallLog that stores a call's live transcript before reporting its end."""

    def __init__(
        self, inner: CallLog, live: LiveTranscriber, sessions: sessionmaker[Session]
    ) -> None:
        self._inner = inner
        self._live = live
        self._sessions = sessions

    def call_started(
        self,
        call_id: str,
        caller: str | None,
        called: str | None,
        at: datetime,
        direction: Direction = Direction.INBOUND,
    ) -> None:
        self._inner.call_started(call_id, caller, called, at, direction)

    def call_ringing(self, call_id: str, at: datetime) -> None:
        self._inner.call_ringing(call_id, at)

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
        self._inner.call_answered(call_id, at, ring_count, answered_by, user_id, codec, answerer)

    def menu_chosen(self, call_id: str, category: str) -> None:
        self._inner.menu_chosen(call_id, category)

    def staff_joined(self, call_id: str, user_id: int | None, at: datetime) -> None:
        self._inner.staff_joined(call_id, user_id, at)

    def call_stage(
        self, call_id: str, stage: str, at: datetime, detail: dict[str, Any] | None = None
    ) -> None:
        self._inner.call_stage(call_id, stage, at, detail)

    def clerks_rung(self, call_id: str, rings: Sequence[ClerkRing]) -> None:
        self._inner.clerks_rung(call_id, rings)

    def recording_started(
        self, call_id: str, path: Path, channels: str, sample_rate: int, at: datetime
    ) -> None:
        self._inner.recording_started(call_id, path, channels, sample_rate, at)

    def recording_closed(self, call_id: str, info: WavInfo, at: datetime) -> None:
        self._inner.recording_closed(call_id, info, at)

    def recording_failed(self, call_id: str, reason: str, at: datetime) -> None:
        self._inner.recording_failed(call_id, reason, at)

    def call_ended(
        self,
        call_id: str,
        at: datetime,
        disposition: Disposition,
        cause: str | None,
        ended_in: str | None,
        rtp: RtpStats | None = None,
    ) -> None:
        from transcripts.pipeline import store_transcripts

        results: dict[str, Any] = self._live.finish(call_id)
        if results:
            try:
                with self._sessions.begin() as session:
                    call_pk = session.scalar(select(Call.id).where(Call.call_id == call_id))
                    if call_pk is not None:
                        store_transcripts(session, call_pk, results)
            except Exception:  # the database may be down: the pipeline decodes later
                logger.exception("[%s] could not store the live transcript", call_id)
        self._inner.call_ended(call_id, at, disposition, cause, ended_in, rtp)
