"""hotline estates import|list|assign (issue 23: estates as data)"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from hotline.app import App

if TYPE_CHECKING:
    from recorder.service_level import Threshold

NAME = "estates"
HELP = "manage estates (import from TOML, list, assign staff, compare a month)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="estates_action", metavar="ACTION")
    actions.required = True
    load = actions.add_parser("import", help="add or update estates from a TOML file")
    load.add_argument("file", type=Path, help="e.g. config/estates.example.toml")
    actions.add_parser("list", help="list estates, their numbers and hours")
    assign = actions.add_parser("assign", help="the estates a staff user works for")
    assign.add_argument("username")
    assign.add_argument("codes", nargs="*", help="estate codes; none: the whole company")
    compare = actions.add_parser("compare", help="the estates side by side for a month")
    compare.add_argument("--month", help="YYYY-MM (local time); default: this month")


def _month(text: str | None, timezone: str) -> tuple[datetime, datetime]:
    from hotline.errors import HotlineError

    zone = ZoneInfo(timezone)
    try:
        first = (
            datetime.strptime(text, "%Y-%m").replace(tzinfo=zone)
            if text
            else datetime.now(zone).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        )
    except ValueError:
        raise HotlineError(f"--month {text!r}: use YYYY-MM, e.g. 2026-11") from None
    after = first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1)
    return first, after


def _threshold(app: App, rings: int) -> Threshold:
    from recorder.service_level import Threshold

    ringing = app.settings.ringing
    return Threshold(rings, ringing.ring_on_s, ringing.ring_off_s, ringing.short_abandon_s)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def run(args: argparse.Namespace, app: App) -> int:
    from sqlalchemy import select

    from hotline.errors import HotlineError
    from recorder import estates
    from recorder.estate_figures import compare
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
        elif args.estates_action == "compare":
            start, end = _month(args.month, app.settings.organization.timezone)
            rings = app.content.compliance.max_rings
            print(
                f"{start:%Y-%m}  calls  answered  missed  entries  open  complaints"
                f"  in{rings}rings  level  orders  followed  estate"
            )
            for r in compare(session, start, end, _threshold(app, rings)):
                print(
                    f"{r.code:<8}{r.calls:>6}{r.answered:>10}{r.missed:>8}{r.entries:>9}"
                    f"{r.open_entries:>6}{r.complaints:>12}{r.answered_within:>10}"
                    f"{_share(r.service_level):>7}{r.work_orders:>8}"
                    f"{_share(r.follow_up_rate):>10}  {r.name or '-'}"
                )
        else:
            org = app.settings.organization
            for row in session.scalars(select(estates.Estate).order_by(estates.Estate.code)):
                numbers = ",".join(estates.numbers_of(session, row.id)) or "-"
                hours = row.opening_hours or org.opening_hours
                print(f"{row.code:<8} {numbers:<24} {hours:<12} {row.name or org.name}")
    return 0
