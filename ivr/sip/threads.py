"""The threads the SIP adapter starts per call (an RTP receiver, a media fault's hang-up),
kept so that SipPhone.stop() joins them: every thread joined, every wait bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable


class Started:
    """Threads started for calls, the finished ones dropped as new ones start."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self, target: Callable[[], None], name: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self.add(thread)
        thread.start()
        return thread

    def add(self, thread: threading.Thread) -> None:
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive() or t.ident is None]
            self._threads.append(thread)

    def join(self, timeout: float) -> list[str]:
        """Join every thread started here; the names of those still running after
        `timeout` seconds in all."""
        with self._lock:
            threads = list(self._threads)
        return join_all(threads, timeout)


def join_all(threads: Iterable[threading.Thread], timeout: float) -> list[str]:
    """Join `threads` (never the calling one) within `timeout` seconds in all; the names
    of those still alive."""
    deadline = time.monotonic() + timeout
    current = threading.current_thread()
    left = []
    for thread in threads:
        if thread is current or thread.ident is None:
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            left.append(thread.name)
    return left
