"""hotline ingest"""

from __future__ import annotations

import argparse

from hotline.app import App
from hotline.errors import NotReady

READY = False
NAME = "ingest"
HELP = "import existing call recordings into the pipeline"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", metavar="FILE")
    parser.add_argument("--caller", metavar="NUMBER")
    parser.add_argument("--at", metavar="TIME", help="when the call was received (ISO 8601)")
    parser.add_argument("--json", action="store_true", help="print the resulting entry as JSON")
    parser.add_argument("--watch", metavar="DIR", help="import files as they appear in DIR")


def run(args: argparse.Namespace, app: App) -> int:
    raise NotReady("not available yet: the import pipeline is issue #6, still open")
