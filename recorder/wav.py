"""Crash-safe WAV recordings: written as audio arrives, header fixed on close,
repaired on the next start when a crash cut the file off.

The header is written first with the sizes a crash would leave (zero), and the
sizes are rewritten every `header_every_s` seconds of audio and on close, so a
file cut off by `kill -9` is playable up to its last rewrite and fully
recoverable by `repair()`: the data size is taken from the file's length.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import struct
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from recorder.errors import RecorderError

HEADER_SIZE = 44
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class RecordingError(RecorderError):
    """A recording could not be written or read."""


@dataclass(frozen=True)
class WavInfo:
    path: Path
    sample_rate: int
    channels: int
    sample_width: int
    frames: int
    size_bytes: int
    sha256: str

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def recording_path(root: Path, started_at: datetime, call_id: str) -> Path:
    """root/YYYY/MM/DD/HHMMSS-<call id>-<random>.wav, in the time zone of `started_at`.

    The Call-ID is whatever the caller's phone wrote (PROTOS sends Call-IDs
    that differ only in bytes the file name cannot hold, or the same one
    twice), so a random part keeps every call's file its own; the path is
    stored with the call, never rebuilt from the Call-ID.
    """
    safe = _SAFE.sub("_", call_id)[:40].strip("_") or "call"
    day = root / f"{started_at:%Y}" / f"{started_at:%m}" / f"{started_at:%d}"
    return day / f"{started_at:%H%M%S}-{safe}-{secrets.token_hex(4)}.wav"


def _header(sample_rate: int, channels: int, sample_width: int, data_size: int) -> bytes:
    block_align = channels * sample_width
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_size)
        + b"WAVE"
        + b"fmt "
        + struct.pack(
            "<IHHIIHH",
            16,
            1,
            channels,
            sample_rate,
            sample_rate * block_align,
            block_align,
            sample_width * 8,
        )
        + b"data"
        + struct.pack("<I", data_size)
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class WavWriter:
    """Append 16-bit PCM frames to a WAV file as they arrive."""

    def __init__(
        self,
        path: Path,
        sample_rate: int = 8000,
        channels: int = 1,
        sample_width: int = 2,
        header_every_s: float = 1.0,
    ) -> None:
        if channels not in (1, 2) or sample_width != 2 or sample_rate not in (8000, 16000):
            raise RecordingError(
                f"{path}: recordings are 8 or 16 kHz, 16-bit, mono or stereo "
                f"(asked for {sample_rate} Hz, {sample_width * 8}-bit, {channels} channels)"
            )
        self.path = path
        self.sample_rate = sample_rate
        self.channels = channels
        self.sample_width = sample_width
        self._block = channels * sample_width
        self._header_every = max(1, int(header_every_s * sample_rate)) * self._block
        self._data_size = 0
        self._since_header = 0
        #: Set by a writer's user after a failed write, so a full disk is reported once.
        self.failed = False
        created = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh: BinaryIO | None = path.open("xb", buffering=0)
            created = True
            self._fh.write(_header(sample_rate, channels, sample_width, 0))
        except OSError as exc:
            if (
                created and self._fh is not None
            ):  # no empty file left behind when the header did not fit
                self._fh.close()
                path.unlink(missing_ok=True)
            raise RecordingError(f"{path}: cannot create recording: {exc.strerror}") from exc

    @property
    def frames(self) -> int:
        return self._data_size // self._block

    def write(self, pcm: bytes) -> None:
        """Append interleaved 16-bit little-endian frames (whole frames only)."""
        if self._fh is None:
            raise RecordingError(f"{self.path}: recording already closed")
        if len(pcm) % self._block:
            raise RecordingError(f"{self.path}: {len(pcm)} bytes is not a whole number of frames")
        try:
            self._fh.write(pcm)
        except OSError as exc:
            raise RecordingError(f"{self.path}: write failed: {exc.strerror}") from exc
        self._data_size += len(pcm)
        self._since_header += len(pcm)
        if self._since_header >= self._header_every:
            self._rewrite_header()

    def write_stereo(self, left: bytes, right: bytes) -> None:
        """Interleave two equally long mono 16-bit blocks (left: caller, right: staff)."""
        import numpy as np

        if self.channels != 2:
            raise RecordingError(f"{self.path}: not a two-channel recording")
        if len(left) != len(right):
            raise RecordingError(f"{self.path}: channel blocks differ in length")
        frames = np.empty((len(left) // 2, 2), dtype="<i2")
        frames[:, 0] = np.frombuffer(left, dtype="<i2")
        frames[:, 1] = np.frombuffer(right, dtype="<i2")
        self.write(frames.tobytes())

    def _rewrite_header(self) -> None:
        assert self._fh is not None
        self._fh.seek(0)
        self._fh.write(_header(self.sample_rate, self.channels, self.sample_width, self._data_size))
        self._fh.seek(0, os.SEEK_END)
        self._since_header = 0

    def close(self) -> WavInfo:
        """Fix the header, flush to disk, and return the file's facts with its sha256."""
        if self._fh is not None:
            try:
                self._rewrite_header()
                os.fsync(self._fh.fileno())
            finally:
                self._fh.close()
                self._fh = None
        return WavInfo(
            path=self.path,
            sample_rate=self.sample_rate,
            channels=self.channels,
            sample_width=self.sample_width,
            frames=self.frames,
            size_bytes=self.path.stat().st_size,
            sha256=sha256_of(self.path),
        )

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def repair(path: Path) -> WavInfo:
    """Make a recording cut off by a crash playable: sizes from the file length.

    A trailing partial frame is cut off. Raises RecordingError when the file
    is not a WAV file this module wrote (the header is not ours).
    """
    try:
        with path.open("r+b") as fh:
            head = fh.read(HEADER_SIZE)
            if len(head) < HEADER_SIZE or head[:4] != b"RIFF" or head[8:16] != b"WAVEfmt ":
                raise RecordingError(f"{path}: not a hotline WAV recording, cannot repair")
            _, _, channels, rate, _, block, bits = struct.unpack("<IHHIIHH", head[16:36])
            if head[36:40] != b"data" or block == 0:
                raise RecordingError(f"{path}: unexpected WAV layout, cannot repair")
            size = os.fstat(fh.fileno()).st_size
            data = (size - HEADER_SIZE) // block * block
            fh.truncate(HEADER_SIZE + data)
            fh.seek(0)
            fh.write(_header(rate, channels, bits // 8, data))
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise RecordingError(f"{path}: cannot repair: {exc.strerror}") from exc
    return WavInfo(
        path, rate, channels, bits // 8, data // block, HEADER_SIZE + data, sha256_of(path)
    )
