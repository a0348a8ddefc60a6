"""hotline restore: a backup archive onto this machine's database and data directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from hotline.app import App

NAME = "restore"
HELP = "restore a backup archive (checks every file's sha256 before writing anything)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("archive", type=Path, help="a file written by `hotline backup`")
    parser.add_argument(
        "--check", action="store_true", help="only check the archive; write nothing"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace a database that holds calls, and recordings that differ",
    )


def run(args: argparse.Namespace, app: App) -> int:
    from recorder import db
    from recorder.backup import restore, verify

    if args.check:
        manifest = verify(args.archive)
        print(
            f"{args.archive}: whole; {len(manifest['files'])} files, "  # type: ignore[arg-type]
            f"{manifest['database']} database at schema {manifest['schema_revision']}, "
            f"taken {manifest['created_at']}"
        )
        return 0
    data_dir = app.settings.paths.data_dir
    report = restore(app.engine, data_dir, args.archive, force=args.force)
    print(
        f"restored {args.archive} into {db.redact(str(app.engine.url))} and {data_dir}: "
        f"{report.recordings} recordings, {report.files} files; schema "
        f"{report.revision} -> {db.current_revision(app.engine)}"
    )
    if (data_dir / "restored-settings").is_dir():
        print(f"the backup's settings file is in {data_dir / 'restored-settings'}: compare it")
    return 0
