"""hotline check-greeting: check a staff-side transcript against the phone script.

CLI contract: `hotline check-greeting [--organization NAME] --json TEXT` prints
{"passed": bool, "checks": {"greeting", "organization", "staff_id",
"offer_help", "surname_asked", "closing": bool}, "forbidden": [phrases]};
with no TEXT, one transcript per line from stdin, one JSON object per line.
"""

from __future__ import annotations

import argparse
import json
import sys

from hotline.app import App

READY = True
NAME = "check-greeting"
HELP = "check a staff-side transcript against the phone script"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "text", nargs="?", metavar="TEXT", help="omitted: one transcript per line on stdin"
    )
    parser.add_argument(
        "--organization", metavar="NAME", help="default: organization.name in the settings"
    )
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, app: App) -> int:
    from transcripts.compliance import check_transcript

    rules = app.content.compliance
    organization = args.organization or app.settings.organization.name
    lines = [args.text] if args.text is not None else (line.rstrip("\n") for line in sys.stdin)
    for line in lines:
        report = check_transcript(line, organization, rules)
        if args.json:
            print(json.dumps(report.as_json(), ensure_ascii=False), flush=True)
        else:
            missing = [name for name, ok in report.checks.items() if not ok]
            verdict = "passed" if report.passed else "FAILED"
            detail = f" missing: {', '.join(missing)}" if missing else ""
            bad = f" forbidden: {', '.join(report.forbidden)}" if report.forbidden else ""
            print(f"{verdict}{detail}{bad}", flush=True)
    return 0
