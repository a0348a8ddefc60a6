"""Waveform peaks of a recording, computed server-side for a small canvas drawing."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np

BUCKETS = 600


def peaks(path: Path, buckets: int = BUCKETS) -> dict[str, Any]:
    """Per channel, the loudest sample of each of `buckets` slices, 0..1.

    Read slice by slice, so an hour-long recording never sits in memory whole.
    """
    with wave.open(str(path), "rb") as wav:
        channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
        count = wav.getnframes()
        if width != 2:
            raise ValueError(f"{path}: {8 * width}-bit audio; recordings are 16-bit")
        per_bucket = max(1, -(-count // buckets))
        top: list[list[float]] = [[] for _ in range(channels)]
        while True:
            frames = wav.readframes(per_bucket)
            if not frames:
                break
            samples = np.frombuffer(frames, dtype="<i2").reshape(-1, channels)
            loudest = np.abs(samples.astype(np.int32)).max(axis=0)
            for ch in range(channels):
                top[ch].append(round(float(loudest[ch]) / 32768.0, 3))
    return {"rate": rate, "duration": count / rate if rate else 0.0, "channels": top}
