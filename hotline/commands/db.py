"""hotline db upgrade|downgrade|current"""

from __future__ import annotations

import argparse

from hotline.app import App

NAME = "db"
HELP = "create or migrate the database schema (upgrade, downgrade, current)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION")
    actions.required = True
    up = actions.add_parser("upgrade", help="migrate to the newest schema (creates it if empty)")
    up.add_argument("revision", nargs="?", default="heads")
    down = actions.add_parser("downgrade", help="migrate back, e.g. `-1` or `base`")
    down.add_argument("revision")
    actions.add_parser("current", help="print the schema revision of the database")


def run(args: argparse.Namespace, app: App) -> int:
    from recorder import db

    engine = app.engine
    where = db.redact(str(engine.url))
    if args.db_action == "upgrade":
        db.upgrade(engine, args.revision)
        print(f"database {where} at schema {db.current_revision(engine)}")
    elif args.db_action == "downgrade":
        db.downgrade(engine, args.revision)
        print(f"database {where} at schema {db.current_revision(engine) or 'base (empty)'}")
    else:
        current = db.current_revision(engine)
        head = db.head_revision()
        state = "up to date" if current == head else f"needs upgrade to {head}"
        print(f"database {where} at schema {current or 'none'} ({state})")
    return 0
