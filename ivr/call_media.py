"""The media of one call driven by the call flow: `ivr.flow_runner.Media` over SIP.

The flow (ivr/flow.py) decides what happens; this object does it, on the
agent's 20 ms clock (absolute deadlines, as in ivr/agent.py):

- each tick sends the caller one frame: the prompt being played, a beep, or
  in a bridge what the clerk said; silence otherwise;
- takes what the caller sent (ivr.playout.Playout: late packets kept) and
  writes it to the recording as it arrives: mono while the agent talks to
  the caller, a second, two-channel file (left the caller, right the clerk,
  sample-aligned) from the moment a clerk is bridged in;
- reports to the flow what happened: a prompt played to its end, each key
  (RFC 2833), the caller's silence while a message is recorded, a clerk's
  phone answering, failing or hanging up, the caller hanging up.

Media methods are called by the runner from the loop's own thread or from
the timer thread; they only change state under a lock and return at once.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ivr.call_recording import Recorders, StereoWriter
from ivr.flow_events import (
    Digit,
    Event,
    FarEndAnswered,
    FarEndBusy,
    FarEndNoAnswer,
    HungUp,
    PromptFinished,
    Silence,
)
from ivr.leg_status import leg_result
from ivr.phone import FRAME_BYTES, Call
from ivr.playout import Playout
from recorder.wav import RecordingError, WavWriter

logger = logging.getLogger(__name__)
FRAME_S = 0.020
RATE = 8000
#: Below this RMS (16-bit) a frame counts as silence for message taking.
SILENCE_RMS = 300.0


def tone(seconds: float = 0.4, hz: float = 1000.0, level: float = 8000.0) -> bytes:
    """The confirmation beep: a plain sine, telephone rate."""
    t = np.arange(int(RATE * seconds)) / RATE
    return (level * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()


@dataclass
class _Playing:
    name: str | None  # None: a beep, nothing to report
    audio: bytes
    play_id: int = 0  # the call's id for it once handed over (0: not yet)


@dataclass
class _Leg:
    """An outgoing call to a clerk's phone."""

    name: str
    call: Call
    whisper: bytes
    whispering: int = -1  # bytes of whisper sent; -1 before the clerk answers
    reported: bool = False
    playout: Playout | None = None


class CallMedia:
    """`ivr.flow_runner.Media` for one answered call; `run()` is its media loop."""

    def __init__(
        self,
        call: Call,
        prompts: Callable[[str, str], bytes],
        dial: Callable[[str], Call],
        recorders: Recorders,
        stopping: threading.Event,
        tap: Callable[[str, bytes], None] | None = None,
        monotonic: Callable[[], float] | None = None,
        staff_call: bool = False,
    ) -> None:
        """`staff_call`: the call is a clerk's phone and the leg the resident (a call-back
        from the desk, ivr/outbound_desk.py): the bridge's recording keeps the resident on
        the left and the clerk on the right all the same."""
        import time

        self.call = call
        self._prompts = prompts
        self._dial = dial
        self._recorders = recorders
        self._feed: Callable[[Event], None] = lambda _event: None
        self._stopping = stopping
        self._tap = tap
        self._monotonic = monotonic or time.monotonic
        self._staff_call = staff_call
        self._lock = threading.RLock()
        self._playing: deque[_Playing] = deque()
        self._legs: dict[str, _Leg] = {}
        self._dropped: dict[str, bool] = {}
        self._bridged: _Leg | None = None
        self._recording: tuple[float, str] | None = None  # (silence_s, stop digit)
        self._quiet_s = 0.0
        self._silence_reported = False
        self._hangup_cause: str | None = None
        self.stage_ended = "answered"
        self.bridged_at: float | None = None
        #: Per leg: when the clerk's phone answered (monotonic, before the whisper) ...
        self.leg_answered_at: dict[str, float] = {}
        #: ... or how it ended unanswered, as far as SIP told ("busy", "failed"...).
        self.leg_results: dict[str, str] = {}
        self.mono: WavWriter | None = None
        self.stereo: StereoWriter | None = None

    def attach(self, feed: Callable[[Event], None]) -> None:
        """Where to report what happens (the runner's `feed`)."""
        self._feed = feed

    # ------------------------------------------------------------ Media

    def play(self, prompt_name: str, text: str, barge_in: bool) -> None:
        audio = self._prompts(prompt_name, text)
        with self._lock:
            self._playing.append(_Playing(prompt_name, audio))

    def stop_playing(self) -> None:
        with self._lock:
            if any(p.play_id for p in self._playing):
                self.call.stop_play()
            self._playing.clear()

    def beep(self) -> None:
        with self._lock:
            self._playing.append(_Playing(None, tone()))

    def start_recording(self, max_s: float, silence_s: float, stop_digit: str) -> None:
        logger.info(
            "[%s] taking the message (ends at %s or %.0f s of silence)",
            self.call.call_id,
            stop_digit,
            silence_s,
        )
        with self._lock:
            self._recording = (silence_s, stop_digit)
            self._quiet_s, self._silence_reported = 0.0, False

    def stop_recording(self) -> None:
        with self._lock:
            self._recording = None

    def dial(self, leg: str, uri: str, whisper_text: str, timeout_s: float) -> None:
        """INVITE in a thread of its own: the library waits there for the first answer,
        and the caller's audio must not wait with it."""
        whisper = self._prompts("whisper", whisper_text)

        def place() -> None:
            try:
                outgoing = self._dial(uri)
            except Exception:
                logger.exception("[%s] cannot ring %s", self.call.call_id, uri)
                with self._lock:
                    self.leg_results[leg] = "failed"
                self._feed(FarEndNoAnswer(leg))
                return
            logger.info("[%s] ringing clerk %s (%s)", self.call.call_id, uri, leg)
            with self._lock:
                if self._dropped.pop(leg, False):
                    outgoing.cancel_or_hangup()  # the flow gave up on it meanwhile
                    return
                self._legs[leg] = _Leg(leg, outgoing, whisper)

        threading.Thread(target=place, name=f"dial {leg}", daemon=True).start()

    def drop_leg(self, leg: str) -> None:
        with self._lock:
            dropped = self._legs.pop(leg, None)
            if dropped is None:
                self._dropped[leg] = True  # still being dialled: end it when it is placed
            if self._bridged is dropped:
                self._bridged = None
        if dropped is not None:
            dropped.call.cancel_or_hangup()

    def bridge(self, leg: str) -> None:
        with self._lock:
            joined = self._legs.get(leg)
            if joined is None:
                return
            self._bridged = joined
            self.bridged_at = self._monotonic()
            self.call.live_audio()
            joined.call.live_audio()
            self._playing.clear()
            if self.stereo is None:
                writer = self._recorders.open(2, "caller,staff")
                stereo = (
                    StereoWriter(writer, swapped=self._staff_call) if writer is not None else None
                )
                self.stereo = stereo
        logger.info("[%s] bridged to the clerk (%s)", self.call.call_id, leg)

    def hangup(self, cause: str) -> None:
        with self._lock:
            self._hangup_cause = cause

    # ------------------------------------------------------------ loop

    def run(self, done: threading.Event) -> None:
        """The media loop: until the flow is `done` or the agent stops."""
        call = self.call
        caller_in = Playout(call.read, call.buffered, FRAME_BYTES)
        start, tick = self._monotonic(), 0
        caller_gone = False
        try:
            while not done.is_set() and not self._stopping.is_set():
                if call.ended and not caller_gone:
                    caller_gone = True
                    self._feed(HungUp("caller"))
                    continue
                with self._lock:
                    cause = self._hangup_cause
                    if cause is not None and not self._playing:
                        break
                out = self._next_out()
                if out:
                    call.write(out)
                self._take(caller_in.tick(), self._clerk_frames())
                for digit in call.dtmf_digits():
                    logger.info("[%s] key %s", call.call_id, digit)
                    self._feed(Digit(digit))
                self._watch_legs()
                self._report_finished_prompt()
                tick += 1
                delay = start + tick * FRAME_S - self._monotonic()
                if delay > 0:
                    self._stopping.wait(delay)
        finally:
            self._take(caller_in.drain(), self._clerk_frames(drain=True))
            logger.info(
                "[%s] media: %d ticks, %d with nothing from the caller (recorded as silence)",
                call.call_id,
                tick,
                caller_in.silenced,
            )
            self._close()
            if self._hangup_cause is not None or self._stopping.is_set():
                call.hangup()

    def _next_out(self) -> bytes:
        """Issue 17: prompts go whole to the call's media plane, which sends them and the
        silence between them on its own clock; nothing is written a frame at a time."""
        with self._lock:
            if self._bridged is not None and self._bridged.playout is not None:
                return b""  # filled in _take with what the clerk said
            for playing in self._playing:
                if not playing.play_id:
                    playing.play_id = self.call.play(playing.audio)
            return b""

    def _report_finished_prompt(self) -> None:
        finished: list[str | None] = []
        with self._lock:
            for play_id in self.call.finished_plays():
                ids = [p.play_id for p in self._playing]
                if play_id not in ids:
                    continue  # stopped meanwhile
                for _ in range(ids.index(play_id) + 1):
                    finished.append(self._playing.popleft().name)
        for name in finished:
            if name is not None:
                self._feed(PromptFinished(name))

    def _clerk_frames(self, drain: bool = False) -> bytes:
        with self._lock:
            leg = self._bridged
        if leg is None or leg.playout is None:
            return b""
        return leg.playout.drain() if drain else leg.playout.tick()

    def _take(self, caller: bytes, clerk: bytes) -> None:
        """What the caller (and in a bridge the clerk) said in this tick."""
        if caller and self._tap is not None:
            self._tap("mono" if self.stereo is None else "caller", caller)
        if clerk:
            self.call.write(clerk)  # the clerk's words to the caller
        with self._lock:
            bridged = self._bridged
        if bridged is not None and caller:
            bridged.call.write(caller)  # the caller's words to the clerk
        if clerk and self.stereo is not None and self._tap is not None:
            self._tap("staff", clerk)
        writer = self.stereo.writer if self.stereo is not None else self.mono
        if writer is None or writer.failed:
            pass
        else:
            try:
                if self.stereo is not None:
                    self.stereo.write(caller, clerk)
                elif caller:
                    writer.write(caller)
            except RecordingError as exc:
                writer.failed = True  # said once, not every 20 ms
                logger.exception(
                    "[%s] ALARM: recording failed (disk full?); the call goes on", self.call.call_id
                )
                self._recorders.failed(str(exc))
        self._measure_silence(caller)

    def _measure_silence(self, caller: bytes) -> None:
        with self._lock:
            recording = self._recording
        if recording is None or not caller or self._silence_reported:
            return
        samples = np.frombuffer(caller, dtype="<i2").astype(np.float64)
        rms = float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0
        frames = len(caller) / FRAME_BYTES
        self._quiet_s = self._quiet_s + frames * FRAME_S if rms < SILENCE_RMS else 0.0
        if self._quiet_s >= recording[0]:
            self._silence_reported = True
            self._feed(Silence(self._quiet_s))

    def _watch_legs(self) -> None:
        with self._lock:
            legs = list(self._legs.values())
        for leg in legs:
            if leg.whispering < 0 and leg.call.answered:
                self.leg_answered_at[leg.name] = self._monotonic()
                leg.whispering = 0
                leg.playout = Playout(leg.call.read, leg.call.buffered, FRAME_BYTES)
            if 0 <= leg.whispering < len(leg.whisper):
                leg.call.write(leg.whisper[leg.whispering : leg.whispering + FRAME_BYTES])
                leg.whispering += FRAME_BYTES
                if leg.playout is not None:
                    leg.playout.tick()  # what the clerk says over the whisper is not the call's
            elif leg.whispering >= len(leg.whisper) and not leg.reported:
                leg.reported = True
                self._feed(FarEndAnswered(leg.name))
            if leg.call.ended:
                with self._lock:
                    known = self._legs.pop(leg.name, None)
                    was_bridged = self._bridged is leg
                    if was_bridged:
                        self._bridged = None
                if known is None:
                    continue
                if was_bridged or leg.reported:
                    logger.info("[%s] the clerk hung up (%s)", self.call.call_id, leg.name)
                    self._feed(HungUp("clerk"))
                else:
                    self._leg_refused(leg)

    def _leg_refused(self, leg: _Leg) -> None:
        """A clerk's phone ended the leg before the bridge: busy, no answer, or unreachable."""
        status = leg.call.final_status  # the final answer to its INVITE (486, 603, 487...)
        result = leg_result(status)
        logger.info(
            "[%s] clerk's phone ended %s unanswered (%s, SIP %s)",
            self.call.call_id,
            leg.name,
            result,
            status,
        )
        with self._lock:
            self.leg_results[leg.name] = result
        self._feed(FarEndBusy(leg.name) if result == "busy" else FarEndNoAnswer(leg.name))

    def _close(self) -> None:
        with self._lock:
            legs = list(self._legs.values())
            self._legs.clear()
            self._bridged = None
        for leg in legs:
            leg.call.cancel_or_hangup()
        if self.stereo is not None:
            try:
                self.stereo.flush()
            except RecordingError:
                logger.exception("[%s] could not finish the bridge recording", self.call.call_id)
            self._recorders.close(self.stereo.writer)
            self.stereo = None
        if self.mono is not None:
            self._recorders.close(self.mono)
            self.mono = None
