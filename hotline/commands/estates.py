"""hotline estates import|list|assign (issue 23: estates as data)"""

from __future__ import annotations

import argparse
from pathlib import Path

from hotline.app import App

NAME = "estates"
HELP = "manage estates (import from TOML, list, assign staff)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="estates_action", metavar="ACTION")
    actions.required = True
    load = actions.add_parser("import", help="add or update estates from a TOML file")
    load.add_argument("file", type=Path, help="e.g. config/estates.example.toml")
    actions.add_parser("list", help="list estates, their numbers and hours")
    assign = actions.add_parser("assign", help="the estates a staff user works for")
    assign.add_argument("username")
    assign.add_argument("codes", nargs="*", help="estate codes; none: the whole company")


def run(args: argparse.Namespace, app: App) -> int:
    from sqlalchemy import select

    from hotline.errors import HotlineError
    from recorder import estates
    from recorder.models import User

    if args.estates_action == "import":
        loaded = estates.load_estates(args.file)  # checked before the database is touched
    sessions = app.ready_database()
    with sessions.begin() as session:
        if args.estates_action == "import":
            for estate in estates.save_estates(session, loaded):
                print(f"estate {estate.code}: {estate.name}")
        elif args.estates_action == "assign":
            user = session.scalar(select(User).where(User.username == args.username))
            if user is None:
                raise HotlineError(f"no user {args.username!r} (hotline users list shows them)")
            estates.assign(session, user, args.codes)
            print(f"{user.username}: {' '.join(args.codes) or 'the whole company'}")
        else:
            org = app.settings.organization
            for row in session.scalars(select(estates.Estate).order_by(estates.Estate.code)):
                numbers = ",".join(estates.numbers_of(session, row.id)) or "-"
                hours = row.opening_hours or org.opening_hours
                print(f"{row.code:<8} {numbers:<24} {hours:<12} {row.name or org.name}")
    return 0
