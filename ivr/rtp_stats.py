"""Receive-side quality of one call's RTP: packets received, lost, interarrival jitter.

RFC 3550 appendix A, per synchronisation source (SSRC):

- A.1: the sequence number is extended with a count of wraps (cycles); a
  packet up to MAX_DROPOUT ahead of the highest one is in order (a gap is
  loss), up to MAX_MISORDER behind it is late (reordered) and counted when
  it arrives; anything else is a jump, taken as a restarted sender only when
  the next packet follows it.
- A.3: expected = extended highest - extended first + 1; lost = expected -
  received. Unlike A.3, a duplicate is not counted as received (a sender or
  network that doubles packets would otherwise hide loss, even make it
  negative), so `lost` is never below zero.
- A.8: jitter J += (|D| - J) / 16, D the difference in relative transit
  time (arrival on the monotonic clock in timestamp units minus the RTP
  timestamp) between this packet and the one that arrived before it. Key
  presses (RFC 4733) carry the timestamp of the press's start in every
  packet, so they count for loss but not for jitter.

Nothing here knows the SIP library: the adapter feeds every packet it
receives with its arrival time (ivr/sip/media.py, fix 25).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from recorder.calls import RtpStats

SEQ_MOD = 1 << 16
TS_MOD = 1 << 32
MAX_DROPOUT = 3000
MAX_MISORDER = 100
#: G.711 (the only audio the agent negotiates, fix 12) is clocked at 8 kHz.
CLOCK_RATE = 8000


def _signed32(delta: int) -> int:
    """A 32-bit timestamp difference as the nearest signed value (wrap-safe)."""
    return (delta + (1 << 31)) % TS_MOD - (1 << 31)


@dataclass
class _Source:
    """The state A.1 and A.8 keep for one SSRC."""

    base_seq: int
    max_seq: int
    cycles: int = 0
    received: int = 1
    bad_seq: int | None = None
    seen: set[int] = field(default_factory=set)
    """Extended sequence numbers received lately (within MAX_MISORDER of the highest)."""
    jitter: float = 0.0
    """In timestamp units, as A.8 keeps it."""
    last: tuple[float, int] | None = None
    """(arrival in s, RTP timestamp) of the last audio packet."""

    def extended_max(self) -> int:
        return self.cycles + self.max_seq

    def expected(self) -> int:
        return self.extended_max() - self.base_seq + 1

    def lost(self) -> int:
        return max(0, self.expected() - self.received)

    def sequence(self, seq: int) -> bool:
        """A.1 for one packet; False when it is not counted (duplicate, jump)."""
        delta = (seq - self.max_seq) % SEQ_MOD
        if 0 < delta < MAX_DROPOUT:  # in order, perhaps after a gap
            if seq < self.max_seq:
                self.cycles += SEQ_MOD
            self.max_seq = seq
            extended = self.extended_max()
        elif delta == 0 or delta > SEQ_MOD - MAX_MISORDER:  # a duplicate or late
            extended = self.extended_max() - ((self.max_seq - seq) % SEQ_MOD)
            if extended in self.seen or extended < self.base_seq:
                return False
        else:  # a jump: the sender restarted if the next packet follows this one
            if seq != self.bad_seq:
                self.bad_seq = (seq + 1) % SEQ_MOD
                return False
            self._restart(seq)
            return True
        self.bad_seq = None
        self.received += 1
        self.seen.add(extended)
        if len(self.seen) > 4 * MAX_MISORDER:
            oldest = self.extended_max() - MAX_MISORDER
            self.seen = {s for s in self.seen if s >= oldest}
        return True

    def _restart(self, seq: int) -> None:
        """A.1's resynchronisation: what came before stays counted, the rest starts over."""
        before_received, before_expected = self.received, self.expected()
        self.max_seq, self.cycles, self.bad_seq = seq, 0, None
        self.base_seq = seq - before_expected  # keeps expected() counting on from here
        self.received = before_received + 1
        self.seen = {seq}
        self.last = None

    def transit(self, arrival: float, timestamp: int, rate: int) -> None:
        """A.8 for one audio packet."""
        if self.last is not None:
            previous_arrival, previous_timestamp = self.last
            d = (arrival - previous_arrival) * rate - _signed32(timestamp - previous_timestamp)
            self.jitter += (abs(d) - self.jitter) / 16
        self.last = (arrival, timestamp)


class ReceiveStats:
    """RFC 3550 receive statistics of one call's incoming RTP (every SSRC in it).

    `packet()` is called by the receiving thread, `result()` by anyone; a lock
    keeps them apart.
    """

    def __init__(self, rate: int = CLOCK_RATE) -> None:
        self._rate = rate
        self._sources: dict[int, _Source] = {}
        self._latest: int | None = None
        self._lock = threading.Lock()

    def packet(self, ssrc: int, seq: int, timestamp: int, arrival: float, audio: bool) -> None:
        """One packet as it arrived (`arrival` in seconds on the monotonic clock)."""
        with self._lock:
            source = self._sources.get(ssrc)
            if source is None:
                source = self._sources[ssrc] = _Source(base_seq=seq, max_seq=seq)
                source.seen.add(seq)
                counted = True
            else:
                counted = source.sequence(seq)
            self._latest = ssrc
            if counted and audio:
                source.transit(arrival, timestamp, self._rate)

    def result(self) -> RtpStats | None:
        """Received and lost over every source, the jitter of the latest; None before any packet."""
        with self._lock:
            if self._latest is None:
                return None
            sources = self._sources.values()
            jitter = self._sources[self._latest].jitter
            return RtpStats(
                packets_received=sum(s.received for s in sources),
                packets_lost=sum(s.lost() for s in sources),
                jitter_ms=round(jitter * 1000 / self._rate, 3),
            )


def header(packet: bytes) -> tuple[int, int, int, int] | None:
    """(payload type, sequence, timestamp, SSRC) of an RTP version 2 packet; None if not one."""
    if len(packet) < 12 or packet[0] >> 6 != 2:
        return None
    return (
        packet[1] & 0x7F,
        int.from_bytes(packet[2:4], "big"),
        int.from_bytes(packet[4:8], "big"),
        int.from_bytes(packet[8:12], "big"),
    )
