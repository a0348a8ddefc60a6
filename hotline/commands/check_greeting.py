"""hotline check-greeting"""

from __future__ import annotations

import argparse

from hotline.app import App
from hotline.errors import NotReady

READY = False
NAME = "check-greeting"
HELP = "check a staff-side transcript against the phone script"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "text", nargs="?", metavar="TEXT", help="omitted: one transcript per line on stdin"
    )
    parser.add_argument("--organization", metavar="NAME")
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, app: App) -> int:
    raise NotReady("not available yet: greeting compliance is issue #9, still open")
