"""A CallLog that says each call event once: one log line with the call's id (the
`call_id` field of a JSON log line, hotline/logs.py) and the agent's metrics
(ivr/metrics.py). It passes every event on to the call log it wraps, unchanged,
before anything of its own, so a fault here never costs an event.

The lines name no caller: numbers and names stay in the call log (personal data).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ivr.metrics import AgentMetrics
from recorder.calls import CallLog, ClerkRing, RtpStats
from recorder.models import AnsweredBy, Direction, Disposition
from recorder.wav import WavInfo

logger = logging.getLogger("hotline.calls")


class ObservedCallLog:
    def __init__(self, inner: CallLog, metrics: AgentMetrics) -> None:
        self._inner = inner
        self._metrics = metrics
        self._started: dict[str, datetime] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _event(call_id: str, event: str, text: str = "", *args: object) -> None:
        logger.info(
            "[%s] %s" + (f": {text}" if text else ""),
            call_id,
            event,
            *args,
            extra={"call_id": call_id, "event": event},
        )

    def call_started(
        self,
        call_id: str,
        caller: str | None,
        called: str | None,
        at: datetime,
        direction: Direction = Direction.INBOUND,
    ) -> None:
        self._inner.call_started(call_id, caller, called, at, direction)
        with self._lock:
            fresh = call_id not in self._started
            self._started[call_id] = at
        if fresh:
            self._metrics.calls_in_progress.inc()
        self._event(call_id, "started", "%s", direction.value)

    def call_ringing(self, call_id: str, at: datetime) -> None:
        self._inner.call_ringing(call_id, at)
        self._event(call_id, "ringing")

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
        with self._lock:
            started = self._started.get(call_id)
        if started is not None:
            self._metrics.answer_seconds.observe(max(0.0, (at - started).total_seconds()))
        self._metrics.rings.observe(ring_count)
        self._event(call_id, "answered", "by %s after %d rings", answered_by.value, ring_count)

    def menu_chosen(self, call_id: str, category: str) -> None:
        self._inner.menu_chosen(call_id, category)
        self._event(call_id, "menu", "%s", category)

    def staff_joined(self, call_id: str, user_id: int | None, at: datetime) -> None:
        self._inner.staff_joined(call_id, user_id, at)
        self._event(call_id, "staff joined", "user %s", user_id)

    def call_stage(
        self, call_id: str, stage: str, at: datetime, detail: dict[str, Any] | None = None
    ) -> None:
        self._inner.call_stage(call_id, stage, at, detail)
        self._event(call_id, "stage", "%s", stage)

    def clerks_rung(self, call_id: str, rings: Sequence[ClerkRing]) -> None:
        self._inner.clerks_rung(call_id, rings)
        self._event(call_id, "clerks rung", "%d", len(rings))

    def recording_started(
        self, call_id: str, path: Path, channels: str, sample_rate: int, at: datetime
    ) -> None:
        self._inner.recording_started(call_id, path, channels, sample_rate, at)
        self._event(call_id, "recording started", "%s", channels)

    def recording_closed(self, call_id: str, info: WavInfo, at: datetime) -> None:
        self._inner.recording_closed(call_id, info, at)
        self._event(call_id, "recording closed")

    def recording_failed(self, call_id: str, reason: str, at: datetime) -> None:
        self._inner.recording_failed(call_id, reason, at)
        self._event(call_id, "recording failed", "%s", reason)

    def call_ended(
        self,
        call_id: str,
        at: datetime,
        disposition: Disposition,
        cause: str | None,
        ended_in: str | None,
        rtp: RtpStats | None = None,
    ) -> None:
        try:
            self._inner.call_ended(call_id, at, disposition, cause, ended_in, rtp=rtp)
        finally:
            self._ended(call_id, disposition, cause, ended_in, rtp)

    def _ended(
        self,
        call_id: str,
        disposition: Disposition,
        cause: str | None,
        ended_in: str | None,
        rtp: RtpStats | None,
    ) -> None:
        """The call is no longer in progress, whether or not the log took its end."""
        with self._lock:
            known = self._started.pop(call_id, None) is not None
        if known:
            self._metrics.calls_in_progress.dec()
        self._metrics.calls.labels(disposition=disposition.value).inc()
        if rtp is not None:
            self._metrics.rtp(rtp)
        self._event(call_id, "ended", "%s in %s (%s)", disposition.value, ended_in, cause)
