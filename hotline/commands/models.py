"""hotline models"""

from __future__ import annotations

import argparse

from hotline.app import App
from hotline.errors import NotReady

READY = False
NAME = "models"
HELP = "list, verify or download Vosk speech models"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list", "verify", "download"])
    parser.add_argument("target", nargs="?", metavar="PATH|LANG")


def run(args: argparse.Namespace, app: App) -> int:
    raise NotReady("not available yet: model management is issue #7, still open")
