"""Which of a stream's prompts have been sent to their end (issue 17).

A prompt is played by the media plane (the sender process says "done") or, without
one, fed to the library's send buffer (done once the pacer has taken its last byte:
the buffer's write offset then, against what it has handed out since). `clear` (a key
barged in, live audio) forgets every prompt queued: a "done" still on its way for one
of them is not reported.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque


class Plays:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._fed: deque[tuple[int, int]] = deque()
        self._done: list[int] = []
        self._floor = 1
        self._last = 0

    def new(self) -> int:
        with self._lock:
            self._last = next(self._ids)
            return self._last

    def fed(self, play_id: int, end: int) -> None:
        """Prompt `play_id` was written to the send buffer, up to its offset `end`."""
        with self._lock:
            self._fed.append((play_id, end))

    def consumed(self, taken: int) -> None:
        """The pacer has taken the send buffer's bytes up to offset `taken`."""
        with self._lock:
            while self._fed and self._fed[0][1] <= taken:
                self._done.append(self._fed.popleft()[0])

    def done(self, play_id: int) -> None:
        with self._lock:
            if play_id >= self._floor:
                self._done.append(play_id)

    def clear(self) -> None:
        with self._lock:
            self._fed.clear()
            self._done.clear()
            self._floor = self._last + 1

    def take(self) -> list[int]:
        with self._lock:
            done, self._done = self._done, []
            return done
