"""hotline admin"""

from __future__ import annotations

import argparse

from hotline.app import App
from hotline.errors import NotReady

READY = False
NAME = "admin"
HELP = "serve the web desk for clerks and supervisors"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--listen", metavar="HOST:PORT", help="where to serve (default from settings)"
    )
    parser.add_argument("--dev", action="store_true", help="Flask development server with reloader")


def run(args: argparse.Namespace, app: App) -> int:
    raise NotReady("not available yet: the web desk is issue #8, still open")
