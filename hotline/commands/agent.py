"""hotline agent"""

from __future__ import annotations

import argparse

from hotline.app import App
from hotline.errors import NotReady

READY = False
NAME = "agent"
HELP = "run the SIP phone agent (answers within three rings)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sip", metavar="HOST:PORT", help="where the agent listens for SIP")
    parser.add_argument(
        "--registrar", metavar="HOST:PORT", help="register here; omitted: direct mode"
    )
    parser.add_argument("--user", help="SIP user (extension) to register as")
    parser.add_argument("--password", help="SIP digest password")
    parser.add_argument(
        "--trust",
        action="append",
        metavar="CIDR",
        help="direct mode: accept calls from (repeatable)",
    )
    parser.add_argument("--answer-after-rings", type=int, metavar="N", help="0 to 3")


def run(args: argparse.Namespace, app: App) -> int:
    raise NotReady("not available yet: the SIP agent is issue #4, still open")
