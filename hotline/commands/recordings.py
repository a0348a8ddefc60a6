"""hotline recordings purge: delete recordings past their retention period."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from hotline.app import App

READY = True
NAME = "recordings"
HELP = "manage stored recordings (purge by the retention rules; log entries stay)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["purge"])
    parser.add_argument("--dry-run", action="store_true", help="list what would be deleted")


def run(args: argparse.Namespace, app: App) -> int:
    from recorder.retention import purge

    removed = purge(
        app.ready_database(),
        app.settings.retention,
        datetime.now(UTC),
        dry_run=args.dry_run,
        data_dir=app.settings.paths.data_dir,
    )
    verb = "would delete" if args.dry_run else "deleted"
    for item in removed:
        kind = "complaint " if item.complaint else ""
        print(
            f"{verb} {kind}recording {item.path} ({item.started_at:%Y-%m-%d}, {item.size_bytes} bytes)"
        )
    total = sum(item.size_bytes for item in removed)
    print(f"{verb} {len(removed)} recordings, {total / 1e6:.1f} MB; the log entries are kept")
    return 0
