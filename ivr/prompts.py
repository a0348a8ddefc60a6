"""Prompts as telephone audio: synthesised offline (pyttsx3 through espeak-ng) or
a site's own recording, cached as 8 kHz 16-bit mono WAV keyed by a hash.

A site replaces any prompt by dropping `config/prompts/<name>.wav` (any
rate, mono or stereo); it is resampled with soxr. Synthesis runs once per
distinct text, voice and rate, at start-up, never during a call.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import wave
from pathlib import Path

import numpy as np

from hotline.errors import HotlineError

logger = logging.getLogger(__name__)
RATE = 8000


class PromptError(HotlineError):
    pass


def _to_telephone(path: Path) -> bytes:
    from transcripts.audio import read_blocks, read_wav_format

    wav = read_wav_format(path)
    samples = np.concatenate(
        [block.mean(axis=1) for block in read_blocks(wav, wav.sample_rate)] or [np.zeros(0)]
    )
    if wav.sample_rate != RATE:
        import soxr

        samples = soxr.resample(samples.astype(np.float32), wav.sample_rate, RATE)
    return np.clip(samples, -32768, 32767).astype("<i2").tobytes()


def _write(path: Path, pcm: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm)
    tmp.replace(path)


_PYTTSX3 = """
import sys, pyttsx3
voice, rate, text, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
engine = pyttsx3.init("espeak")
engine.setProperty("voice", voice)
engine.setProperty("rate", rate)
engine.save_to_file(text, out)
engine.runAndWait()
"""


class PromptCache:
    def __init__(self, cache_dir: Path, site_dir: Path, voice: str, rate: int) -> None:
        self._cache = cache_dir
        self._site = site_dir
        self._voice = voice
        self._rate = rate
        self._lock = threading.Lock()  # pyttsx3 engines are not thread-safe
        self._loaded: dict[tuple[str, str], bytes] = {}

    def audio(self, name: str, text: str) -> bytes:
        """8 kHz 16-bit mono PCM of prompt `name` saying `text`.

        Kept in memory once read: the call flow asks for prompts on a call's
        media thread, which must not read and resample a file each time.
        """
        loaded = self._loaded.get((name, text))
        if loaded is None:
            loaded = self._loaded[(name, text)] = self._read(name, text)
        return loaded

    def _read(self, name: str, text: str) -> bytes:
        own = self._site / f"{name}.wav"
        if own.is_file():
            return _to_telephone(own)
        key = hashlib.sha256(f"{self._voice}|{self._rate}|{text}".encode()).hexdigest()[:24]
        cached = self._cache / f"{key}.wav"
        if not cached.is_file():
            self._synthesise(text, cached)
        return _to_telephone(cached)

    def _synthesise(self, text: str, target: Path) -> None:
        raw = target.with_suffix(".raw.wav")
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            for _attempt in range(3):
                self._pyttsx3(text, raw)
                if raw.is_file() and raw.stat().st_size > 44:
                    break
            else:
                # pyttsx3 2.99's espeak driver sometimes returns from runAndWait
                # before (or without) writing the file; espeak-ng itself is reliable.
                logger.warning("pyttsx3 wrote no audio for %r; using espeak-ng directly", text[:20])
                self._espeak(text, raw)
        if not raw.is_file() or raw.stat().st_size <= 44:
            raise PromptError(f"espeak-ng produced no audio for {text[:20]!r}…")
        _write(target, _to_telephone(raw))
        raw.unlink()
        logger.info("synthesised prompt %s (%s)", target.name, text[:30])

    def _pyttsx3(self, text: str, raw: Path) -> None:
        """pyttsx3 in a child process: its espeak driver can crash (SIGSEGV in a
        ctypes callback), which must never take the agent down with it."""
        import subprocess
        import sys

        try:
            result = subprocess.run(
                [sys.executable, "-c", _PYTTSX3, self._voice, str(self._rate), text, str(raw)],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except subprocess.TimeoutExpired:
            logger.warning("pyttsx3 took over 60 s")
            return
        if result.returncode != 0:
            logger.warning(
                "pyttsx3 failed (exit %s): %s", result.returncode, result.stderr.strip()[-200:]
            )

    def _espeak(self, text: str, raw: Path) -> None:
        import shutil
        import subprocess

        espeak = shutil.which("espeak-ng")
        if espeak is None:
            raise PromptError("espeak-ng is not installed: run scripts/install-system-deps")
        subprocess.run(
            [espeak, "-v", self._voice, "-s", str(self._rate), "-w", str(raw), "--", text],
            check=False,
            capture_output=True,
            timeout=60,
        )
