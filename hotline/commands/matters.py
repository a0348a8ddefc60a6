"""hotline matters show|move|hand-over: a matter's status and owner from the command line,
through the same state machine as the desk (recorder/matter_states.py): who may move what to
where, with the reason; the owner only by an explained hand-over (issue 21)."""

from __future__ import annotations

import argparse

from hotline.app import App
from hotline.errors import HotlineError

NAME = "matters"
HELP = "show, move or hand over a log entry by the matter's procedure"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="matters_action", metavar="ACTION")
    actions.required = True
    show = actions.add_parser("show", help="an entry's status, owner and the moves open to a user")
    show.add_argument("entry", type=int)
    show.add_argument("--as", dest="username", required=True, help="the staff user acting")
    move = actions.add_parser("move", help="move an entry to a status (as a person would)")
    move.add_argument("entry", type=int)
    move.add_argument("status", choices=["received", "dispatched", "done", "followed_up", "closed"])
    move.add_argument("--as", dest="username", required=True)
    move.add_argument("--reason", default="")
    hand = actions.add_parser("hand-over", help="hand an entry over to another staff user")
    hand.add_argument("entry", type=int)
    hand.add_argument("--to", dest="to", required=True, help="the user name taking it over")
    hand.add_argument("--as", dest="username", required=True)
    hand.add_argument("--reason", default="")


def run(args: argparse.Namespace, app: App) -> int:
    from sqlalchemy import select

    from recorder import dispatch, matter_states
    from recorder.matter_states import Via
    from recorder.models import EntryStatus, LogEntry, User

    sessions = app.ready_database()
    with sessions.begin() as session:

        def user(name: str) -> User:
            found = session.scalar(select(User).where(User.username == name, User.active))
            if found is None:
                raise HotlineError(f"no active user {name!r}")
            return found

        actor = user(args.username)
        entry = session.get(LogEntry, args.entry)
        if entry is None:
            raise HotlineError(f"no log entry {args.entry}")
        if args.matters_action == "show":
            owner = (
                session.get(User, entry.responsible_user_id) if entry.responsible_user_id else None
            )
            moves = matter_states.targets(entry.status, actor.role, Via.FORM)
            print(
                f"entry {entry.id}: {entry.status.value}, owner {owner.username if owner else '-'}"
            )
            print("moves open to you: " + (", ".join(s.value for s in moves) or "none"))
            return 0
        if args.matters_action == "move":
            to = EntryStatus(args.status)
            if to is EntryStatus.CLOSED:
                dispatch.close(session, entry, actor.id, args.reason, role=actor.role)
            else:
                matter_states.move(
                    session, entry, to, user_id=actor.id, role=actor.role, via=Via.FORM,
                    reason=args.reason,
                )  # fmt: skip
            session.flush()
            print(f"entry {entry.id}: now {entry.status.value}")
            return 0
        taker = user(args.to)
        matter_states.hand_over(
            session, entry, taker.id, user_id=actor.id, role=actor.role, reason=args.reason
        )
        session.flush()
        print(f"entry {entry.id}: handed over to {taker.username}")
        return 0
