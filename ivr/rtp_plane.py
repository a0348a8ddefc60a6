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
import threading
from typing import TYPE_CHECKING, Any

from ivr.rtp_sender import RtpSender, SenderGone

if TYPE_CHECKING:
    from ivr.rtp_pacer import PacedStream, _Schedule

logger = logging.getLogger(__name__)


class PlaneCommands:
    """Mixed into RtpPacer: the commands of the media plane."""

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

    def commanded(self, stream: PacedStream) -> bool:
        schedule = self._schedule_of(stream)
        return schedule is not None and schedule.plane

    def play(
        self,
        stream: PacedStream,
        state: tuple[Any, ...],
        address: tuple[Any, ...],
        payload: bytes,
        play_id: int,
    ) -> bool:
        """Queue an encoded prompt on `stream`, commanding it first if it is fed; `state`
        is (pt, ssrc, seq, ts, samples, size, silence byte, marker) as the stream stands.
        False when there is no sender process to command (the caller feeds it instead)."""
        sender = self._sender
        schedule = self._schedule_of(stream)
        if sender is None or schedule is None or schedule.sock is None or not sender.ready():
            return False
        try:
            with self._round:
                if not schedule.plane:
                    if not sender.is_open(schedule.key):
                        sender.open(schedule.key, schedule.sock)
                    pt, ssrc, seq, ts, samples, size, silence, marker = state
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
