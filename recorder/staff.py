"""Staff users: the clerks, supervisors and admins, and the duty roster's members."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from recorder.errors import RecorderError
from recorder.estates import StaffEstate
from recorder.models import Role, User

MIN_PASSWORD = 10
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class StaffError(RecorderError):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"password too short: use at least {MIN_PASSWORD} characters")
    return generate_password_hash(password, method="scrypt")


def verify_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def add_user(
    session: Session,
    username: str,
    display_name: str,
    job_number: str,
    role: Role,
    password: str,
    independent: bool = True,
    extension: str | None = None,
) -> User:
    if not _USERNAME.match(username):
        raise StaffError(
            f"username {username!r}: use 2-64 lower-case letters, digits, '.', '_' or '-'"
        )
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise StaffError(f"user {username!r} exists already")
    if session.scalar(select(User).where(User.job_number == job_number)) is not None:
        raise StaffError(f"job number {job_number!r} belongs to another user")
    user = User(
        username=username,
        display_name=display_name,
        job_number=job_number,
        role=role,
        password_hash=hash_password(password),
        independent=independent,
        extension=extension,
    )
    session.add(user)
    return user


def set_password(session: Session, username: str, password: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise StaffError(f"no user {username!r}")
    user.password_hash = hash_password(password)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def duty_roster(session: Session, estate_id: int | None = None) -> list[User]:
    """Staff who may answer calls: active, independent, with an extension.

    The seeds forbid new staff who cannot yet work alone from answering calls. For a
    call to an estate (issue 23): its own staff on duty; none, the company's (staff of
    no estate: the central desk); none either, everyone on duty, as with no estates.
    """
    on_duty = (
        select(User)
        .where(User.active, User.independent, User.extension.is_not(None))
        .order_by(User.id)
    )
    if estate_id is not None:
        staff_of = select(StaffEstate.user_id)
        own = session.scalars(
            on_duty.where(User.id.in_(staff_of.where(StaffEstate.estate_id == estate_id)))
        )
        found = list(own) or list(session.scalars(on_duty.where(User.id.not_in(staff_of))))
        if found:
            return found
    return list(session.scalars(on_duty))
