"""Logins kept on the server: a session ends after `admin.session_hours` or at logout.

Flask's session is a signed cookie: alone, it cannot be taken back (a copy made before
logout went on working) and it lived 31 days whatever `session_hours` said. So the
cookie carries only a random token (Flask-Login's user id is the token); the server
keeps its sha256 in `staff_sessions` with the time it ends. A request is logged in
only while that row exists, has not ended, and its user is still active.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from recorder.models import StaffSession, User


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_login(session: Session, user: User, at: datetime, hours: int) -> str:
    """A new login for `user` lasting `hours`; returns the cookie's token. Caller commits.

    Logins that have ended (of anyone) are removed on the way, so the table stays small.
    """
    session.execute(delete(StaffSession).where(StaffSession.expires_at <= at))
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            id=_digest(token),
            user_id=user.id,
            created_at=at,
            expires_at=at + timedelta(hours=hours),
        )
    )
    return token


def user_of(session: Session, token: str, at: datetime) -> User | None:
    """The active user whose login `token` is, while that login lasts; else None."""
    if not token or len(token) > 128:
        return None
    login = session.get(StaffSession, _digest(token))
    if login is None or login.expires_at <= at:
        return None
    user = session.get(User, login.user_id)
    return user if user is not None and user.active else None


def close_login(session: Session, token: str) -> None:
    """End one login (the others of the same user go on). Caller commits."""
    session.execute(delete(StaffSession).where(StaffSession.id == _digest(token)))
