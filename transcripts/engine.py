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
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from transcripts.audio import Resampler, read_blocks, read_wav_format
from transcripts.errors import ModelBroken, TranscriptionError, TranscriptionFailed
from transcripts.model_dir import (
    check_files,
    is_usable,
    model_name,
    model_sample_rate,
    resolve_model,
)

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
        with cls._models_lock:
            model = cls._models.get(str(path))
            if model is None:
                model = _load_vosk_model(path)
                cls._models[str(path)] = model
        return cls(model, path, language)

    def open_stream(
        self, input_rate: int, channel: str, *, backlog: int = LIVE_BACKLOG_CHUNKS
    ) -> TranscriptStream:
        """A live stream: accept() PCM while the call runs, finish() at hang-up."""
        return TranscriptStream(self, input_rate, channel, backlog)

    def new_recognizer(self) -> Any:
        """A KaldiRecognizer at the model rate, with word times and confidences."""
        from vosk import KaldiRecognizer

        try:
            recognizer = KaldiRecognizer(self.model, float(self.sample_rate))
        except Exception as exc:  # vosk raises a bare Exception on any failure
            raise TranscriptionFailed(
                f"Vosk cannot create a recogniser for {self.model_path}: {exc}"
            ) from None
        recognizer.SetWords(True)
        return recognizer

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


def _load_vosk_model(path: Path) -> Any:
    """vosk.Model(path), with Kaldi's failures translated into ModelBroken."""
    import vosk

    vosk.SetLogLevel(0 if logger.isEnabledFor(logging.DEBUG) else -1)
    started = time.monotonic()
    model = None
    with _kaldi_stderr() as kaldi:
        try:
            model = vosk.Model(str(path))
        except Exception:  # vosk raises a bare Exception("Failed to create a model")
            model = None
    for line in kaldi:
        logger.debug("kaldi: %s", line)
    if model is None:
        errors = [m.group(1) for line in kaldi if (m := _KALDI_ERROR.search(line))]
        reason = f" ({errors[-1].strip()})" if errors else ""
        raise ModelBroken(
            f"Vosk cannot load the model at {path}: a file is damaged or incomplete{reason}; "
            f"check it with `hotline models verify {path}`"
        )
    logger.info("loaded Vosk model %s in %.1f s", path, time.monotonic() - started)
    return model


_KALDI_ERROR = re.compile(r"ERROR \(VoskAPI:\S*\) (.*)")


@contextmanager
def _kaldi_stderr() -> Iterator[list[str]]:
    """Kaldi's lines written to fd 2 while loading (it prints errors whatever the log level).

    Anything else written to stderr meanwhile is passed on unchanged afterwards.
    """
    kaldi: list[str] = []
    sys.stderr.flush()
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield kaldi
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode("utf-8", "replace").splitlines():
                if "(VoskAPI:" in line:
                    kaldi.append(line)
                else:
                    sys.stderr.write(line + "\n")


class TranscriptStream:
    """One channel of one call: audio in from any thread, decoded in its own worker."""

    def __init__(self, engine: SpeechEngine, input_rate: int, channel: str, backlog: int) -> None:
        if not 1000 <= int(input_rate) <= 384000:
            raise TranscriptionError(f"stream {channel}: unsupported input rate {input_rate} Hz")
        self.engine = engine
        self.input_rate = int(input_rate)
        self.channel = channel
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=backlog)
        self._lock = threading.Lock()
        self._closed = False
        self._cancelled = False
        self._dropped = 0
        self._failure: str | None = None
        self._result: TranscriptResult | None = None
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
        """Queue a chunk; live callers drop it (with a warning) if decoding is 30 s behind."""
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
        decoder: _ChannelDecoder | None = None
        try:
            decoder = _ChannelDecoder(self.engine, self.input_rate)
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
        self._result = decoder.result(self.channel)
        logger.info(
            "stream %s: %.1f s of audio, %d words%s",
            self.channel,
            self._result.duration_s,
            len(self._result.words),
            f", {self._dropped} chunks dropped" if self._dropped else "",
        )


class _ChannelDecoder:
    """A stream's worker-side state: PCM to samples, soxr, fixed blocks into Vosk.

    Vosk is always fed 100 ms blocks, so the text does not depend on how the
    caller cut the audio into packets (20 ms RTP, odd byte counts, file blocks).
    """

    def __init__(self, engine: SpeechEngine, input_rate: int) -> None:
        self.engine = engine
        self.input_rate = input_rate
        self.recognizer = engine.new_recognizer()
        self.resampler = Resampler(input_rate, engine.sample_rate)
        self.block_bytes = 2 * max(engine.sample_rate // 10, 1)
        self.carry = b""
        self.pending = bytearray()
        self.samples = 0
        self.texts: list[str] = []
        self.words: list[dict[str, Any]] = []

    def push(self, chunk: bytes | np.ndarray) -> None:
        if isinstance(chunk, bytes):
            chunk, self.carry = self.carry + chunk, b""
            if len(chunk) % 2:
                chunk, self.carry = chunk[:-1], chunk[-1:]
            chunk = np.frombuffer(chunk, dtype="<i2")
        self.samples += len(chunk)
        self.pending += self.resampler.process(chunk).astype("<i2", copy=False).tobytes()
        while len(self.pending) >= self.block_bytes:
            self._decode(bytes(self.pending[: self.block_bytes]))
            del self.pending[: self.block_bytes]

    def flush(self) -> None:
        """End of audio: the resampler's tail, the last partial block, Vosk's final result."""
        self.pending += self.resampler.process(np.zeros(0, np.int16), last=True).tobytes()
        if self.pending:
            self._decode(bytes(self.pending))
            self.pending.clear()
        self._collect(self.recognizer.FinalResult())

    def result(self, channel: str) -> TranscriptResult:
        return TranscriptResult(
            text=" ".join(self.texts),
            words=self.words,
            engine="vosk",
            model=self.engine.model_name,
            language=self.engine.language,
            channel=channel,
            duration_s=self.samples / self.input_rate,
        )

    def _decode(self, block: bytes) -> None:
        try:
            complete = self.recognizer.AcceptWaveform(block)
        except Exception as exc:  # vosk raises a bare Exception("Failed to process waveform")
            raise TranscriptionFailed(f"Vosk failed to decode: {exc}") from None
        if complete:
            self._collect(self.recognizer.Result())

    def _collect(self, raw: str) -> None:
        """Keep a finished utterance's text and words from Vosk's JSON."""
        utterance: Mapping[str, Any] = json.loads(raw)
        if text := utterance.get("text", "").strip():
            self.texts.append(text)
        for word in utterance.get("result", ()):
            self.words.append(
                {
                    "word": word["word"],
                    "start": round(float(word["start"]), 3),
                    "end": round(float(word["end"]), 3),
                    "conf": round(float(word.get("conf", 1.0)), 4),
                }
            )
