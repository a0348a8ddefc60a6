"""The `hotline` command: parse flags, load settings once, dispatch a subcommand."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from hotline import __version__
from hotline.commands import (
    admin,
    agent,
    backup,
    check_greeting,
    classify,
    db,
    demo,
    estates,
    ingest,
    matters,
    models,
    recordings,
    residents,
    restore,
    run,
    status,
    users,
    worker,
)
from hotline.errors import HotlineError

logger = logging.getLogger("hotline")

COMMANDS = (
    run,
    agent,
    admin,
    worker,
    demo,
    ingest,
    classify,
    check_greeting,
    models,
    recordings,
    db,
    users,
    matters,
    backup,
    restore,
    residents,
    status,
    estates,
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line saying what is wrong and how to fix it, then exit 2.
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hotline",
        description="Offline phone agent and phone-reception log (电话接待记录本) for a property service desk.",
    )
    parser.add_argument("--version", action="version", version=f"hotline {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="settings file (TOML); default: $HOTLINE_CONFIG, ./hotline.toml, "
        "~/.config/hotline/hotline.toml, /etc/hotline/hotline.toml, first found",
    )
    parser.add_argument(
        "--data-dir", metavar="DIR", help="recordings, prompt cache and the SQLite file"
    )
    parser.add_argument(
        "--database-url", metavar="URL", help="e.g. postgresql://user:pw@host/hotline"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in COMMANDS:
        command_parser = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command_parser)
        command_parser.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    if args.command in {"agent", "admin", "worker", "run", "demo"}:
        level = min(level, logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
    from hotline.app import App

    try:
        app = App.from_args(args)
        if app.settings.logging.format != "text":  # [logging] format = "json"
            from hotline.logs import configure

            configure(level, app.settings.logging.format)
        return int(args.handler(args, app) or 0)
    except HotlineError as exc:
        print(f"hotline {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
