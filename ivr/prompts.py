"""Prompts as telephone audio: synthesised offline (pyttsx3 through espeak-ng) or
a site's own recording, cached as 8 kHz 16-bit mono WAV keyed by a hash.

A site replaces any prompt by dropping `config/prompts/<name>.wav` (any
rate, mono or stereo); it is resampled with soxr. Synthesis runs once per
distinct spoken text, voice and rate, at start-up, never during a call.

What is synthesised is the prompt as said (ivr.speech_text): numbers in words,
and for the default voice, espeak-ng's cmn-latn-pinyin, tone-numbered pinyin.
espeak-ng 1.51 (Debian 12) reads Chinese characters given to its `cmn` voice as
English ("nin two hao three"): a voice that does so is refused (docs/voice.md).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ivr.errors import IvrError
from ivr.speech_text import load_readings, spoken
from recorder.settings import CONFIG_DIR

logger = logging.getLogger(__name__)
RATE = 8000
#: Phrases pypinyin misreads, with their pinyin (ivr.speech_text.load_readings).
READINGS = CONFIG_DIR / "voice" / "readings.toml"
#: Part of the cache key: raise it when ivr.speech_text changes what a text is
#: said as, so that no WAV synthesised by an older conversion is played again.
SPEECH_VERSION = 2
#: espeak-ng's phoneme dump marks a switch to another language's rules as "(en)".
_SWITCH = re.compile(r"\(([a-z]{2,3}(?:-[a-z]+)*)\)([^(]*)")
#: A syllable of Mandarin in the dump carries its tone as two or three digits
#: (n'i35n, X'Au214, neutral t@11); English's "3" (a vowel) is a single digit.
_TONE = re.compile(r"(?<!\d)\d{2,3}(?!\d)")


class PromptError(IvrError):
    pass


def _espeak_ng() -> str:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise PromptError("espeak-ng is not installed: run scripts/install-system-deps")
    return espeak


def phonemes(voice: str, said: str) -> str:
    """espeak-ng's phoneme dump (`espeak-ng -q -x`) of `said`, as `voice` reads it."""
    result = subprocess.run(
        [_espeak_ng(), "-q", "-x", "-v", voice, "--", said],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise PromptError(f"espeak-ng -v {voice} failed: {result.stderr.strip()[-200:]}")
    return result.stdout


def foreign(dump: str) -> list[str]:
    """The stretches of a phoneme dump read by another language's rules, e.g.
    ["(en)nI55nt'u:55_| h,eI55@55Tr'i:55"] for 您好 on espeak-ng 1.51's `cmn`."""
    return [
        f"({lang}){rest.strip()}" for lang, rest in _SWITCH.findall(dump) if lang not in ("cmn",)
    ]


def syllables(dump: str) -> int:
    """How many Mandarin syllables a phoneme dump holds: each carries one tone."""
    return len(_TONE.findall(dump))


def check_voice(voice: str) -> None:
    """Refuse a Mandarin voice that reads Chinese as another language (espeak-ng 1.51's `cmn`)."""
    if not voice.lower().startswith(("cmn", "zh")):
        return  # another language's voice, for another language's script
    dump = phonemes(voice, spoken("您好", voice))
    if foreign(dump) or syllables(dump) != 2:
        raise PromptError(
            f"espeak-ng's voice {voice!r} does not read Mandarin here: 您好 is read as "
            f'{dump.strip()!r}; set agent.tts_voice = "cmn-latn-pinyin" (docs/voice.md)'
        )


def _to_telephone(path: Path) -> bytes:
    from recorder.audio import read_blocks, read_wav_format

    wav = read_wav_format(path)
    samples = np.concatenate(
        [block.mean(axis=1) for block in read_blocks(wav, wav.sample_rate)] or [np.zeros(0)]
    )
    if wav.sample_rate != RATE:
        import soxr

        samples = soxr.resample(samples.astype(np.float32), wav.sample_rate, RATE)
    return np.clip(samples, -32768, 32767).astype("<i2").tobytes()


def _own_name(path: Path, suffix: str) -> Path:
    """A name beside `path` no other thread or process writes to (agents on one machine
    may share the prompt cache, paths.prompt_cache_dir)."""
    return path.with_name(f"{path.stem}.{os.getpid()}-{threading.get_ident()}{suffix}")


def _write(path: Path, pcm: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _own_name(path, ".tmp")
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
# pyttsx3 2.99 runs espeak-ng asynchronously (AUDIO_OUTPUT_RETRIEVAL) and its
# runAndWait returns before a prompt longer than a few syllables is synthesised:
# without this wait the process ended before the file was written.
from pyttsx3.drivers import _espeak
_espeak.Synchronize()
"""


class PromptCache:
    def __init__(
        self,
        cache_dir: Path,
        site_dir: Path,
        voice: str,
        rate: int,
        phone_one: str = "幺",
        readings: Path = READINGS,
    ) -> None:
        self._cache = cache_dir
        self._site = site_dir
        self._voice = voice
        self._rate = rate
        self._phone_one = phone_one
        if readings.is_file():
            self._readings = load_readings(readings)
        else:  # a site's config dir from before readings.toml: pypinyin's readings alone
            logger.warning(
                "%s not found: prompts are read by pypinyin without corrections", readings
            )
            self._readings = {}
        self._voice_checked = False
        self._lock = threading.Lock()
        self._making: dict[Path, threading.Lock] = {}  # a prompt being synthesised
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

    def once(self, name: str, text: str) -> bytes:
        """As `audio`, for a text said on one call only (an outbound call's intro names the
        unit and the day): synthesised to the disk cache, not kept in memory."""
        return self._loaded.get((name, text)) or self._read(name, text)

    def prepare(self, prompts: Iterable[tuple[str, str]]) -> int:
        """Synthesise every (name, text) not yet cached, one child per core; how many.

        The agent calls this at start-up with all its prompts: a first start (or a new
        script) synthesises some thirty prompts, each a pyttsx3 child working a core for
        a quarter of a second or more; one after the other they held up the first call.
        """
        missing: dict[Path, tuple[str, str, str]] = {}
        for name, text in prompts:
            if (self._site / f"{name}.wav").is_file():
                continue
            said = self.said(text)
            cached = self._cached(said)
            if not cached.is_file():
                missing[cached] = (name, text, said)
        if not missing:
            return 0
        started = time.monotonic()

        def make(path: Path, name: str, text: str, said: str) -> None:
            self._check(name, text, said)
            self._synthesise(said, path)
            logger.info("synthesised prompt %s: %s (said: %s)", name, text[:30], said[:60])

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            done = [pool.submit(make, path, *named) for path, named in missing.items()]
        for future in done:
            future.result()  # a PromptError stops the start-up, as `audio` would
        logger.info("%d prompts synthesised in %.1f s", len(missing), time.monotonic() - started)
        return len(missing)

    def _cached(self, said: str) -> Path:
        key = f"{SPEECH_VERSION}|{self._voice}|{self._rate}|{said}"
        return self._cache / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.wav"

    def _check(self, name: str, text: str, said: str) -> None:
        """The voice reads Mandarin, and this prompt is not partly read as another language."""
        with self._lock:  # once, before the first prompt, however many threads ask
            if not self._voice_checked:
                check_voice(self._voice)
                self._voice_checked = True
        switched = foreign(phonemes(self._voice, said))
        if switched:
            logger.warning(
                "prompt %s is partly read as another language: %s (text %r)",
                name,
                "; ".join(switched),
                text,
            )

    def _read(self, name: str, text: str) -> bytes:
        own = self._site / f"{name}.wav"
        if own.is_file():
            return _to_telephone(own)
        said = self.said(text)
        cached = self._cached(said)
        # Calls placed at once may ask for one text (two surveys of one unit): it is
        # synthesised once, the others wait for it.
        with self._lock:
            making = self._making.setdefault(cached, threading.Lock())
        with making:
            if not cached.is_file():
                self._check(name, text, said)
                self._synthesise(said, cached)
                logger.info("synthesised prompt %s: %s (said: %s)", name, text[:30], said[:60])
        with self._lock:  # made: whoever asks next finds the file
            self._making.pop(cached, None)
        return _to_telephone(cached)

    def said(self, text: str) -> str:
        """What the voice is given for `text` (ivr.speech_text.spoken)."""
        return spoken(text, self._voice, self._phone_one, self._readings)

    def _synthesise(self, text: str, target: Path) -> None:
        raw = _own_name(target, ".raw.wav")
        target.parent.mkdir(parents=True, exist_ok=True)
        # pyttsx3 runs in a child process of its own (its espeak driver is neither
        # thread-safe nor reusable for a second file): threads may synthesise at once.
        for _attempt in range(3):
            self._pyttsx3(text, raw)
            if raw.is_file() and raw.stat().st_size > 44:
                break
        else:
            # pyttsx3 or its driver failed (see _PYTTSX3); espeak-ng itself
            # says the same text with the same voice and rate.
            logger.warning("pyttsx3 wrote no audio for %r; using espeak-ng directly", text[:20])
            self._espeak(text, raw)
        if not raw.is_file() or raw.stat().st_size <= 44:
            raise PromptError(f"espeak-ng produced no audio for {text[:20]!r}…")
        _write(target, _to_telephone(raw))
        raw.unlink()

    def _pyttsx3(self, text: str, raw: Path) -> None:
        """pyttsx3 in a child process: its espeak driver can crash (SIGSEGV in a
        ctypes callback), which must never take the agent down with it."""
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
        subprocess.run(
            [_espeak_ng(), "-v", self._voice, "-s", str(self._rate), "-w", str(raw), "--", text],
            check=False,
            capture_output=True,
            timeout=60,
        )


def main(argv: list[str] | None = None) -> int:
    """`python -m ivr.prompts [--voice V] TEXT...`: what the voice is given for each
    text and how espeak-ng reads it, to check a new prompt (docs/voice.md)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ivr.prompts", description=main.__doc__)
    parser.add_argument("--voice", default="cmn-latn-pinyin")
    parser.add_argument("--phone-one", default="幺", choices=["幺", "一"])
    parser.add_argument("text", nargs="+")
    args = parser.parse_args(argv)
    readings = load_readings(READINGS)
    bad = 0
    for text in args.text:
        said = spoken(text, args.voice, args.phone_one, readings)
        dump = phonemes(args.voice, said)
        switched = foreign(dump)
        bad += bool(switched)
        print(f"{text}\n  said:     {said}\n  phonemes: {' '.join(dump.split())}")
        print(
            f"  {syllables(dump)} syllables" + (f"; OTHER LANGUAGE: {switched}" if switched else "")
        )
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
