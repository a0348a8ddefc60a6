"""One thread that sends every call's outgoing RTP on absolute deadlines (adapter fix 20).

rfcvoip runs a transmitter thread per call, each sleeping on its own; with
50 calls on two cores the GIL and the scheduler wake them late, and a
transmitter that wakes after its next deadline skips that packet, so the
far end loses audio (bench/sip_load.py: drift 0.45 %, max gap 47 ms).

`RtpPacer` owns all of a phone's streams. A stream's n-th packet is due at
`start + n * period` on the monotonic clock; `start` is snapped to a
multiple of the period, so every 20 ms stream of the phone falls due at the
same instant and the thread wakes once per period for all of them. A late
wake-up sends every packet that is due, back to back: the stream catches
up instead of drifting. Only a stall longer than `max_burst` (the machine
stopped for a fifth of a second) drops the oldest packets' audio rather
than flooding the far end's jitter buffer with it.

A stream that is not sending (held: the agent's side is recvonly) keeps its
deadlines; its packets are skipped (`skip`), so after the unhold it goes on
where the clock is, without a burst.

Nothing here knows rfcvoip: the adapter's `_PacedRTPClient` is a
`PacedStream`. The clock and the wait are seams for tests.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger(__name__)

#: A stall longer than this loses the oldest packets instead of sending them in one burst.
MAX_BURST_S = 0.2
#: RFC 4733 event codes of the keys (section 3.2).
KEYS = "0123456789*#ABCD"


class PacedStream(Protocol):
    """What the pacer needs of one call's outgoing media."""

    @property
    def period(self) -> float:
        """Seconds of audio per packet (the ptime)."""
        ...

    def active(self) -> bool:
        """False once the stream is stopped: the pacer forgets it."""
        ...

    def sending(self) -> bool:
        """False while the stream must be silent (on hold)."""
        ...

    def send_next(self) -> None:
        """Send the next packet (audio or a key press)."""
        ...

    def skip(self, count: int) -> None:
        """Let `count` packets' time pass unsent (held, or a stall too long to catch up)."""
        ...


@dataclass
class _Schedule:
    stream: PacedStream
    first: int
    """The stream's first deadline is `first` periods after the clock's zero."""
    sent: int = 0
    """Packet deadlines passed so far (sent or skipped)."""

    def deadline(self) -> float:
        # Whole periods, so streams on one grid share the exact same float: their
        # order in a burst (by deadline, then by age) is the same every time.
        return (self.first + self.sent) * self.stream.period


class RtpPacer:
    """Sends the due packet of every stream it holds, from one thread."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        max_burst: float = MAX_BURST_S,
        name: str = "RTP pacer",
    ) -> None:
        self._clock = clock
        self._max_burst = max_burst
        self._name = name
        self._lock = threading.Lock()
        self._schedules: list[_Schedule] = []
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def add(self, stream: PacedStream) -> None:
        """Pace `stream` from its period's next multiple on the clock."""
        first = math.ceil(self._clock() / stream.period)
        with self._lock:
            self._schedules.append(_Schedule(stream, first))
        self._wake.set()

    def remove(self, stream: PacedStream) -> None:
        with self._lock:
            self._schedules = [s for s in self._schedules if s.stream is not stream]

    def streams(self) -> int:
        with self._lock:
            return len(self._schedules)

    def run_due(self, now: float) -> float | None:
        """Send (or skip) every packet due by `now`; the next deadline, None when idle."""
        with self._lock:
            schedules = sorted(self._schedules, key=_Schedule.deadline)
        for schedule in schedules:
            if not self._serve(schedule, now):
                self.remove(schedule.stream)
        with self._lock:
            return min((s.deadline() for s in self._schedules), default=None)

    def _serve(self, schedule: _Schedule, now: float) -> bool:
        stream = schedule.stream
        try:
            if not stream.active():
                return False
            period = stream.period
            due = math.floor(now / period + 1e-9) + 1 - schedule.first - schedule.sent
            if due <= 0:
                return True
            if not stream.sending():
                stream.skip(due)
                schedule.sent += due
                return True
            lost = max(0, due - max(1, math.floor(self._max_burst / period)))
            if lost:
                stream.skip(lost)
                schedule.sent += lost
                logger.warning(
                    "RTP pacer %.0f ms late: %d packets not sent",
                    1e3 * (now - schedule.deadline()),
                    lost,
                )
            for _ in range(due - lost):
                stream.send_next()
                schedule.sent += 1
        except Exception:  # one broken stream must not stop every call's audio
            logger.exception("an RTP stream failed; it is no longer paced")
            return False
        return True

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping:
            next_due = self.run_due(self._clock())
            if next_due is None:
                self._wake.wait()
            else:
                self._wake.wait(max(0.0, next_due - self._clock()))
            self._wake.clear()


def key_press_payloads(
    key: str, samples_per_packet: int, duration_samples: int = 1600, volume: int = 10
) -> list[tuple[bytes, bool]]:
    """The RFC 4733 telephone-event payloads of one key press, one per packet time.

    (payload, marker): the first packet has the marker bit; the duration grows by a
    packet's samples until the end, whose packet (E bit) is sent three times
    (section 2.5.1.4). All carry the RTP timestamp of the press's start.
    """
    code = KEYS.index(key.upper())

    def payload(duration: int, end: bool) -> bytes:
        flags = (0x80 if end else 0) | (volume & 0x3F)
        return bytes([code, flags, (duration >> 8) & 0xFF, duration & 0xFF])

    steps = range(samples_per_packet, duration_samples, samples_per_packet)
    packets = [(payload(d, False), n == 0) for n, d in enumerate(steps)]
    packets += [(payload(duration_samples, True), not packets and n == 0) for n in range(3)]
    return packets
