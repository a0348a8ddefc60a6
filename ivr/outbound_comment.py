"""The resident's spoken comment after a survey key (issue 22; seed 000 1.4.3.6: ideas for
improvement): where it lies on the call's recording, cut out as a recording of its own
(label `comment`, so the desk plays it beside the call's), and its text when a speech
model is there.

The survey (ivr/survey.py) marks the comment with StartRecording/StopRecording; `Marks`
passes every Media call on to the call's media and notes when those two came, on the
media's clock, from the moment the call's recording began. The call's mono recording has
a frame for every 20 ms tick from then on, so the span is found in it by time.
"""

from __future__ import annotations

import logging
import wave
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np

from ivr.call_media import RATE, SILENCE_RMS
from ivr.flow_runner import Media
from recorder.calls import CallLog
from recorder.wav import RecordingError, WavWriter, recording_path

logger = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> datetime: ...


#: Kept either side of the marks: the beep's end, the last syllable before #.
MARGIN_S = 0.3
Transcribe = Callable[[Path], str | None]
"""A mono 8 kHz WAV -> its text, or None while no speech model is usable."""


@dataclass(frozen=True)
class Comment:
    """The comment as kept: its recording (None: it could not be cut) and its text."""

    path: Path | None
    text: str | None
    seconds: float


class Marks:
    """`Media` for the survey: the call's own media, with the comment's span noted."""

    def __init__(self, media: Media, monotonic: Callable[[], float]) -> None:
        self._media = media
        self._monotonic = monotonic
        self._origin = monotonic()
        self.start_s: float | None = None
        self.end_s: float | None = None

    def restart(self) -> None:
        """The call's recording begins now (its first frame)."""
        self._origin = self._monotonic()

    def span(self) -> tuple[float, float] | None:
        """(start, end) in seconds of the call's recording; None: no comment was asked."""
        if self.start_s is None:
            return None
        end = self.end_s if self.end_s is not None else self._monotonic() - self._origin
        return max(0.0, self.start_s - MARGIN_S), end + MARGIN_S

    def play(self, prompt_name: str, text: str, barge_in: bool) -> None:
        self._media.play(prompt_name, text, barge_in)

    def stop_playing(self) -> None:
        self._media.stop_playing()

    def beep(self) -> None:
        self._media.beep()

    def start_recording(self, max_s: float, silence_s: float, stop_digit: str) -> None:
        self.start_s = self._monotonic() - self._origin
        self._media.start_recording(max_s, silence_s, stop_digit)

    def stop_recording(self) -> None:
        self.end_s = self._monotonic() - self._origin
        self._media.stop_recording()

    def dial(self, leg: str, uri: str, whisper_text: str, timeout_s: float) -> None:
        self._media.dial(leg, uri, whisper_text, timeout_s)

    def drop_leg(self, leg: str) -> None:
        self._media.drop_leg(leg)

    def bridge(self, leg: str) -> None:
        self._media.bridge(leg)

    def hangup(self, cause: str) -> None:
        self._media.hangup(cause)


def span_of(recording: Path, span: tuple[float, float]) -> bytes:
    """`span` (seconds) of the mono `recording`, 16-bit PCM."""
    with wave.open(str(recording), "rb") as wav:
        rate = wav.getframerate()
        first = min(int(span[0] * rate), wav.getnframes())
        last = min(int(span[1] * rate), wav.getnframes())
        wav.setpos(first)
        return wav.readframes(max(0, last - first))


def silent(pcm: bytes) -> bool:
    """Nothing said: no 20 ms frame above the recorder's silence level."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    frames = samples[: samples.size // 160 * 160].reshape(-1, 160)
    return not frames.size or float(np.sqrt((frames**2).mean(axis=1)).max()) < SILENCE_RMS


def transcribed(transcribe: Transcribe | None, path: Path, label: str) -> str | None:
    """The comment's text; None without a model or when decoding failed (logged)."""
    if transcribe is None:
        return None
    try:
        text = transcribe(path)
    except Exception:  # a broken model: the recording is kept, the text waits for a clerk
        logger.exception("[%s] the comment could not be transcribed", label)
        return None
    return text.strip() if text else text


def keep(
    marks: Marks,
    recording: Path | None,
    open_writer: Callable[[], WavWriter | None],
    close_writer: Callable[[WavWriter], None],
    transcribe: Transcribe | None,
    label: str,
) -> Comment | None:
    """The comment of a call whose recording is closed: cut out, kept, transcribed.
    None when no comment was asked for."""
    span = marks.span()
    if span is None:
        return None
    if recording is None:  # the call could not be recorded: nothing to cut
        return Comment(None, None, span[1] - span[0])
    try:
        pcm = span_of(recording, span)
    except (OSError, EOFError, wave.Error):
        logger.exception("[%s] the comment could not be read from %s", label, recording)
        return Comment(None, None, span[1] - span[0])
    seconds = len(pcm) / 2 / RATE
    if silent(pcm):  # # or a pause with nothing said: no comment, no recording
        return Comment(None, "", seconds)
    writer = open_writer()
    if writer is None:
        return Comment(None, None, seconds)
    try:
        writer.write(pcm)
    except RecordingError:
        logger.exception("[%s] the comment could not be written", label)
    close_writer(writer)
    return Comment(writer.path, transcribed(transcribe, writer.path, label), seconds)


def note(comment: Comment | None) -> str | None:
    """What the follow-up's notes add for the comment, as a clerk would write it."""
    if comment is None:
        return None
    if comment.text:
        return f"住户意见：{comment.text}"
    if comment.text == "":
        return "住户没有提出意见"
    return "住户的语音意见已录音，待转写"


class Recordings:
    """Opens and closes a placed call's recordings, each in the call log (the call's,
    mono; a bridge's, two channels; the comment's)."""

    def __init__(self, log: CallLog, root: Path, zone: ZoneInfo, clock: Clock) -> None:
        self._log, self._root, self._zone, self._clock = log, root, zone, clock

    def open(self, cid: str, channels: int, label: str) -> WavWriter | None:
        at = self._clock.now()
        path = recording_path(self._root, at.astimezone(self._zone), cid)
        try:
            writer = WavWriter(path, channels=channels)
        except RecordingError as exc:
            logger.exception("[%s] ALARM: cannot record the outbound call", cid)
            self._log.recording_failed(cid, str(exc), at)
            return None
        self._log.recording_started(cid, path, label, RATE, at)
        return writer

    def close(self, cid: str, writer: WavWriter) -> None:
        try:
            info = writer.close()
        except RecordingError:
            logger.exception("[%s] could not close the recording", cid)
            return
        self._log.recording_closed(cid, info, self._clock.now())
