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
  so a reordered packet still has time to land;
- when nothing arrives for longer than `max_lag` (the caller's phone stopped
  sending: silence suppression, hold, a dead network), silence is taken in
  its place, so the recording stays aligned with the call's clock;
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
    max_lag: int = 15
    """Frames the reader may fall behind the clock before silence is taken (300 ms)."""
    owed: int = 0
    """Frames the clock has ticked that have not been taken yet."""

    def tick(self) -> bytes:
        """One 20 ms tick of the clock: zero or more whole frames."""
        self.owed += 1
        waiting = self.buffered() // self.frame_bytes
        take = max(0, waiting - self.hold)
        # Catch up fully when behind; never take more than arrived.
        take = min(waiting, max(take, self.owed - self.hold)) if waiting else 0
        if self.owed - take > self.max_lag:
            take = self.owed - self.max_lag  # late beyond the hold: silence stands in
        return self._take(take)

    def drain(self) -> bytes:
        """At the end: everything that arrived, then silence for the rest of the call's time."""
        waiting = self.buffered() // self.frame_bytes
        return self._take(max(waiting, self.owed))

    def _take(self, frames: int) -> bytes:
        if frames <= 0:
            return b""
        self.owed -= frames
        data = self.read(frames * self.frame_bytes)
        return data[: frames * self.frame_bytes].ljust(frames * self.frame_bytes, b"\x00")
