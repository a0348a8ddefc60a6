"""One database session per request, opened lazily and closed at teardown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from admin.services import Desk
from admin.settings import DeskSettings


def init_app(web: Flask, sessions: sessionmaker[Session]) -> None:
    web.extensions["hotline_sessions"] = sessions
    web.config.setdefault("CLOCK", lambda: datetime.now(UTC))
    web.teardown_appcontext(_close)


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["hotline_sessions"]()
    session: Session = g.db_session
    return session


def _close(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()


def settings() -> DeskSettings:
    desk: Desk = current_app.extensions["hotline"]
    return desk.settings


def now() -> datetime:
    """The current time from the app's clock seam (aware, UTC)."""
    clock: Callable[[], datetime] = current_app.config["CLOCK"]
    return clock()


def zone() -> ZoneInfo:
    return ZoneInfo(settings().organization.timezone)


def local_today() -> date:
    return now().astimezone(zone()).date()


def local(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(zone())
