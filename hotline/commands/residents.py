"""hotline residents import FILE [--skip-bad-rows] | export [--output FILE]

The resident directory (业主档案, issue 19) from CSV or XLSX as property ERPs export it
(transcripts/directory_file.py). Every bad row is reported with its row number and
reason; a file with bad rows imports nothing unless --skip-bad-rows. A re-import updates
the residents it names and keeps the history of every changed field.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from hotline.app import App

NAME = "residents"
HELP = "the resident directory (业主档案): import a CSV/XLSX, export"
EXPORT_HEADER = ["楼栋", "单元", "房号", "姓名", "电话", "身份", "备注", "重点"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="residents_action", metavar="ACTION")
    actions.required = True
    load = actions.add_parser("import", help="import residents from a CSV or XLSX file")
    load.add_argument("file", metavar="FILE", type=Path)
    load.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="import the good rows of a file with bad ones (each still reported)",
    )
    out = actions.add_parser("export", help="write the directory as CSV (or XLSX: *.xlsx)")
    out.add_argument("--output", "-o", metavar="FILE", type=Path, help="default: stdout (CSV)")


def _import(args: argparse.Namespace, app: App) -> int:
    from recorder import residents
    from transcripts.directory_file import DirectoryFileError, parse

    parsed = parse(args.file)
    for bad in parsed.bad:
        print(f"{args.file}: {bad}", file=sys.stderr)
    if parsed.bad and not args.skip_bad_rows:
        raise DirectoryFileError(
            f"{args.file}: {len(parsed.bad)} bad row(s), nothing imported "
            "(fix them, or pass --skip-bad-rows to import the others)"
        )
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    sessions = app.ready_database()
    with sessions.begin() as session:
        for _, change in parsed.changes:
            counts[residents.save(session, change, f"import {args.file.name}")] += 1
    print(
        f"{args.file}: {len(parsed.changes)} resident(s) imported: {counts['added']} added, "
        f"{counts['updated']} updated, {counts['unchanged']} unchanged"
        + (f"; {len(parsed.bad)} bad row(s) skipped" if parsed.bad else "")
    )
    return 0


def export_rows(app: App) -> list[list[str]]:
    from recorder import residents

    with app.ready_database()() as session:
        return [
            [
                r.household.building,
                r.household.unit_no or "",
                r.household.room,
                r.name,
                "、".join(residents.PhoneKey(p.number, p.local).shown for p in r.phones),
                r.relation or "",
                r.notes or "",
                "是" if r.priority else "",
            ]
            for r in residents.everyone(session)
        ]


def _export(args: argparse.Namespace, app: App) -> int:
    rows = [EXPORT_HEADER, *export_rows(app)]
    if args.output is not None and args.output.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        for row in rows:
            sheet.append(row)
        book.save(args.output)
    elif args.output is not None:
        with args.output.open("w", newline="", encoding="utf-8-sig") as handle:
            csv.writer(handle).writerows(rows)
    else:
        csv.writer(sys.stdout).writerows(rows)
    if args.output is not None:
        print(f"{len(rows) - 1} resident(s) written to {args.output}")
    return 0


def run(args: argparse.Namespace, app: App) -> int:
    if args.residents_action == "import":
        return _import(args, app)
    return _export(args, app)
