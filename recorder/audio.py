"""Audio plumbing for the speech engine: WAV files of any common format read in
blocks (memory stays flat for long recordings), samples converted to 16-bit, and
a streaming soxr resampler from the telephone rate to the model's rate.

Pure functions over bytes and arrays: no Vosk here, so it is testable alone.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from recorder.errors import AudioFormatError

PCM, IEEE_FLOAT, ALAW, MULAW, EXTENSIBLE = 0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE
_STREAMED_SIZES = (0, 0xFFFFFFFF)  # "until the end of the file" (pipes, crash-safe writers)


def _mulaw_table() -> np.ndarray:
    """ITU-T G.711 µ-law byte -> 16-bit linear sample."""
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    magnitude = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 0x07)
    return np.where(u & 0x80, 0x84 - magnitude, magnitude - 0x84).astype(np.int16)


def _alaw_table() -> np.ndarray:
    """ITU-T G.711 A-law byte -> 16-bit linear sample."""
    a = np.arange(256, dtype=np.int32) ^ 0x55
    exponent = (a & 0x70) >> 4
    mantissa = (a & 0x0F) << 4
    magnitude = np.where(
        exponent == 0, mantissa + 8, (mantissa + 0x108) << np.maximum(exponent - 1, 0)
    )
    return np.where(a & 0x80, magnitude, -magnitude).astype(np.int16)


@dataclass(frozen=True)
class WavFormat:
    """What a WAV file holds and where its samples start."""

    path: Path
    encoding: int  # PCM, IEEE_FLOAT, ALAW or MULAW (EXTENSIBLE resolved)
    sample_rate: int
    channels: int
    bits: int
    data_offset: int
    data_bytes: int

    @property
    def block_align(self) -> int:
        return self.channels * (self.bits // 8)

    @property
    def frames(self) -> int:
        return self.data_bytes // self.block_align

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def _parse_fmt(path: Path, body: bytes) -> tuple[int, int, int, int]:
    """(encoding, channels, rate, bits) from a fmt chunk, or a one-line error."""
    if len(body) < 16:
        raise AudioFormatError(f"{path}: not a usable WAV file (fmt chunk too short)")
    tag, channels, rate, _byte_rate, _align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == EXTENSIBLE:
        if len(body) < 26:
            raise AudioFormatError(f"{path}: not a usable WAV file (short extensible fmt)")
        tag = struct.unpack("<H", body[24:26])[0]
    supported = {PCM: (8, 16, 24, 32), IEEE_FLOAT: (32, 64), ALAW: (8,), MULAW: (8,)}
    if tag not in supported or bits not in supported[tag]:
        raise AudioFormatError(
            f"{path}: unsupported WAV encoding (format tag {tag:#06x}, {bits} bits); "
            "expected 8/16/24/32-bit PCM, 32/64-bit float, A-law or µ-law"
        )
    if channels not in (1, 2) or not 1000 <= rate <= 384000:
        raise AudioFormatError(
            f"{path}: unsupported WAV layout ({channels} channels at {rate} Hz); "
            "expected mono or stereo at 1-384 kHz"
        )
    return tag, channels, rate, bits


def read_wav_format(path: str | Path) -> WavFormat:
    """The format of a WAV file, or AudioFormatError naming the file and the fault."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            size = path.stat().st_size
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                raise AudioFormatError(f"{path}: not a WAV file (no RIFF/WAVE header)")
            fmt: tuple[int, int, int, int] | None = None
            while True:
                chunk = fh.read(8)
                if len(chunk) < 8:
                    missing = "fmt" if fmt is None else "data"
                    raise AudioFormatError(f"{path}: truncated WAV file (no {missing} chunk)")
                kind, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if kind == b"fmt ":
                    fmt = _parse_fmt(path, fh.read(length))
                    fh.seek(length & 1, 1)
                elif kind == b"data":
                    if fmt is None:
                        raise AudioFormatError(f"{path}: corrupt WAV file (data before fmt)")
                    return _data_format(path, fmt, fh.tell(), length, size)
                else:
                    fh.seek(length + (length & 1), 1)
    except OSError as exc:
        raise AudioFormatError(f"{path}: cannot read: {exc.strerror}") from None


def _data_format(
    path: Path, fmt: tuple[int, int, int, int], offset: int, declared: int, file_size: int
) -> WavFormat:
    encoding, channels, rate, bits = fmt
    available = file_size - offset
    if declared in _STREAMED_SIZES:
        declared = available
    elif declared > available:
        raise AudioFormatError(
            f"{path}: truncated WAV file (header promises {declared} bytes of audio, "
            f"the file holds {max(available, 0)}); repair or re-export it"
        )
    return WavFormat(path, encoding, rate, channels, bits, offset, declared)


def to_int16(raw: bytes, encoding: int, bits: int) -> np.ndarray:
    """Interleaved samples of any supported encoding as 16-bit signed integers."""
    if encoding == MULAW:
        return _mulaw_table()[np.frombuffer(raw, dtype=np.uint8)]
    if encoding == ALAW:
        return _alaw_table()[np.frombuffer(raw, dtype=np.uint8)]
    if encoding == IEEE_FLOAT:
        floats = np.frombuffer(raw, dtype="<f4" if bits == 32 else "<f8")
        return (np.clip(floats, -1.0, 1.0) * 32767.0).astype(np.int16)
    if bits == 8:  # unsigned, centred on 128
        return ((np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    if bits == 16:
        return np.frombuffer(raw, dtype="<i2").copy()
    if bits == 24:  # keep the two most significant bytes of each sample
        triples = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        return np.ascontiguousarray(triples[:, 1:]).view("<i2").reshape(-1).copy()
    return (np.frombuffer(raw, dtype="<i4") >> 16).astype(np.int16)


def read_blocks(wav: WavFormat, frames_per_block: int) -> Iterator[np.ndarray]:
    """The file's audio as int16 arrays of shape (frames, channels), one block at a time."""
    left = wav.frames * wav.block_align
    try:
        with wav.path.open("rb") as fh:
            fh.seek(wav.data_offset)
            while left > 0:
                raw = fh.read(min(left, frames_per_block * wav.block_align))
                usable = len(raw) - len(raw) % wav.block_align
                if usable <= 0:
                    return
                left -= len(raw)
                samples = to_int16(raw[:usable], wav.encoding, wav.bits)
                yield samples.reshape(-1, wav.channels)
    except OSError as exc:
        raise AudioFormatError(f"{wav.path}: cannot read: {exc.strerror}") from None


class Resampler:
    """Streaming band-limited resampling (soxr) of 16-bit mono audio; never repeats samples."""

    def __init__(self, input_rate: int, output_rate: int) -> None:
        self.input_rate = input_rate
        self.output_rate = output_rate
        self._stream = (
            None
            if input_rate == output_rate
            else soxr.ResampleStream(input_rate, output_rate, 1, dtype="int16", quality="HQ")
        )

    def process(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        """Resample the next chunk; `last=True` flushes what the filter still holds."""
        if self._stream is None:
            return samples
        return np.asarray(self._stream.resample_chunk(samples, last=last), dtype=np.int16)
