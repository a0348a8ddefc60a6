"""hotline demo"""

from __future__ import annotations

import argparse

from hotline.app import App
from hotline.errors import NotReady

READY = False
NAME = "demo"
HELP = "place a demo call to a local agent and show the log entry it makes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--audio", metavar="WAV", help="what the demo caller says")


def run(args: argparse.Namespace, app: App) -> int:
    raise NotReady(
        "not available yet: the SIP agent and its built-in caller is issue #4, still open"
    )
