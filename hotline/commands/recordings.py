"""hotline recordings"""

from __future__ import annotations

import argparse

from hotline.app import App
from hotline.errors import NotReady

READY = False
NAME = "recordings"
HELP = "manage stored recordings (purge by retention rules)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["purge"])
    parser.add_argument("--dry-run", action="store_true")


def run(args: argparse.Namespace, app: App) -> int:
    raise NotReady("not available yet: retention is issue #6, still open")
