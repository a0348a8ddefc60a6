"""Speech to text with Vosk, fully offline: one shared model, one recogniser per
call and channel, decoding in worker threads so the audio threads never wait.

The contract (the SIP agent and the pipeline rely on it; keep it stable):

    engine = SpeechEngine.load(model_path, language)
        One vosk.Model per process and model directory, shared by every caller
        of load(). Raises ModelMissing (no directory) or ModelBroken (files
        missing or damaged), each a one-line message naming the path.
    engine.sample_rate
        The rate the model expects (conf/mfcc.conf --sample-frequency, else 16000).
    stream = engine.open_stream(input_rate, channel)
        stream.accept(pcm16_mono)   thread-safe, never blocks: hands 16-bit
                                    little-endian mono PCM at `input_rate` to
                                    the stream's worker thread (soxr resamples
                                    to the model rate, Vosk decodes there).
        stream.finish(timeout)      ends the stream, joins the worker and returns
                                    a TranscriptResult; TranscriptionFailed if
                                    decoding failed or took longer than timeout.
    engine.transcribe_file(path) -> {"mono": result} or {"caller": ..., "staff": ...}
        WAV of 8/16/24/32-bit PCM, float, A-law or µ-law, mono or stereo (left =
        caller, right = staff); AudioFormatError names the file when unreadable.

    resolve_model(settings) -> Path | None and is_usable(path) (from model_dir)
        let the pipeline wait, without loading anything, until a model is set.

Word times are seconds on the original audio's timeline; confidences are 0-1.
Streams feed Vosk fixed 100 ms blocks (the text does not depend on packet
sizes) and, on long calls, start a fresh recogniser at a pause every
RECYCLE_AFTER_S seconds so memory stays bounded. The calls into the vosk
library live in vosk_engine.py; WAV reading and resampling in audio.py.
"""

from __future__ import annotations

import logging
import queue
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from recorder.audio import read_blocks, read_wav_format
from transcripts.errors import TranscriptionError, TranscriptionFailed
from transcripts.model_dir import (
    check_files,
    is_usable,
    model_name,
    model_sample_rate,
    resolve_model,
)
from transcripts.vosk_engine import RECYCLE_AFTER_S, VoskDecoder, load_vosk_model

__all__ = [
    "SpeechEngine",
    "TranscriptResult",
    "TranscriptStream",
    "is_usable",
    "resolve_model",
]

logger = logging.getLogger(__name__)

_END = object()  # the sentinel that stops a stream's worker
#: Live streams: chunks held while the decoder catches up (1500 x 20 ms = 30 s).
LIVE_BACKLOG_CHUNKS = 1500
#: Files: few chunks, so reading waits for decoding and memory stays flat.
FILE_BACKLOG_CHUNKS = 8
STEREO_CHANNELS = ("caller", "staff")


@dataclass(frozen=True)
class TranscriptResult:
    """What one channel said, with word times (s, original timeline) and confidences."""

    text: str
    words: list[dict[str, Any]]
    engine: str
    model: str
    language: str
    channel: str
    duration_s: float


class SpeechEngine:
    """A loaded Vosk model and the streams decoding with it."""

    #: Models already loaded in this process, by directory: a model takes
    #: 250-550 MB, so every load() of the same directory shares one. Weak, so
    #: it is freed once no engine uses it.
    _models: ClassVar[weakref.WeakValueDictionary[str, Any]] = weakref.WeakValueDictionary()
    _models_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, model: Any, model_path: Path, language: str) -> None:
        self.model = model
        self.model_path = model_path
        self.model_name = model_name(model_path)
        self.language = language
        self.sample_rate = model_sample_rate(model_path)

    @classmethod
    def load(cls, model_path: str | Path, language: str) -> SpeechEngine:
        """The engine for a model directory, loading the model only once per process."""
        path = Path(model_path).expanduser().absolute()
        check_files(path)
        key = str(path.resolve())
        with cls._models_lock:
            model = cls._models.get(key)
            if model is None:
                model = load_vosk_model(path)
                cls._models[key] = model
        return cls(model, path, language)

    def open_stream(
        self,
        input_rate: int,
        channel: str,
        *,
        backlog: int = LIVE_BACKLOG_CHUNKS,
        recycle_after_s: float = RECYCLE_AFTER_S,
    ) -> TranscriptStream:
        """A live stream: accept() PCM while the call runs, finish() at hang-up."""
        return TranscriptStream(self, input_rate, channel, backlog, recycle_after_s)

    def transcribe_file(
        self, path: str | Path, timeout: float | None = None
    ) -> dict[str, TranscriptResult]:
        """A WAV file's text per channel: mono -> "mono", stereo -> "caller"/"staff"."""
        wav = read_wav_format(path)
        names = ("mono",) if wav.channels == 1 else STEREO_CHANNELS
        streams = [
            self.open_stream(wav.sample_rate, name, backlog=FILE_BACKLOG_CHUNKS) for name in names
        ]
        try:
            for block in read_blocks(wav, max(wav.sample_rate // 4, 1)):
                for index, stream in enumerate(streams):
                    stream.feed(np.ascontiguousarray(block[:, index]), block=True)
        except BaseException:
            for stream in streams:
                stream.cancel()
            raise
        limit = timeout if timeout is not None else max(30.0, 4.0 * wav.duration_s)
        return {stream.channel: stream.finish(limit) for stream in streams}

    def self_test(self) -> TranscriptResult:
        """Decode one second of silence and a synthetic vowel at 8 kHz, end to end."""
        rate = 8000
        t = np.arange(rate) / rate
        vowel = sum(np.sin(2 * np.pi * f * t) / (i + 1) for i, f in enumerate((220, 700, 1220)))
        audio = np.concatenate([np.zeros(rate), 6000 * vowel * np.hanning(rate)])
        stream = self.open_stream(rate, "self-test")
        for chunk in np.array_split(audio.astype(np.int16), 100):
            stream.accept(chunk.tobytes())
        return stream.finish(timeout=30.0)


class TranscriptStream:
    """One channel of one call: audio in from any thread, decoded in its own worker."""

    def __init__(
        self,
        engine: SpeechEngine,
        input_rate: int,
        channel: str,
        backlog: int,
        recycle_after_s: float = RECYCLE_AFTER_S,
    ) -> None:
        if not 1000 <= int(input_rate) <= 384000:
            raise TranscriptionError(f"stream {channel}: unsupported input rate {input_rate} Hz")
        self.engine = engine
        self.input_rate = int(input_rate)
        self.channel = channel
        self._recycle_after_s = recycle_after_s
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=backlog)
        self._lock = threading.Lock()
        self._closed = False
        self._cancelled = False
        self._dropped = 0
        self._failure: str | None = None
        self._result: TranscriptResult | None = None
        # Daemon: a stream nobody finished cannot keep the process alive; finish() joins it.
        self._thread = threading.Thread(target=self._run, name=f"vosk-{channel}", daemon=True)
        self._thread.start()

    @property
    def backlog(self) -> int:
        """Chunks accepted but not decoded yet (0 when decoding keeps up)."""
        return self._queue.qsize()

    def accept(self, pcm16_mono: bytes) -> None:
        """Hand 16-bit mono PCM to the decoder; never blocks the caller's audio thread."""
        if pcm16_mono:
            self.feed(bytes(pcm16_mono), block=False)

    def feed(self, chunk: bytes | np.ndarray, *, block: bool) -> None:
        """Queue a chunk; live callers drop it (with a warning) if decoding is 30 s behind.

        block=True waits for room instead (one feeder reading a file).
        """
        with self._lock:
            if self._closed:
                raise TranscriptionError(f"stream {self.channel}: audio after finish()")
            try:
                self._queue.put(chunk, block=block)
            except queue.Full:
                self._dropped += 1
                if self._dropped == 1 or self._dropped % 500 == 0:
                    logger.warning(
                        "stream %s: decoding falls behind, %d chunks dropped",
                        self.channel,
                        self._dropped,
                    )

    def finish(self, timeout: float) -> TranscriptResult:
        """End of audio: flush, join the worker and return the channel's transcript."""
        self._close(timeout)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TranscriptionFailed(
                f"stream {self.channel}: decoding did not finish within {timeout:.1f} s"
            )
        if self._failure is not None:
            raise TranscriptionFailed(f"stream {self.channel}: {self._failure}")
        assert self._result is not None
        return self._result

    def cancel(self, timeout: float = 10.0) -> None:
        """Stop decoding and discard the result (e.g. the file could not be read)."""
        self._cancelled = True
        self._close(timeout)
        self._thread.join(timeout)

    def _close(self, timeout: float) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._queue.put(_END, timeout=timeout)
        except queue.Full:
            self._failure = "the decoder is stuck (backlog full at finish)"

    def _run(self) -> None:
        """The worker: decode each chunk until the sentinel, then take the final result."""
        decoder: VoskDecoder | None = None
        try:
            decoder = VoskDecoder(
                self.engine.model, self.input_rate, self.engine.sample_rate, self._recycle_after_s
            )
        except Exception as exc:  # handed to finish(), which raises it
            self._failure = str(exc)
        while (chunk := self._queue.get()) is not _END:
            if decoder is None or self._failure is not None or self._cancelled:
                continue
            try:
                decoder.push(chunk)
            except Exception as exc:  # handed to finish(), which raises it
                self._failure = str(exc)
        if decoder is None or self._failure is not None or self._cancelled:
            return
        try:
            decoder.flush()
        except Exception as exc:  # handed to finish(), which raises it
            self._failure = str(exc)
            return
        self._result = TranscriptResult(
            text=" ".join(decoder.texts),
            words=decoder.words,
            engine="vosk",
            model=self.engine.model_name,
            language=self.engine.language,
            channel=self.channel,
            duration_s=decoder.samples / self.input_rate,
        )
        logger.info(
            "stream %s: %.1f s of audio, %d words%s",
            self.channel,
            self._result.duration_s,
            len(self._result.words),
            f", {self._dropped} chunks dropped" if self._dropped else "",
        )
