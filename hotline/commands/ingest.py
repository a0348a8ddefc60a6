"""hotline ingest: import existing call recordings into the pipeline.

`hotline ingest FILE... [--caller NUMBER] [--at TIME] [--json]` prints, with
--json, one JSON object per file with the keys id, category, category_label,
urgency, surname, unit, phone, summary, follow_up_due, transcript.
`--watch DIR` imports files as they appear until stopped.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from hotline.app import App
from hotline.errors import HotlineError

READY = True
NAME = "ingest"
HELP = "import existing call recordings into the pipeline"
AUDIO_SUFFIXES = {".wav", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".flac", ".amr", ".gsm", ".wma"}

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", metavar="FILE")
    parser.add_argument("--caller", metavar="NUMBER", help="the caller's number")
    parser.add_argument(
        "--at",
        metavar="TIME",
        help="when the call was received (ISO 8601; default: the file's time)",
    )
    parser.add_argument("--json", action="store_true", help="print the resulting entries as JSON")
    parser.add_argument("--enqueue", action="store_true", help="leave the work to `hotline worker`")
    parser.add_argument("--watch", metavar="DIR", help="import files as they appear in DIR")


def _when(args: argparse.Namespace, path: Path, app: App) -> datetime:
    if args.at:
        try:
            when = datetime.fromisoformat(args.at)
        except ValueError:
            raise HotlineError(
                f"--at {args.at!r}: use ISO 8601, e.g. 2026-11-23T09:30+08:00"
            ) from None
        if when.tzinfo is None:
            from zoneinfo import ZoneInfo

            when = when.replace(tzinfo=ZoneInfo(app.settings.organization.timezone))
        return when
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except FileNotFoundError:
        raise HotlineError(f"{path}: no such file") from None


def entry_json(app: App, call_id: str) -> dict[str, Any]:
    from sqlalchemy import select

    from recorder.models import Call, LogEntry, Transcript

    with app.sessions() as session:
        call = session.scalars(select(Call).where(Call.call_id == call_id)).one()
        entry = session.scalar(select(LogEntry).where(LogEntry.call_pk == call.id))
        texts = session.scalars(
            select(Transcript.text)
            .where(Transcript.call_pk == call.id)
            .order_by(Transcript.channel)
        ).all()
        if entry is None:
            return {"id": None, "call_id": call_id, "transcript": " ".join(texts) or None}
        category = next(
            (c for c in app.content.categories.category if c.key == entry.category), None
        )
        return {
            "id": entry.id,
            "category": entry.category,
            "category_label": category.label_for(app.content.language)
            if category
            else entry.category,
            "urgency": entry.urgency.value,
            "surname": entry.surname,
            "unit": entry.unit,
            "phone": entry.phone,
            "summary": entry.summary or None,
            "follow_up_due": entry.follow_up_due.isoformat() if entry.follow_up_due else None,
            "transcript": " ".join(texts) or None,
        }


def _one(args: argparse.Namespace, app: App, path: Path) -> dict[str, Any]:
    from recorder.ingest import import_file

    imported = import_file(app.sessions, app.settings, path, args.caller, _when(args, path, app))
    if args.enqueue:
        app.call_queue.enqueue(imported.call_id)
    else:
        app.pipeline.process_call(imported.call_id)
    return entry_json(app, imported.call_id)


def _report(args: argparse.Namespace, path: Path, result: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(result, ensure_ascii=False), flush=True)
    else:
        print(
            f"{path}: entry {result.get('id')} {result.get('category_label', '')} {result.get('summary') or ''}".rstrip(),
            flush=True,
        )


def _watch(args: argparse.Namespace, app: App, folder: Path) -> int:
    """Import each audio file once its size holds still for a poll (a PBX writing it, or
    renaming it in). A bad file is named and not tried again; while the database is away
    (or a file is moved off meanwhile) the file is tried again on the next poll."""
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    sizes: dict[Path, int] = {}
    done: set[Path] = set()
    waiting: set[Path] = set()
    print(f"watching {folder} for recordings; Ctrl-C to stop", file=sys.stderr, flush=True)
    while not stop.wait(1.0):
        for path in sorted(folder.iterdir()):
            if path in done or path.suffix.lower() not in AUDIO_SUFFIXES:
                continue
            try:
                size = path.stat().st_size if path.is_file() else None
            except OSError:
                continue  # moved away meanwhile
            if size is None or sizes.get(path) != size:  # still being written: wait
                sizes[path] = size or 0
                continue
            try:
                _report(args, path, _one(args, app, path))
            except Exception as exc:
                if _try_again(exc):
                    if path not in waiting:
                        waiting.add(path)
                        print(
                            f"hotline ingest: {path}: {_first_line(exc)}; trying again",
                            file=sys.stderr,
                            flush=True,
                        )
                    continue
                if not isinstance(exc, HotlineError):
                    raise
                print(f"hotline ingest: {exc}", file=sys.stderr, flush=True)
            done.add(path)
            waiting.discard(path)
    return 0


def _try_again(exc: BaseException) -> bool:
    """The database is unreachable, or the file could not be read just now."""
    from recorder.db_retry import is_unreachable

    return is_unreachable(exc) or isinstance(exc, OSError)


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return (str(original).strip().splitlines() or [type(original).__name__])[0]


def run(args: argparse.Namespace, app: App) -> int:
    app.ready_database()
    if args.watch:
        folder = Path(args.watch)
        if not folder.is_dir():
            raise HotlineError(f"--watch {folder}: not a directory")
        return _watch(args, app, folder)
    if not args.files:
        raise HotlineError("give recordings to import, or --watch DIR")
    failed = 0
    for number, name in enumerate(args.files, 1):
        path = Path(name)
        if len(args.files) > 1:
            print(f"[{number}/{len(args.files)}] {path}", file=sys.stderr, flush=True)
        try:
            _report(args, path, _one(args, app, path))
        except (HotlineError, OSError) as exc:
            # One line naming the file and its fault; the rest of the batch goes on.
            failed += 1
            reason = str(exc) if isinstance(exc, HotlineError) else f"{path}: {_first_line(exc)}"
            print(f"hotline ingest: {reason}", file=sys.stderr, flush=True)
    if failed and len(args.files) > 1:
        print(
            f"hotline ingest: {failed} of {len(args.files)} files not imported",
            file=sys.stderr,
            flush=True,
        )
    return 1 if failed else 0
