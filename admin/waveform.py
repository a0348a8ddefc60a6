"""Waveform peaks of a recording, computed server-side for a small canvas drawing."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np

BUCKETS = 600


def peaks(path: Path, buckets: int = BUCKETS) -> dict[str, Any]:
    """Per channel, the loudest sample of each of `buckets` slices, 0..1."""
    with wave.open(str(path), "rb") as wav:
        channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    if width != 2:
        raise ValueError(f"{path}: {8 * width}-bit audio; recordings are 16-bit")
    samples = np.frombuffer(frames, dtype="<i2").reshape(-1, channels)
    count = samples.shape[0]
    result: list[list[float]] = []
    for ch in range(channels):
        mono = np.abs(samples[:, ch].astype(np.int32))
        if count == 0:
            result.append([])
            continue
        edges = np.linspace(0, count, num=min(buckets, count) + 1, dtype=np.int64)
        top = np.maximum.reduceat(mono, edges[:-1])
        result.append([round(float(v) / 32768.0, 3) for v in top])
    return {"rate": rate, "duration": count / rate if rate else 0.0, "channels": result}
