"""The agent's side of the media plane (issue 17): commanding a stream instead of feeding it.

A stream the pacer feeds has each packet built by the pacer's thread, behind the
agent's interpreter lock. `play` hands the stream to the RTP sender process instead
(ivr/rtp_play.py): its RTP state once, at the next deadline the pacer has not built
yet, then the whole encoded prompt; the child sends prompt and silence on its own
clock and reports each prompt's end (`PacedStream.play_done`). `halt` takes the stream
back, with the sequence number, timestamp, deadline and marker the child reached, so
the pacer goes on where it stopped (a bridge's live audio, a key press).

Both run on the call's thread, holding the pacer's round lock for a moment (the
pacer's thread holds it while it builds and hands over one round), so a stream is
never fed and commanded at once. When the sender process is gone, every commanded
stream's call is ended by the pacer (ivr/rtp_pacer.py `_sender_gone`): its audio was
the child's, and a silent call is worse than a clean BYE.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ivr.rtp_sender import RtpSender, SenderGone
from ivr.sdp_check import sendable

logger = logging.getLogger(__name__)

#: How long a hand-over takes to reach the child, at most (a new stream's first deadline
#: is the next period after it: issue 17, at 100 calls the agent answering a burst of
#: calls took up to 1.5 s from a stream's start to its hand-over, and the child sent the
#: packets of that time in one burst as soon as it got them).
HANDOVER_S = 0.002


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

    def fail(self, reason: str) -> None:
        """The stream cannot go on (`reason`): end its call. The pacer has dropped it."""
        ...

    def play_done(self, play_id: int) -> None:
        """The media plane sent prompt `play_id` to its end (issue 17)."""
        ...


@dataclass
class _Schedule:
    stream: PacedStream
    first: int
    """The stream's first deadline is `first` periods after the clock's zero."""
    key: int = 0
    """The stream's name to the sender process."""
    sent: int = 0
    """Packet deadlines passed so far (sent or skipped)."""
    sock: socket.socket | None = field(default=None, compare=False)
    """The socket the sender process was given for this stream."""
    plane: bool = False
    """Commanded: the sender process paces it itself (ivr/rtp_play.py); this thread skips it."""
    pending: bool = False
    """About to be commanded from its first packet: no thread builds any of its packets."""
    held: bool = False

    def deadline(self) -> float:
        # Whole periods, so streams on one grid share the exact same float: their
        # order in a burst (by deadline, then by age) is the same every time.
        return (self.first + self.sent) * self.stream.period


class PlaneCommands:
    """Mixed into RtpPacer: the commands of the media plane."""

    _clock: Callable[[], float]
    _round: threading.Lock
    _lock: threading.Lock
    _schedules: list[_Schedule]
    _sender: RtpSender | None
    stream_faults: int

    def _sender_gone(self) -> None: ...  # RtpPacer's

    def remove(self, stream: PacedStream) -> None: ...  # RtpPacer's

    def _schedule_of(self, stream: PacedStream) -> _Schedule | None:
        with self._lock:
            return next((s for s in self._schedules if s.stream is stream), None)

    def commandable(self) -> bool:
        """Whether a sender process is there to take commanded streams."""
        sender = self._sender
        return sender is not None and sender.ready()

    def play(
        self,
        stream: PacedStream,
        sock: Any,
        state: Callable[[], tuple[Any, ...]],
        address: tuple[Any, ...],
        payload: bytes,
        play_id: int,
    ) -> bool:
        """Queue an encoded prompt on `stream` (sending from `sock`), commanding it first if
        it is fed; `state()`
        gives (pt, ssrc, seq, ts, samples, size, silence byte, marker) as the stream stands,
        read while the pacer thread cannot build one of its packets.
        False when there is no sender process to command (the caller feeds it instead)."""
        sender = self._sender
        schedule = self._schedule_of(stream)
        if schedule is None:
            return False
        try:
            return self._play(schedule, sender, sock, state, address, payload, play_id)
        finally:
            schedule.pending = False  # commanded, or fed from here (the sender is gone)

    def _play(
        self,
        schedule: _Schedule,
        sender: RtpSender | None,
        sock: Any,
        state: Callable[[], tuple[Any, ...]],
        address: tuple[Any, ...],
        payload: bytes,
        play_id: int,
    ) -> bool:
        stream = schedule.stream
        if sender is None or not sender.ready() or not sendable(address):
            return False  # fed instead (a bad destination is refused there: its call ends)
        try:
            with self._round:
                if not schedule.plane:
                    if schedule.sock is not sock or not sender.is_open(schedule.key):
                        sender.open(schedule.key, sock)  # the call's own socket (its SDP port)
                        schedule.sock = sock
                    pt, ssrc, seq, ts, samples, size, silence, marker = state()
                    if schedule.sent == 0:  # nothing sent yet: no clock to keep but the child's
                        start = math.ceil((self._clock() + HANDOVER_S) / stream.period)
                        schedule.first = max(schedule.first, start)
                    deadline = schedule.deadline()
                    held = not stream.sending()
                    plane = (deadline, stream.period, pt, ssrc, seq, ts, samples, size, silence)
                    sender.command("plane", schedule.key, (*plane, marker, address))
                    if held:
                        sender.command("mute", schedule.key, True)
                    schedule.plane, schedule.held = True, held
            sender.play(schedule.key, play_id, payload)
        except SenderGone:
            self._sender_gone()
            return True  # the call is being ended
        return True

    def clear(self, stream: PacedStream) -> None:
        """Drop the prompts queued on a commanded stream (silence goes on)."""
        schedule = self._schedule_of(stream)
        sender = self._sender
        if schedule is None or sender is None or not schedule.plane:
            return
        try:
            sender.command("clear", schedule.key)
        except SenderGone:
            self._sender_gone()

    def halt(self, stream: PacedStream) -> tuple[int, int, bool] | None:
        """Feed `stream` again from where the child got to: (seq, ts, marker) to go on
        with; None when it was not commanded (or the child is gone: its call ends)."""
        schedule = self._schedule_of(stream)
        sender = self._sender
        if schedule is None or sender is None or not schedule.plane:
            return None
        try:
            with self._round:
                state = sender.halt(schedule.key)
                schedule.plane = False
                if state is None:
                    return None
                seq, ts, deadline, marker = state
                schedule.sent = round(deadline / stream.period) - schedule.first
                return int(seq), int(ts), bool(marker)
        except SenderGone:
            self._sender_gone()
            return None

    def _reply(self, reply: tuple[Any, ...]) -> None:
        """What the child says of a commanded stream (from the sender's reader thread)."""
        kind, key = reply[0], reply[1]
        with self._lock:
            schedule = next((s for s in self._schedules if s.key == key), None)
        if schedule is None:
            return
        if kind == "done":
            schedule.stream.play_done(int(reply[2]))
        elif kind == "dropped":
            self.stream_faults += 1
            logger.error("a commanded RTP stream failed (%s): its call is ended", reply[2])
            self.remove(schedule.stream)
            schedule.stream.fail(str(reply[2]))
