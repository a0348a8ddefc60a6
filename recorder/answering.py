"""How a call was answered: how many rings the caller heard before it, and which clerk
the PBX named when another phone of the ring group took it (moved out of recorder/calls.py)."""

from __future__ import annotations

import math
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from recorder.models import User
from recorder.settings import RingingSettings


def staff_by_extension(session: Session, answerer: str) -> int | None:
    """The active user whose extension the PBX named (`8002`, or `张三 (8002)`), if one."""
    match = _EXTENSION.search(answerer)
    extension = match.group(1) if match else answerer.strip()
    return session.scalar(
        select(User.id).where(User.extension == extension, User.active.is_(True)).limit(1)
    )


_EXTENSION = re.compile(r"\(([^()]+)\)\s*$")


def rings_before_answer(
    ringing_at: datetime, answered_at: datetime, ringing: RingingSettings
) -> int:
    """How many rings the caller heard, from the ring cadence (China: 1 s on, 4 s off)."""
    elapsed = (answered_at - ringing_at).total_seconds()
    if elapsed <= 0:
        return 0
    cycle = ringing.ring_on_s + ringing.ring_off_s
    return math.floor(elapsed / cycle) + 1
