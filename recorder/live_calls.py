"""Calls in progress, for the live desk (issue 19): one progress row per call from its
INVITE to its end, saying where in the flow it is (ringing, greeting, menu, message,
bridge, closing), and each staff member's desk notification switches.

The agent writes the rows through its call log (recorder.calls.DatabaseCallLog, behind
the journal), so every agent's calls meet in the database and every admin process sees
them. A row goes with its call's end; a call left open by a crash is ended by
recorder.recovery, and `in_progress` only shows calls whose end is not recorded.
Functions take a Session; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, select, true
from sqlalchemy.orm import Mapped, Session, mapped_column

from recorder.models import Base, Call

#: Where a call may be, in the order a caller meets them (ivr.flow_events.Stage and the
#: plain script's greeting / message / closing).
STAGES = ("ringing", "greeting", "after_hours", "menu", "message", "bridge", "closing")
#: What a desk may be told of (seed 001: safety and leaks first; complaints; missed calls).
ALERT_KINDS = ("safety", "leak", "complaint", "missed")


class LiveCall(Base):
    """A call in progress and its stage; removed when the call ends."""

    __tablename__ = "live_calls"

    call_pk: Mapped[int] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(32))
    #: The stage's particulars: {"category": "repair"} after a menu choice,
    #: {"extension": "8001", "user_id": 3} when bridged to a clerk.
    detail: Mapped[dict[str, Any] | None]
    changed_at: Mapped[datetime]


class DeskAlerts(Base):
    """A staff member's desk notifications: which kinds, and by sound and/or the browser."""

    __tablename__ = "desk_alerts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kinds: Mapped[list[Any]]
    sound: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    browser: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


def started(session: Session, call: Call, at: datetime) -> None:
    """The call rings: its row, once (a replayed INVITE leaves it)."""
    if session.get(LiveCall, call.id) is None:
        session.add(LiveCall(call_pk=call.id, stage="ringing", detail=None, changed_at=at))


def stage(
    session: Session, call: Call, name: str, at: datetime, detail: dict[str, Any] | None
) -> None:
    """The call moved on; nothing for a call already ended (a replayed event)."""
    if call.ended_at is not None:
        return
    row = session.get(LiveCall, call.id)
    if row is None:
        row = LiveCall(call_pk=call.id)
        session.add(row)
    row.stage, row.detail, row.changed_at = name, detail or None, at


def ended(session: Session, call: Call) -> None:
    row = session.get(LiveCall, call.id)
    if row is not None:
        session.delete(row)


@dataclass(frozen=True)
class InProgress:
    call_pk: int
    call_id: str
    caller_number: str | None
    called_number: str | None
    invite_at: datetime
    stage: str
    detail: dict[str, Any]
    changed_at: datetime

    @property
    def version(self) -> tuple[str, str, str]:
        """What the desk redraws on: the stage and its particulars."""
        return (self.stage, repr(sorted(self.detail.items())), self.changed_at.isoformat())


def in_progress(session: Session) -> list[InProgress]:
    """Every agent's calls in progress, oldest first."""
    rows = session.execute(
        select(LiveCall, Call)
        .join(Call, Call.id == LiveCall.call_pk)
        .where(Call.ended_at.is_(None))
        .order_by(Call.invite_at, Call.id)
    ).all()
    return [
        InProgress(
            call.id,
            call.call_id,
            call.caller_number,
            call.called_number,
            call.invite_at,
            live.stage,
            dict(live.detail or {}),
            live.changed_at,
        )
        for live, call in rows
    ]


@dataclass(frozen=True)
class AlertSwitches:
    kinds: frozenset[str]
    sound: bool
    browser: bool

    def as_json(self) -> dict[str, Any]:
        return {"kinds": sorted(self.kinds), "sound": self.sound, "browser": self.browser}


def alerts_of(session: Session, user_id: int) -> AlertSwitches:
    """A user's switches; everything on until they change them."""
    row = session.get(DeskAlerts, user_id)
    if row is None:
        return AlertSwitches(frozenset(ALERT_KINDS), True, True)
    kinds = frozenset(k for k in row.kinds or [] if k in ALERT_KINDS)
    return AlertSwitches(kinds, row.sound, row.browser)


def set_alerts(session: Session, user_id: int, switches: AlertSwitches) -> None:
    row = session.get(DeskAlerts, user_id) or DeskAlerts(user_id=user_id)
    row.kinds = sorted(k for k in switches.kinds if k in ALERT_KINDS)
    row.sound, row.browser = switches.sound, switches.browser
    session.add(row)
