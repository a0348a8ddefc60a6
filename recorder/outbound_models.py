"""The tables of calls the agent places (issue 22): one task per call to make, and the
numbers that asked not to be called (press 9)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from recorder.models import Base, _enum


class TaskKind(enum.StrEnum):
    FOLLOW_UP = "follow_up"  # 回访 after a completed repair (seed 000 1.4.3.6)
    LETTER_CONFIRMATION = "letter_confirmation"  # seed 001 篇1 3.6, three days after mailing
    CALL_BACK = "call_back"  # a missed call (seed 001 篇2 3.1.4-3.1.5; outbound.call_back)
    #: A clerk's 回电 from the desk: the clerk's phone first, then the resident, bridged
    #: (issue 19; recorder/desk_callbacks.py, migration 0020).
    DESK_CALL_BACK = "desk_call_back"


class TaskState(enum.StrEnum):
    DUE = "due"  # waiting for its moment
    CALLING = "calling"  # one agent owns it and is calling
    DONE = "done"  # the resident answered and the answer is recorded
    GAVE_UP = "gave_up"  # attempts spent or past its last moment
    CANCELLED = "cancelled"  # not needed any more (opted out, followed up by a clerk)


class Attempt(enum.StrEnum):
    """How one attempt ended, as the call log's hangup cause says it."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"  # rang out (480/408/487, or the agent's ring time)
    BUSY = "busy"  # 486/600
    REJECTED = "rejected"  # 603 Decline
    FAILED = "failed"  # could not be placed (404, 5xx, unreachable)
    NO_KEY = "no_key"  # answered, but no key was pressed


class SurveyResult(enum.StrEnum):
    SATISFIED = "satisfied"  # 1
    NOT_SATISFIED = "not_satisfied"  # 2
    NOT_FIXED = "not_fixed"  # 3: the work order is reopened
    CLERK = "clerk"  # 0: asked for a clerk
    OPTED_OUT = "opted_out"  # 9: no more survey calls to this number


class LetterResult(enum.StrEnum):
    RECEIVED = "received"  # 1: the letter is confirmed
    NOT_RECEIVED = "not_received"  # 2: noted on the letter; the desk sends it again
    CLERK = "clerk"  # 0


class OutboundTask(Base):
    """One call to make: who, why, when (not before / not after), attempts left; owned by
    one agent at a time (`owner`, claimed by a conditional UPDATE)."""

    __tablename__ = "outbound_tasks"
    __table_args__ = (
        UniqueConstraint("kind", "work_order_id", name="uq_outbound_task_order"),
        UniqueConstraint("kind", "letter_id", name="uq_outbound_task_letter"),
        Index("ix_outbound_tasks_due", "state", "not_before"),
        # Never two calls to one number at once, whichever agents hold them.
        Index(
            "uq_outbound_calling_number",
            "number",
            unique=True,
            sqlite_where=text("state = 'calling'"),
            postgresql_where=text("state = 'calling'"),
        ),
        # One call-back task per missed entry, whichever agents sweep (migration 0017).
        Index(
            "uq_outbound_call_back_entry",
            "entry_id",
            unique=True,
            sqlite_where=text("kind = 'call_back'"),
            postgresql_where=text("kind = 'call_back'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[TaskKind] = mapped_column(_enum(TaskKind, "outbound_kind"))
    number: Mapped[str] = mapped_column(String(64))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("log_entries.id"), index=True)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("reply_letters.id"))
    not_before: Mapped[datetime]
    not_after: Mapped[datetime | None]
    attempts_left: Mapped[int] = mapped_column(Integer)
    state: Mapped[TaskState] = mapped_column(
        _enum(TaskState, "outbound_state"), default=TaskState.DUE
    )
    owner: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    #: How the last attempt ended (Attempt), and the answer once reached (SurveyResult).
    last_attempt: Mapped[str | None] = mapped_column(String(24))
    result: Mapped[str | None] = mapped_column(String(24))
    #: Every attempt: {"at", "call_id", "attempt"}; each call is also in `calls`.
    history: Mapped[list[Any]] = mapped_column(default=list)
    #: The clerk whose phone a desk call-back rings first (migration 0020).
    clerk_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class OptOut(Base):
    """A number that pressed 9: no more calls of `kind` (kept; respected thereafter)."""

    __tablename__ = "outbound_opt_outs"
    __table_args__ = (UniqueConstraint("number", "kind", name="uq_outbound_opt_out"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64))
    kind: Mapped[TaskKind] = mapped_column(_enum(TaskKind, "outbound_kind"))
    at: Mapped[datetime]
    call_id: Mapped[str | None] = mapped_column(String(255))
