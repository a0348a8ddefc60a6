"""Importing recordings from another PBX into the same pipeline.

A file becomes an imported call: its audio is copied into the recordings
tree as 8 or 16 kHz 16-bit WAV (mono or stereo kept: left caller, right
staff), and a Call and a Recording row are written in one transaction. The
Call-ID is taken from the file's sha256, so importing the same file twice is
a no-op. Anything that is not readable audio is refused with one line
naming the file, and nothing is left behind: no rows, no copied file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import null, select
from sqlalchemy.orm import Session, sessionmaker

from recorder.errors import RecorderError
from recorder.models import Call, Direction, Disposition, Recording, RecordingState
from recorder.settings import RecorderSettings
from recorder.stored_paths import resolve, to_stored
from recorder.wav import WavWriter, recording_path

logger = logging.getLogger(__name__)
TELEPHONE_RATES = (8000, 16000)
#: A file may decode this much shorter than its header says (encoder padding).
TRUNCATION_SLACK_S = 0.25


class IngestError(RecorderError):
    """A file that cannot be imported; the message names it."""


@dataclass(frozen=True)
class Imported:
    call_id: str
    path: Path
    duration_s: float
    new: bool


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _as_wav(source: Path, workdir: Path) -> Path:
    """The file itself when it is WAV; otherwise a WAV made by ffmpeg.

    A file ffmpeg decodes with errors, or that decodes to less than the duration its
    own header gives (a cut-off download: an MP3 whose Xing header says 4.3 s decodes
    to 0.5 s without an error), is refused rather than imported as a shorter call.
    """
    with source.open("rb") as fh:
        if fh.read(4) == b"RIFF":
            return source
    if shutil.which("ffmpeg") is None:
        raise IngestError(f"{source}: not a WAV file, and ffmpeg is not installed to convert it")
    probe = _probe(source)
    target = workdir / "converted.wav"
    result = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(source),
            "-ac",
            "2" if probe.channels > 1 else "1",
            "-ar",
            "16000",
            "-c:a",
            "pcm_s16le",
            "-y",
            str(target),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    errors = result.stderr.strip().splitlines()
    if result.returncode != 0 or not target.exists():
        reason = (errors or ["unknown format"])[-1]
        raise IngestError(f"{source}: not an audio file ffmpeg can read ({reason})")
    if errors:
        raise IngestError(
            f"{source}: damaged audio, ffmpeg could not decode all of it ({errors[-1]}); "
            "re-export it"
        )
    decoded = _wav_seconds(target)
    if probe.duration_s is not None and decoded < probe.duration_s - max(
        TRUNCATION_SLACK_S, 0.02 * probe.duration_s
    ):
        raise IngestError(
            f"{source}: truncated audio: the file says {probe.duration_s:.2f} s, only "
            f"{decoded:.2f} s of it could be decoded; re-export or copy it again"
        )
    return target


@dataclass(frozen=True)
class _Probed:
    channels: int
    #: The duration the file's own header gives; None when ffprobe only estimated it
    #: from the bit rate and the file size (which a cut-off file fits, too).
    duration_s: float | None


def _probe(source: Path) -> _Probed:
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "warning",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=channels:format=duration",
            "-of",
            "json",
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    try:
        found = json.loads(probe.stdout or "{}")
    except ValueError:
        found = {}
    streams = found.get("streams") or [{}]
    try:
        channels = int(streams[0].get("channels") or 1)
    except (TypeError, ValueError):
        channels = 1
    try:
        duration: float | None = float(found.get("format", {}).get("duration", ""))
    except (TypeError, ValueError):
        duration = None
    if "Estimating duration from bitrate" in probe.stderr:
        duration = None
    return _Probed(channels, duration)


def _wav_seconds(path: Path) -> float:
    import wave

    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


def _copy_audio(wav_path: Path, target: Path) -> float:
    """Decode the whole file (proving it is complete) into a telephone-rate recording."""
    from recorder.audio import read_blocks, read_wav_format
    from recorder.errors import AudioFormatError

    try:
        wav = read_wav_format(wav_path)
        if wav.channels not in (1, 2) or wav.frames == 0:
            raise AudioFormatError(
                f"{wav_path}: {wav.channels} channels and {wav.frames} frames: nothing to import"
            )
        rate = wav.sample_rate if wav.sample_rate in TELEPHONE_RATES else 16000
        resamplers = None
        if rate != wav.sample_rate:
            import soxr

            resamplers = [
                soxr.ResampleStream(wav.sample_rate, rate, 1, dtype="int16")
                for _ in range(wav.channels)
            ]
        with WavWriter(target, rate, wav.channels) as writer:

            def put(block: np.ndarray, last: bool) -> None:
                if resamplers:
                    columns = [
                        r.resample_chunk(np.ascontiguousarray(block[:, c]), last=last)
                        for c, r in enumerate(resamplers)
                    ]
                    block = np.stack(columns, axis=1)
                writer.write(np.ascontiguousarray(block, dtype="<i2").tobytes())

            previous = None  # one block of look-ahead: the resampler flushes on the last
            for block in read_blocks(wav, wav.sample_rate):
                if previous is not None:
                    put(previous, last=False)
                previous = block
            if previous is not None:
                put(previous, last=True)
        return writer.frames / rate
    except AudioFormatError as exc:
        raise IngestError(str(exc)) from None


def import_file(
    sessions: sessionmaker[Session],
    settings: RecorderSettings,
    source: Path,
    caller: str | None,
    at: datetime,
) -> Imported:
    if not source.is_file():
        raise IngestError(f"{source}: no such file")
    call_id = f"import-{_sha256(source)[:32]}"
    with sessions() as session:
        existing = session.scalar(select(Recording).join(Call).where(Call.call_id == call_id))
        if existing is not None:
            path = resolve(settings.paths.data_dir, existing.path)
            return Imported(call_id, path, existing.duration_s or 0.0, new=False)
    local = at.astimezone(ZoneInfo(settings.organization.timezone))
    target = recording_path(settings.paths.recordings, local, call_id)
    with tempfile.TemporaryDirectory(prefix="hotline-ingest-") as workdir:
        try:
            duration = _copy_audio(_as_wav(source, Path(workdir)), target)
            _record(sessions, call_id, caller, at, duration, target, settings.paths.data_dir)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    logger.info("imported %s as call %s (%.1f s)", source, call_id, duration)
    return Imported(call_id, target, duration, new=True)


def _record(
    sessions: sessionmaker[Session],
    call_id: str,
    caller: str | None,
    at: datetime,
    duration: float,
    target: Path,
    data_dir: Path,
) -> None:
    from recorder.wav import sha256_of

    ended = at + timedelta(seconds=duration)
    with sessions.begin() as session:
        call = Call(
            call_id=call_id,
            direction=Direction.IMPORTED,
            caller_number=caller,
            invite_at=at,
            answered_at=at,
            ended_at=ended,
            disposition=Disposition.ANSWERED,
            hangup_cause="imported",
            ring_count=null(),  # nobody knows how long it rang (issue 20); None would be 0
        )
        session.add(call)
        session.flush()
        channels = "caller,staff" if _wav_channels(target) == 2 else "caller"
        session.add(
            Recording(
                call_pk=call.id,
                path=to_stored(data_dir, target),
                channels=channels,
                sample_rate=_wav_rate(target),
                duration_s=duration,
                size_bytes=target.stat().st_size,
                sha256=sha256_of(target),
                state=RecordingState.COMPLETE,
                started_at=at,
                closed_at=ended,
            )
        )


def _wav_channels(path: Path) -> int:
    import wave

    with wave.open(str(path)) as wav:
        return wav.getnchannels()


def _wav_rate(path: Path) -> int:
    import wave

    with wave.open(str(path)) as wav:
        return wav.getframerate()
