"""The journal's files: one JSON line per call event, by day, with a watermark.

    data_dir/journal/2026-11-23.jsonl   {"seq": 7, "event": "call_answered", "args": {...}}
    data_dir/journal/applied            the last sequence number applied to the database
    data_dir/journal/rejected.jsonl     events the database refused, with the error

`Event` is one line (`parse()` and `__bytes__`); `JournalFiles` appends,
fsyncs (callers at once share one fsync), reads back and prunes.
recorder/journal.py is the call log that uses them.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from recorder.calls import CallLog, ClerkRing, RtpStats
from recorder.models import AnsweredBy, Direction, Disposition
from recorder.wav import WavInfo

logger = logging.getLogger(__name__)

WATERMARK = "applied"
REJECTED = "rejected.jsonl"
#: Fully applied journal files are kept this long after their day ends.
KEEP_FOR = timedelta(days=1)


def json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, WavInfo | RtpStats):
        return asdict(value)
    raise TypeError(f"cannot journal {type(value).__name__}")


def _wav_info(value: dict[str, Any]) -> WavInfo:
    return WavInfo(**{**value, "path": Path(value["path"])})


#: How each journaled argument is read back; arguments not named are JSON as is.
_DECODE: dict[str, Callable[[Any], Any]] = {
    "at": datetime.fromisoformat,
    "path": Path,
    "direction": Direction,
    "answered_by": AnsweredBy,
    "disposition": Disposition,
    "info": _wav_info,
    "rtp": lambda value: RtpStats(**value),
    "rings": lambda rings: [ClerkRing.from_json(ring) for ring in rings],
}
#: Every CallLog method is an event: one added to the protocol is journaled and
#: read back after a restart without a second list to keep in step.
EVENTS = frozenset(name for name in dir(CallLog) if not name.startswith("_"))


@dataclass(frozen=True)
class Event:
    seq: int
    name: str
    args: dict[str, Any]

    @classmethod
    def parse(cls, line: bytes) -> Event:
        record = json.loads(line)
        if record.get("event") not in EVENTS or not isinstance(record.get("seq"), int):
            raise ValueError(f"not a call event: {line[:80]!r}")
        return cls(record["seq"], record["event"], record["args"])

    def __bytes__(self) -> bytes:
        record = {"seq": self.seq, "event": self.name, "args": self.args}
        text = json.dumps(record, ensure_ascii=False, default=json_default)
        return text.encode() + b"\n"

    def kwargs(self) -> dict[str, Any]:
        return {
            key: _DECODE[key](value) if value is not None and key in _DECODE else value
            for key, value in self.args.items()
        }


class JournalFiles:
    """The journal directory: daily files of events, the watermark, rejected events."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = None
        self._day: date | None = None
        self._size = 0
        self._written = 0  # the last event written to the open file
        self._synced = 0  # the last event known to be on disk
        self._sync_lock = threading.Lock()
        #: The highest sequence number in each day's file, for pruning.
        self.last_seq: dict[date, int] = {}

    def path(self, day: date) -> Path:
        return self.folder / f"{day.isoformat()}.jsonl"

    def days(self) -> list[date]:
        found = []
        for path in self.folder.glob("*.jsonl"):
            try:
                found.append(date.fromisoformat(path.stem))
            except ValueError:
                continue  # rejected.jsonl and anything else that is not a day
        return sorted(found)

    def read(self, day: date) -> list[Event]:
        """A day's events; a torn last line (a crash in mid-append) is cut off the file."""
        path = self.path(day)
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            logger.warning(
                "journal %s: cutting off a torn last line (%d bytes)", path, len(data) - end
            )
            with path.open("r+b") as fh:
                fh.truncate(end)
                os.fsync(fh.fileno())
        events = []
        for number, line in enumerate(data[:end].splitlines(), 1):
            try:
                events.append(Event.parse(line))
            except (ValueError, KeyError, TypeError) as exc:
                logger.error("journal %s line %d unreadable, skipped: %s", path, number, exc)
        if events:
            self.last_seq[day] = max(event.seq for event in events)
        return events

    def write(self, event: Event, day: date) -> None:
        """Write one event, not yet durable (`sync` makes it so); callers take turns.

        On failure the file is left as it was, so no torn line joins the next one.
        """
        data = bytes(event)
        fd = self._open(day)
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(errno.ENOSPC, f"short write ({written} of {len(data)} bytes)")
        except OSError:
            try:
                os.ftruncate(fd, self._size)
            except OSError:
                logger.debug("journal: could not cut off a failed append")
            raise
        self._size += len(data)
        self.last_seq[day] = self._written = event.seq

    def sync(self, seq: int) -> None:
        """Make every event up to `seq` durable. Callers waiting at once share one fsync
        (group commit): twenty calls reporting together wait for one disk flush, not twenty."""
        with self._sync_lock:
            if self._synced >= seq:
                return
            target, fd = self._written, self._fd
            if fd is not None:
                os.fsync(fd)
            self._synced = target

    def _open(self, day: date) -> int:
        if self._fd is not None and self._day == day:
            return self._fd
        self.close()
        fd = os.open(self.path(day), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        dir_fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the new file's name is durable too
        finally:
            os.close(dir_fd)
        with self._sync_lock:
            self._fd, self._day, self._size = fd, day, os.fstat(fd).st_size
        return fd

    def close(self) -> None:
        """Flush and close the open file (at the end, and when the day changes)."""
        with self._sync_lock:
            if self._fd is None:
                return
            try:
                os.fsync(self._fd)
                self._synced = self._written
            except OSError as exc:
                logger.error("journal %s: last appends not flushed: %s", self.path_open(), exc)
            finally:
                os.close(self._fd)
                self._fd = None

    def path_open(self) -> Path | None:
        return self.path(self._day) if self._day is not None else None

    def watermark(self) -> int:
        try:
            return int((self.folder / WATERMARK).read_text().strip() or 0)
        except FileNotFoundError:
            return 0
        except ValueError:
            logger.error("journal watermark unreadable: replaying every kept event")
            return 0

    def mark_applied(self, seq: int) -> None:
        temporary = self.folder / f"{WATERMARK}.tmp"
        with temporary.open("w") as fh:
            fh.write(f"{seq}\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, self.folder / WATERMARK)

    def reject(self, event: Event, error: str) -> None:
        line = json.dumps(
            {"seq": event.seq, "event": event.name, "args": event.args, "error": error},
            ensure_ascii=False,
        )
        with (self.folder / REJECTED).open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def prune(self, applied: int, today: date) -> list[Path]:
        """Remove the files whose events are all applied and whose day ended over KEEP_FOR ago."""
        removed = []
        for day in self.days():
            if day == self._day or today - day <= KEEP_FOR:
                continue
            if self.last_seq.get(day, 0) <= applied:
                path = self.path(day)
                path.unlink(missing_ok=True)
                self.last_seq.pop(day, None)
                removed.append(path)
        return removed
