"""hotline worker"""

from __future__ import annotations

import argparse

from hotline.app import App
from hotline.errors import NotReady

READY = False
NAME = "worker"
HELP = "run the transcription and log-filling workers"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, metavar="N", help="worker threads")


def run(args: argparse.Namespace, app: App) -> int:
    raise NotReady("not available yet: the job pipeline is issue #6, still open")
