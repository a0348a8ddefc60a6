"""Timers for the flow runner behind a clock seam: a real one and a manual one.

`ThreadScheduler` runs callbacks at absolute monotonic deadlines from one
worker thread, started by the first timer and stopped with `close()`, which joins
it; the agent's one scheduler, shared by the call flow and the SIP retransmissions
(ivr/sip/timers.py), so a callback must not block; `ManualScheduler`
runs them when a test calls `advance()`, so flow tests never sleep.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

logger = logging.getLogger(__name__)


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """Runs `callback` once, `seconds` from now, unless its handle is cancelled."""

    def now(self) -> float: ...

    def call_later(self, seconds: float, callback: Callable[[], None]) -> TimerHandle: ...


class _Entry:
    __slots__ = ("callback", "cancelled", "deadline")

    def __init__(self, deadline: float, callback: Callable[[], None]) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualScheduler:
    """Time moves only when the test says so."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._heap: list[tuple[float, int, _Entry]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    def call_later(self, seconds: float, callback: Callable[[], None]) -> _Entry:
        entry = _Entry(self._now + seconds, callback)
        heapq.heappush(self._heap, (entry.deadline, next(self._order), entry))
        return entry

    def pending(self) -> int:
        return sum(1 for _, _, entry in self._heap if not entry.cancelled)

    def advance(self, seconds: float) -> None:
        """Move time on, running every callback that falls due, in deadline order."""
        until = self._now + seconds
        while self._heap and self._heap[0][0] <= until:
            deadline, _, entry = heapq.heappop(self._heap)
            self._now = max(self._now, deadline)
            if not entry.cancelled:
                entry.callback()
        self._now = until


class ThreadScheduler:
    """One worker thread waiting on a condition for the earliest deadline."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, name: str = "flow-timers"
    ) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, _Entry]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def now(self) -> float:
        return self._clock()

    def call_later(self, seconds: float, callback: Callable[[], None]) -> _Entry:
        entry = _Entry(self._clock() + seconds, callback)
        with self._cond:
            heapq.heappush(self._heap, (entry.deadline, next(self._order), entry))
            self._start()  # on the first timer at the latest: one never used has no thread
            self._cond.notify()
        return entry

    def start(self) -> None:
        """Start the worker thread now (it starts with the first timer otherwise)."""
        with self._cond:
            self._start()

    def _start(self) -> None:
        if not self._closed and self._thread.ident is None:
            self._thread.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread.ident is not None:
            self._thread.join()

    def _next_due(self) -> _Entry | None:
        """Wait for the earliest deadline; None once closed."""
        with self._cond:
            while not self._closed:
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, _, entry = self._heap[0]
                remaining = deadline - self._clock()
                if remaining > 0:
                    self._cond.wait(remaining)
                    continue
                heapq.heappop(self._heap)
                if not entry.cancelled:
                    return entry
            return None

    def _run(self) -> None:
        while (entry := self._next_due()) is not None:
            try:
                entry.callback()
            except Exception:
                # The timer thread must outlive one call's failure (flow or SIP).
                logger.exception("timer callback failed")
