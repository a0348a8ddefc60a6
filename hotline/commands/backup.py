"""hotline backup: the database, recordings, trained models and settings in one archive."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from pathlib import Path

from hotline.app import App

NAME = "backup"
HELP = "write a backup archive (.tar): database, recordings, models, settings, with sha256 sums"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "archive",
        nargs="?",
        type=Path,
        help="the file to write; default: data_dir/backups/hotline-YYYYMMDD-HHMMSS.tar",
    )
    parser.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="recordings from")
    parser.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="recordings up to")
    parser.add_argument(
        "--no-recordings", action="store_true", help="the database, models and settings only"
    )


def run(args: argparse.Namespace, app: App) -> int:
    from recorder.backup import backup

    data_dir = app.settings.paths.data_dir
    archive = args.archive or (data_dir / "backups" / f"hotline-{datetime.now():%Y%m%d-%H%M%S}.tar")
    report = backup(
        app.engine,
        data_dir,
        archive.absolute(),
        since=args.since,
        until=args.until,
        settings_file=app.loaded.config_file,
        recordings=not args.no_recordings,
    )
    print(
        f"backup written to {report.archive}: {report.database} database at schema "
        f"{report.revision}, {report.recordings} recordings, {report.files} files, "
        f"{report.bytes / 1e6:.1f} MB"
    )
    if report.missing:
        print(
            f"{len(report.missing)} recordings named in the database are not on disk "
            f"(listed in the archive's manifest), e.g. {report.missing[0]}"
        )
    return 0
