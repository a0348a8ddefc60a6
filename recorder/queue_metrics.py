"""The worker's Prometheus metrics: the queue's depth, each job's time, and how fast
speech is transcribed (real-time factor: seconds of decoding per second of audio).

Job times come from huey's signals (executing, then complete, error or retrying), so
the queue's tasks need no hook; the real-time factor from the pipeline's
`on_transcribed(audio_s, wall_s)` (transcripts/pipeline.py).
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from huey import Huey, signals
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

NS = "hotline_worker"
JOB_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600)
RTF_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 4)
OUTCOMES = {
    signals.SIGNAL_COMPLETE: "done",
    signals.SIGNAL_ERROR: "error",
    signals.SIGNAL_RETRYING: "retry",
    signals.SIGNAL_TIMEOUT: "error",
    signals.SIGNAL_INTERRUPTED: "interrupted",
}


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry, huey: Huey) -> None:
        self.registry = registry
        ProcessCollector(registry=registry)  # CPU, memory, open files of this process
        self._huey = huey
        self.queue_depth = Gauge(
            "queue_depth", "Jobs waiting in the queue", namespace=NS, registry=registry
        )
        self.queue_depth.set_function(self._pending)
        self.job_seconds = Histogram(
            "job_seconds",
            "Seconds a call's job ran, by outcome (done, retry, error, interrupted)",
            ["outcome"],
            namespace=NS,
            registry=registry,
            buckets=JOB_BUCKETS,
        )
        self.transcription_rtf = Histogram(
            "transcription_real_time_factor",
            "Seconds of decoding per second of audio, per recording",
            namespace=NS,
            registry=registry,
            buckets=RTF_BUCKETS,
        )
        self.transcribed_audio = Counter(
            "transcribed_audio_seconds",
            "Seconds of audio transcribed",
            namespace=NS,
            registry=registry,
        )
        self._running: dict[str, float] = {}
        self._lock = threading.Lock()
        huey.signal(signals.SIGNAL_EXECUTING, *OUTCOMES)(self._on_signal)

    def _pending(self) -> float:
        try:
            return float(self._huey.pending_count())
        except Exception:  # the queue is away: no figure (readyz says why)
            return math.nan

    def _on_signal(self, signal: str, task: Any, *_args: Any) -> None:
        if getattr(task, "name", None) != "process_call":
            return
        with self._lock:
            if signal == signals.SIGNAL_EXECUTING:
                self._running[task.id] = time.monotonic()
                return
            started = self._running.pop(task.id, None)
        if started is not None:
            outcome = OUTCOMES.get(signal, "error")
            self.job_seconds.labels(outcome=outcome).observe(time.monotonic() - started)

    def transcribed(self, audio_s: float, wall_s: float) -> None:
        """One recording decoded: `audio_s` long, in `wall_s`."""
        if audio_s > 0:
            self.transcribed_audio.inc(audio_s)
            self.transcription_rtf.observe(wall_s / audio_s)
