"""hotline users add|set-password|list"""

from __future__ import annotations

import argparse
import getpass
import sys

from hotline.app import App
from hotline.errors import HotlineError

NAME = "users"
HELP = "manage staff users (add, set-password, list)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="users_action", metavar="ACTION")
    actions.required = True
    add = actions.add_parser("add", help="add a staff user")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="display name, e.g. 王芳")
    add.add_argument("--job-number", required=True, help="工号, announced when answering")
    add.add_argument("--role", choices=["clerk", "supervisor", "admin"], default="clerk")
    add.add_argument("--extension", help="phone extension for the duty roster")
    add.add_argument(
        "--not-independent",
        action="store_true",
        help="new staff who may not yet answer calls alone: kept off the duty roster",
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    pw = actions.add_parser("set-password", help="set a user's password")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true")
    actions.add_parser("list", help="list staff users")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise HotlineError("the two passwords differ")
    return first


def run(args: argparse.Namespace, app: App) -> int:
    from recorder import staff
    from recorder.models import Role

    sessions = app.ready_database()
    with sessions.begin() as session:
        if args.users_action == "add":
            user = staff.add_user(
                session,
                args.username,
                args.name,
                args.job_number,
                Role(args.role),
                _password(args.password_stdin),
                independent=not args.not_independent,
                extension=args.extension,
            )
            print(
                f"added {user.role.value} {user.username} ({user.display_name}, 工号 {user.job_number})"
            )
        elif args.users_action == "set-password":
            staff.set_password(session, args.username, _password(args.password_stdin))
            print(f"password of {args.username} changed")
        else:
            for user in staff.list_users(session):
                flags = [] if user.independent else ["not independent"]
                if not user.active:
                    flags.append("inactive")
                ext = user.extension or "-"
                print(
                    f"{user.username:<16} {user.role.value:<10} {user.job_number:<8} "
                    f"{ext:<8} {user.display_name} {' '.join(flags)}".rstrip()
                )
    return 0
