"""Who changes the log in a session, and the error for a change without a trace.

The ground under recorder.reception_log and the hooks beside it (recorder.matter_states,
recorder.revisions): they declare and read the session's actor without importing the
log itself, so the hooks can be registered by the log with no import cycle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from recorder.errors import RecorderError
from recorder.models import FieldSource

__all__ = ["SYSTEM", "Actor", "RecordIntegrityError", "_text", "act_as"]


class RecordIntegrityError(RecorderError):
    """A change that would alter a record without leaving a trace."""


@dataclass(frozen=True)
class Actor:
    """Who is changing log entries in a session: a staff user, or the system."""

    user_id: int | None
    source: FieldSource
    reason: str | None = None


SYSTEM = Actor(user_id=None, source=FieldSource.AUTO)


def act_as(session: Session, actor: Actor) -> None:
    """Declare who makes the session's next changes. Changes already made under another
    actor are flushed first, so each revision names who really made it (a clerk's status
    move, then the system's follow-up date, in one request)."""
    previous = session.info.get("actor")
    if previous is not None and previous != actor and session.dirty:
        session.flush()
    session.info["actor"] = actor


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
