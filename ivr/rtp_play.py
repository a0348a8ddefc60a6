"""The media plane's playback, in the RTP sender process (issue 17): streams it paces itself.

The agent's pacer builds each packet of a stream it feeds (bridged audio, key presses).
A stream the agent *commands* instead is paced here, in the child, with no per-packet
traffic across the agent's interpreter lock: the agent hands over the stream's RTP
state once ("plane"), then whole prompts ("play", already encoded: PCMU/PCMA bytes),
and the child sends a packet per period on absolute deadlines, the prompt's bytes
while there are any, the codec's silence otherwise. It tells the agent when a prompt
has been sent to its end ("done") and, asked to give the stream back ("stop"), hands
back the RTP state it reached (sequence number, timestamp, next deadline, marker), so
the agent's pacer goes on seamlessly (RFC 3550 5.1: one SSRC, sequence numbers and
timestamps continuous; RFC 3551 4.1: the marker bit on the first packet of a talkspurt,
here of the stream and after a hold).

Messages (marshalled tuples on the control socket, as ivr/rtp_sender.py's):

    ("plane", key, (deadline, period, pt, ssrc, seq, ts, samples, size, silence, marker, address))
    ("play", key, play_id, payload, last)      a prompt, in pieces; `last` on its final one
    ("clear", key)                             drop what is queued (a key barged in)
    ("mute", key, held)                        on hold: time passes, nothing is sent
    ("stop", key)                              answered ("stopped", key, seq, ts, deadline, marker)

and from the child: ("done", key, play_id), ("dropped", key, reason).

Standard library only: the child runs ivr/rtp_child.py with `python -I`, which loads
this file by its path.
"""

from __future__ import annotations

import heapq
import itertools
import math
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: A stall longer than this loses the oldest packets instead of sending them in one burst.
MAX_BURST_S = 0.2
#: Prompt bytes per "play" message (a control message must fit the socket's buffer).
PIECE_BYTES = 48 * 1024

#: A deadline this close ahead counts as come (a round does not sleep a microsecond).
_EARLY_S = 1e-6
#: A packet put on the wire more than this after its deadline counts as sent late.
LATE_S = 0.002

Reply = tuple[Any, ...]


@dataclass
class _Play:
    play_id: int
    data: bytearray = field(default_factory=bytearray)
    at: int = 0
    complete: bool = False


@dataclass
class PlaneStream:
    """One commanded stream: its RTP state and what it has queued."""

    deadline: float
    period: float
    pt: int
    ssrc: int
    seq: int
    ts: int
    samples: int
    size: int
    silence: int
    marker: bool
    address: tuple[Any, ...]
    held: bool = False
    plays: deque[_Play] = field(default_factory=deque)
    token: int = 0  # its entry in Plane._due

    @classmethod
    def from_state(cls, state: tuple[Any, ...]) -> PlaneStream:
        deadline, period, pt, ssrc, seq, ts, samples, size, silence, marker, address = state
        return cls(
            float(deadline),
            float(period),
            int(pt),
            int(ssrc),
            int(seq),
            int(ts),
            int(samples),
            int(size),
            int(silence),
            bool(marker),
            tuple(address),
        )

    def payload(self, done: list[int]) -> bytes:
        """The next packet's payload: queued prompt bytes, padded with silence at a
        prompt's end (whose id goes to `done`); silence when nothing is queued."""
        while self.plays:
            play = self.plays[0]
            if play.at < len(play.data) or not play.complete:
                break
            done.append(self.plays.popleft().play_id)  # an empty prompt
        if not self.plays:
            return bytes([self.silence]) * self.size
        play = self.plays[0]
        chunk = bytes(play.data[play.at : play.at + self.size])
        play.at += len(chunk)
        if play.at >= len(play.data) and play.complete:
            done.append(self.plays.popleft().play_id)
        return chunk.ljust(self.size, bytes([self.silence]))

    def skip(self, count: int, done: list[int]) -> None:
        """`count` packet times pass unsent (held, or a stall): their audio with them."""
        for _ in range(count):
            self.payload(done)
        self.ts = (self.ts + count * self.samples) & 0xFFFFFFFF
        self.deadline += count * self.period
        self.marker = True

    def packet(self, done: list[int]) -> bytes:
        payload = self.payload(done)
        header = struct.pack(
            "!BBHII",
            0x80,
            (0x80 if self.marker else 0) | (self.pt & 0x7F),
            self.seq,
            self.ts,
            self.ssrc,
        )
        self.marker = False
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + self.samples) & 0xFFFFFFFF
        self.deadline += self.period
        return header + payload


class Plane:
    """Every commanded stream of the child; `send_due` puts their due packets on the wire."""

    def __init__(self, reply: Callable[[Reply], None]) -> None:
        self.streams: dict[int, PlaneStream] = {}
        self._reply = reply
        #: (deadline, token, key): a stream's entry is stale once its token has changed.
        self._due: list[tuple[float, int, int]] = []
        self._tokens = itertools.count(1)

    def command(self, kind: str, message: tuple[Any, ...]) -> bool:
        """Take a plane message; False when `kind` is not one."""
        key = message[1]
        if kind == "plane":
            self.streams[key] = PlaneStream.from_state(message[2])
            self._schedule(key, self.streams[key])
        elif kind == "play":
            stream = self.streams.get(key)
            if stream is None:
                return True
            play_id, piece, last = message[2], message[3], message[4]
            if not stream.plays or stream.plays[-1].play_id != play_id:
                stream.plays.append(_Play(int(play_id)))
            stream.plays[-1].data += piece
            stream.plays[-1].complete = bool(last)
        elif kind == "clear":
            stream = self.streams.get(key)
            if stream is not None:
                stream.plays.clear()
        elif kind == "mute":
            stream = self.streams.get(key)
            if stream is not None:
                stream.held = bool(message[2])
        elif kind == "stop":
            ended = self.streams.pop(key, None)
            if ended is None:
                self._reply(("stopped", key, None))
            else:
                self._reply(("stopped", key, (ended.seq, ended.ts, ended.deadline, ended.marker)))
        else:
            return False
        return True

    def forget(self, key: int) -> None:
        self.streams.pop(key, None)

    def _schedule(self, key: int, stream: PlaneStream) -> None:
        stream.token = next(self._tokens)
        heapq.heappush(self._due, (stream.deadline, stream.token, key))

    def next_deadline(self) -> float | None:
        """The earliest stream's next deadline (stale entries -- a stream stopped, replaced
        or sent meanwhile -- are dropped here)."""
        while self._due:
            deadline, token, key = self._due[0]
            stream = self.streams.get(key)
            if stream is not None and stream.token == token:
                return deadline
            heapq.heappop(self._due)
        return None

    def send_due(
        self, now: float, sockets: dict[int, Any], sent: Callable[[float, float], None]
    ) -> None:
        """Send the packets due by `now` of the streams whose deadline has come, earliest
        first (a round costs what is due, not what is open: at 100 calls the child woke
        5,000 times a second and looked at every stream each time)."""
        again: list[tuple[int, PlaneStream]] = []
        while self._due and self._due[0][0] <= now + _EARLY_S:
            _deadline, token, key = heapq.heappop(self._due)
            stream = self.streams.get(key)
            if stream is None or stream.token != token:
                continue
            self._send_stream(key, stream, now, sockets.get(key), sent)
            if self.streams.get(key) is stream:
                again.append((key, stream))
        for key, stream in again:
            self._schedule(key, stream)

    def _send_stream(
        self, key: int, stream: PlaneStream, now: float, sock: Any, sent: Callable[..., None]
    ) -> None:
        """One stream's packets due by `now` (catching up after a late wake-up, as the
        agent's pacer does; a stall over MAX_BURST_S loses the oldest)."""
        # floor, not int(): woken early (a message came), -0.3 periods is none due
        due = math.floor((now - stream.deadline) / stream.period + 1e-9) + 1
        if due <= 0:
            return
        done: list[int] = []
        if stream.held:
            stream.skip(due, done)
        else:
            lost = max(0, due - max(1, int(MAX_BURST_S / stream.period)))
            if lost:
                stream.skip(lost, done)
            for _ in range(due - lost):
                deadline = stream.deadline
                packet = stream.packet(done)
                if sock is None:
                    continue
                sent(deadline, now)
                try:
                    sock.sendto(packet, stream.address)
                except OSError:
                    continue  # the far end's port is closed (it hung up): its call ends
                except Exception as exc:  # a destination sendto cannot take
                    self.streams.pop(key, None)
                    self._reply(("dropped", key, f"{type(exc).__name__}: {exc}"))
                    break
        for play_id in done:
            self._reply(("done", key, play_id))
