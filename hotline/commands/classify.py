"""hotline classify"""

from __future__ import annotations

import argparse

from hotline.app import App
from hotline.errors import NotReady

READY = False
NAME = "classify"
HELP = "extract log fields and a category from transcript text"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "text", nargs="?", metavar="TEXT", help="omitted: one utterance per line on stdin"
    )
    parser.add_argument("--lang", default="zh", choices=["zh", "en"])
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, app: App) -> int:
    raise NotReady("not available yet: text to log fields is issue #7, still open")
