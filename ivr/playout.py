"""Taking received audio off the RTP buffer without losing late packets.

The SIP library keeps received audio in a buffer indexed by RTP timestamp:
a lost packet leaves silence in its place, a reordered one lands where it
belongs. Reading from it is the risky part: a read asks for the next frame
and, when that frame has not arrived yet, returns silence *and moves past it*,
so a packet that arrives a few milliseconds later is thrown away. When the
receiving thread is slow (a busy machine, a garbage collection), a reader on
a strict 20 ms clock cuts holes into perfectly good audio.

`Playout` reads on the media clock's ticks but behind it by a small hold
(RFC 3550 §6.4.1 calls the variation it absorbs interarrival jitter):

- what has arrived is taken as soon as `hold` newer frames are behind it,
  so a reordered packet still has time to land — however far behind the
  clock the reader is (a silent start leaves it behind; catching up by
  reading at the edge would throw away every packet a little late);
- when nothing new arrives for longer than `max_lag` (1 s: the caller's
  phone stopped sending: silence suppression, hold, a dead network), the
  held frames and then silence are taken, one a tick, so the recording
  keeps to the call's clock;
- `drain()` at the end takes everything still buffered and pads the rest of
  the call's time with silence.

It knows nothing of sockets; `read(n)` and `buffered()` come from the call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Playout:
    read: Callable[[int], bytes]
    """The next n received bytes; silence where nothing arrived (and moves past it)."""
    buffered: Callable[[], int]
    """How many received bytes are waiting."""
    frame_bytes: int = 320
    hold: int = 3
    """Frames kept back for reordered packets (3 × 20 ms)."""
    max_lag: int = 50
    """Ticks with nothing new arriving before silence is taken (1 s).

    Packets reach the buffer only when the library's receive thread runs; a
    reader that gives up on them too soon replaces good audio with silence.
    Waiting costs nothing while packets flow (the hold sets the delay then);
    only a caller who sends nothing at all is recorded up to a second late."""
    ticks: int = 0
    """Ticks of the call's clock so far."""
    taken: int = 0
    """Frames taken so far (the recording never runs ahead of the clock)."""
    idle: int = 0
    """Consecutive ticks in which nothing new arrived."""
    silenced: int = 0
    """Frames taken as silence because nothing had arrived (for the call's log)."""
    _left: int = 0

    def tick(self) -> bytes:
        """One 20 ms tick of the clock: zero or more whole frames."""
        self.ticks += 1
        waiting = self.buffered() // self.frame_bytes
        self.idle = 0 if waiting > self._left else self.idle + 1
        take = max(0, waiting - self.hold)
        if take == 0 and self.idle > self.max_lag and self.taken < self.ticks:
            # Nothing for a while (silence suppression, hold, a dead network): the
            # held frames, then silence, one a tick, so the recording keeps time.
            take = 1
            self.silenced += waiting == 0
        data = self._take(take)
        self._left = waiting - take if waiting > take else 0
        return data

    def drain(self) -> bytes:
        """At the end: everything that arrived, then silence for the rest of the call's time."""
        waiting = self.buffered() // self.frame_bytes
        return self._take(waiting + max(0, self.ticks - self.taken - waiting))

    def _take(self, frames: int) -> bytes:
        if frames <= 0:
            return b""
        self.taken += frames
        data = self.read(frames * self.frame_bytes)
        return data[: frames * self.frame_bytes].ljust(frames * self.frame_bytes, b"\x00")
