"""Give memory freed by ended calls back to the system when the phone falls idle.

PROTOS c07-sip (4,527 INVITEs, up to 20 calls at once, ~70 threads) left the agent
at +15 to +21 % of its resident memory for good (137 -> 158-166 MB): not Python
objects piling up (docs/sip-library.md's tracemalloc diff of the soak) but glibc
keeping what the calls' threads freed in their arenas. `malloc_trim(0)` (after a full
garbage collection) returns free pages of every arena (glibc >= 2.8 also from the middle of a heap, madvise). It is
called IDLE_S after a call ended when no RTP stream is left: never while a call's
audio runs.
On a C library without it (musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

#: Seconds without a call before freed memory is given back.
IDLE_S = 5.0


def _malloc_trim() -> Callable[[], None] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int

    def run() -> None:
        trim(0)

    return run


class IdleTrim:
    """`idle()` whenever a call ends, `busy()` when one starts, `stop()` at the end: the
    trim runs IDLE_S after the last `idle()` if `quiet()` says no media is flowing."""

    def __init__(
        self,
        idle_s: float = IDLE_S,
        trim: Callable[[], None] | None = None,
        quiet: Callable[[], bool] = lambda: True,
    ) -> None:
        self._idle_s = idle_s
        self._trim = trim or _malloc_trim()
        self._quiet = quiet
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.trims = 0
        self.skipped = 0

    def idle(self) -> None:
        if self._trim is None:
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self._idle_s, self._run)
            self._timer.name = "memory trim"
            self._timer.daemon = True
            self._timer.start()

    def busy(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def stop(self) -> None:
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            timer.join(1.0)

    def _run(self) -> None:
        with self._lock:
            self._timer = None
        if self._trim is not None and not self._quiet():
            self.skipped += 1
            logger.info("idle trim skipped: media still flowing")
        elif self._trim is not None:
            before = _rss_mb()
            gc.collect()  # calls' objects held only in cycles go first, then their pages
            self._trim()
            self.trims += 1
            logger.info("idle: freed memory given back (RSS %.1f -> %.1f MB)", before, _rss_mb())


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * 4096 / 1e6
