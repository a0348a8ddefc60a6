"""The call log schema: calls (CDR), recordings, transcripts, the phone-reception
log (电话接待记录本) with its revisions, staff users and the complaint register.

Times are stored as UTC and always come back timezone-aware.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as the value strings, checked by a constraint, readable in SQL.
    return Enum(
        cls,
        name=name,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        create_constraint=True,
        length=24,
    )


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    IMPORTED = "imported"


class Disposition(enum.StrEnum):
    RINGING = "ringing"  # still in progress
    ANSWERED = "answered"
    MISSED = "missed"  # caller gave up while it rang
    ABANDONED = "abandoned"  # caller hung up during the greeting
    FAILED = "failed"


class AnsweredBy(enum.StrEnum):
    AGENT = "agent"
    STAFF = "staff"


class LegResult(enum.StrEnum):
    """How a clerk's phone, rung for a call, ended."""

    ANSWERED = "answered"
    BUSY = "busy"  # 486/600/603: on another call, or rejected on the phone
    NO_ANSWER = "no_answer"  # rang out (the flow's ring time, 408/480) or rejected while ringing
    FAILED = "failed"  # could not be rung: not registered (404), unreachable, 5xx


class Role(enum.StrEnum):
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class RecordingState(enum.StrEnum):
    RECORDING = "recording"
    COMPLETE = "complete"
    REPAIRED = "repaired"  # cut off by a crash, header fixed on restart
    PURGED = "purged"  # removed by retention; the row stays
    MISSING = "missing"


class EntryStatus(enum.StrEnum):
    RECEIVED = "received"
    DISPATCHED = "dispatched"
    DONE = "done"
    FOLLOWED_UP = "followed_up"
    CLOSED = "closed"


class Urgency(enum.StrEnum):
    SAFETY = "safety"
    LEAK = "leak"
    NORMAL = "normal"


class FieldSource(enum.StrEnum):
    AUTO = "auto"
    PERSON = "person"


class User(Base):
    """A staff member who may log in to the admin and may be on the duty roster."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    job_number: Mapped[str] = mapped_column(String(32), unique=True)  # 工号
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    password_hash: Mapped[str] = mapped_column(String(255))
    #: The seeds forbid staff who cannot yet work alone from answering calls:
    #: such users are never put on the duty roster.
    independent: Mapped[bool] = mapped_column(Boolean, default=True)
    extension: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Call(Base):
    """One row per call, answered or not (a call detail record)."""

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_invite_at", "invite_at"),
        # The month's missed and abandoned calls: call-backs (recorder/kpi_counts.py, 0015).
        Index("ix_calls_disposition_invite_at", "disposition", "invite_at"),
        # Who answered elsewhere in the ring group, the dashboard's list (migration 0022).
        Index(
            "ix_calls_answered_elsewhere",
            "disposition",
            "invite_at",
            "answered_by_user_id",
            "answered_elsewhere_by",
            "answered_elsewhere",
            postgresql_where=text("answered_elsewhere"),
            sqlite_where=text("answered_elsewhere = 1"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SIP Call-ID, or a generated id for imported recordings.
    call_id: Mapped[str] = mapped_column(String(255), unique=True)
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "call_direction"))
    caller_number: Mapped[str | None] = mapped_column(String(64))
    called_number: Mapped[str | None] = mapped_column(String(64))
    invite_at: Mapped[datetime]
    ringing_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    #: The rings the caller heard (from the 180 to the answer, CANCEL or BYE, at the
    #: configured cadence); None where nobody knows (imported recordings).
    ring_count: Mapped[int | None] = mapped_column(Integer, default=0)
    answered_by: Mapped[AnsweredBy | None] = mapped_column(_enum(AnsweredBy, "answered_by"))
    answered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    disposition: Mapped[Disposition] = mapped_column(
        _enum(Disposition, "call_disposition"), default=Disposition.RINGING
    )
    hangup_cause: Mapped[str | None] = mapped_column(String(100))
    #: Where in the call flow the call ended: ringing, greeting, menu, message, bridge, closing.
    ended_in: Mapped[str | None] = mapped_column(String(32))
    #: The category the caller chose in the call flow's menu (1 repair, 2 complaint...):
    #: the entry's category when the words give none or no model is there yet.
    menu_category: Mapped[str | None] = mapped_column(String(32))
    #: The agent process died during the call; the recording was repaired on restart.
    interrupted: Mapped[bool] = mapped_column(Boolean, default=False)
    codec: Mapped[str | None] = mapped_column(String(16))
    rtp_packets_received: Mapped[int | None]
    rtp_packets_lost: Mapped[int | None]
    rtp_jitter_ms: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    #: Another phone of the ring group answered: the PBX CANCELled the agent's leg with
    #: RFC 3326's "call completed elsewhere". Answered by staff, never missed, no call-back.
    answered_elsewhere: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The agent that took the call (agent.name; NULL: a site's one unnamed agent). Start-up
    #: recovery touches only its own agent's calls (migration 0018).
    agent: Mapped[str | None] = mapped_column(String(64))
    #: The estate (recorder/estates.py) it belongs to; None: the company's (migration 0016).
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"), index=True)
    #: Who answered it there, as the PBX's CANCEL named them (a header the site names, or
    #: the Reason text: ivr/cancel_reason.answerer); None: "a colleague".
    answered_elsewhere_by: Mapped[str | None] = mapped_column(String(100))

    recordings: Mapped[list[Recording]] = relationship(back_populates="call")
    transcripts: Mapped[list[Transcript]] = relationship(back_populates="call")
    entry: Mapped[LogEntry | None] = relationship(back_populates="call")
    legs: Mapped[list[CallLeg]] = relationship(
        back_populates="call", order_by="CallLeg.seq", cascade="all, delete-orphan"
    )


class CallLeg(Base):
    """One clerk's phone rung for a call, in roster order: for how long and how it ended.

    The issue asks for each clerk's ring time and who answered; a message left
    after nobody answered belongs to the first clerk rung (首问责任制).
    """

    __tablename__ = "call_legs"
    __table_args__ = (UniqueConstraint("call_pk", "seq", name="uq_call_leg_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    #: 1 for the first clerk rung, 2 for the next...
    seq: Mapped[int] = mapped_column(Integer)
    extension: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rang_at: Mapped[datetime]
    #: From the INVITE to the phone's answer, refusal, or the flow giving up on it.
    ring_seconds: Mapped[float] = mapped_column(Float)
    result: Mapped[LegResult] = mapped_column(_enum(LegResult, "leg_result"))

    call: Mapped[Call] = relationship(back_populates="legs")


class Recording(Base):
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(1024), unique=True)
    #: "caller" for agent-only calls; "caller,staff" for bridged calls (left, right).
    channels: Mapped[str] = mapped_column(String(32), default="caller")
    sample_rate: Mapped[int] = mapped_column(Integer, default=8000)
    duration_s: Mapped[float | None] = mapped_column(Float)
    size_bytes: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[RecordingState] = mapped_column(
        _enum(RecordingState, "recording_state"), default=RecordingState.RECORDING
    )
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    closed_at: Mapped[datetime | None]

    call: Mapped[Call] = relationship(back_populates="recordings")


#: The `Transcript.channel` values that hold the caller's words (a mono recording, or the
#: caller's side of a two-channel one).
CALLER_CHANNELS = ("mono", "caller")


class Transcript(Base):
    __tablename__ = "transcripts"
    __table_args__ = (
        UniqueConstraint("call_pk", "channel", "engine", name="uq_transcript_channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    recording_id: Mapped[int | None] = mapped_column(ForeignKey("recordings.id"))
    engine: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(8))
    #: caller, staff, or mono
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    raw_text: Mapped[str] = mapped_column(Text, default="")
    #: [{"word": "...", "start": 0.0, "end": 0.3, "conf": 0.98}, ...]
    words: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    call: Mapped[Call] = relationship(back_populates="transcripts")


#: The fields of a reception-log entry that are filled automatically or by a
#: person, in the column order of the paper log book.
ENTRY_FIELDS = (
    "received_at",
    "caller_number",
    "surname",
    "unit",
    "phone",
    "category",
    "urgency",
    "summary",
    "handling",
    "dispatch_department",
    "promised_reply_at",
    "follow_up_due",
    "status",
    "responsible_user_id",
)

#: What caller recognition (issue 19) adds to an entry beside its fields: where the unit
#: came from, the unit the call is about, a unit the estate lacks, the households sharing
#: the caller's number.
ENTRY_CALLER_FIELDS = ("unit_source", "subject_unit", "unverified_unit", "households")


class LogEntry(Base):
    """A line of the phone-reception log (电话接待记录本)."""

    __tablename__ = "log_entries"
    __table_args__ = (
        Index("ix_log_entries_received_at", "received_at"),
        Index("ix_log_entries_follow_up_due", "follow_up_due"),
        # A unit's repairs in time order: 返修率 (recorder/kpi_counts.py; migration 0012).
        Index("ix_log_entries_unit_received_at", "unit", "received_at"),
        # The month's repairs and messages; a unit's repairs in a range (migration 0015).
        Index("ix_log_entries_category_received_at", "category", "received_at"),
        Index("ix_log_entries_unit_category_received_at", "unit", "category", "received_at"),
        # 返修率: the same unit's repair of the same kind in a range, read from the index
        # alone (recorder/kpi_counts.py completed_repairs; migration 0022).
        Index(
            "ix_log_entries_rework",
            "unit",
            "category",
            "urgency",
            "received_at",
            "dispatch_department",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: One entry per call at most: running a job twice never makes two entries.
    call_pk: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), unique=True)
    received_at: Mapped[datetime]
    caller_number: Mapped[str | None] = mapped_column(String(64))
    surname: Mapped[str | None] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(64))
    #: The callback number the caller gave, if different from caller_number.
    phone: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32), default="other")
    urgency: Mapped[Urgency] = mapped_column(_enum(Urgency, "urgency"), default=Urgency.NORMAL)
    summary: Mapped[str] = mapped_column(Text, default="")
    handling: Mapped[str | None] = mapped_column(Text)
    dispatch_department: Mapped[str | None] = mapped_column(String(64))
    promised_reply_at: Mapped[datetime | None]
    follow_up_due: Mapped[date | None] = mapped_column(Date)
    status: Mapped[EntryStatus] = mapped_column(
        _enum(EntryStatus, "entry_status"), default=EntryStatus.RECEIVED
    )
    #: 首问负责人: whoever first received the matter owns it until it is closed.
    responsible_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: {field: "auto" | "person"} for every field that has a value.
    field_sources: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The estate (recorder/estates.py) it belongs to; None: the company's (migration 0016).
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"), index=True)
    #: Set when nothing usable was extracted: a clerk should look.
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Where `unit` came from: "directory" (the caller's number is one household's),
    #: "speech" (the caller said it), None: no unit.
    unit_source: Mapped[str | None] = mapped_column(String(16))
    #: The unit the call is about when it is not the caller's home (a neighbour's leak).
    subject_unit: Mapped[str | None] = mapped_column(String(64))
    #: A unit said that the estate does not have: for a clerk, never written as `unit`.
    unverified_unit: Mapped[str | None] = mapped_column(String(64))
    #: The households sharing the caller's number ({address, names}), none chosen.
    households: Mapped[list[Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=utcnow)

    call: Mapped[Call | None] = relationship(back_populates="entry")
    responsible: Mapped[User | None] = relationship(foreign_keys=[responsible_user_id])
    revisions: Mapped[list[EntryRevision]] = relationship(
        back_populates="entry", order_by="EntryRevision.id"
    )
    complaint: Mapped[Complaint | None] = relationship(back_populates="entry")


class EntryRevision(Base):
    """One changed field of a log entry: the seeds forbid altered records
    (记录填写清晰准确, 无涂改), so a change is added, never written over."""

    __tablename__ = "entry_revisions"
    #: A person's action on an entry: relay on time, call-backs (migration 0015).
    __table_args__ = (
        Index("ix_entry_revisions_entry_acted", "entry_id", "field", "user_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("log_entries.id"), index=True)
    #: None: the system (the classifier, a job) made the change.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    old_source: Mapped[str | None] = mapped_column(String(8))
    new_source: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(Text)

    entry: Mapped[LogEntry] = relationship(back_populates="revisions")
    user: Mapped[User | None] = relationship()


class ComplaintSequence(Base):
    """The last complaint number issued per year; row-locked while one is taken."""

    __tablename__ = "complaint_sequences"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Complaint(Base):
    """The complaint register (客户投诉登记表). The handling notice (处理通知单)
    carries the same number (首问责任制培训细则 1.4.2.1.3)."""

    __tablename__ = "complaints"
    __table_args__ = (
        # Numbered per estate or company-wide (recorder/estates.py, migration 0016).
        UniqueConstraint("estate_id", "year", "seq", name="uq_complaint_estate_year_seq"),
        Index("ix_complaints_registered_at", "registered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    entry_id: Mapped[int] = mapped_column(ForeignKey("log_entries.id"), unique=True)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    resident: Mapped[str | None] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    #: How it came in (1.4.2.1.1 信函、电话、传真或来人面谈): phone, letter, fax, visit.
    channel: Mapped[str] = mapped_column(String(16), default="phone", server_default="phone")
    #: simple: straight to the department; major: to the 物业中心主任 (1.4.2.2.1-2).
    severity: Mapped[str] = mapped_column(String(16), default="simple", server_default="simple")
    escalated_at: Mapped[datetime | None]
    escalated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: When the supervisor was told, the same day (1.4.1.3 须于当天 … 汇报物业中心主任).
    reported_at: Mapped[datetime | None]
    #: Corrective measures, on the handling notice (1.4.2.2.3).
    measures: Mapped[str | None] = mapped_column(Text)
    #: A supervisor's closing decision when the resident was not satisfied (1.4.2.2.4).
    decision: Mapped[str | None] = mapped_column(Text)
    #: The estate (recorder/estates.py) it belongs to; None: the company's (migration 0016).
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"), index=True)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: A complaint about the desk's or a department's own service (1.4.4 客户对内部投诉):
    #: its cause (attitude: a written explanation; delay: 8-hour answer, 3-day remedy),
    #: the staff member complained about, and their written explanation (书面说明).
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    cause: Mapped[str | None] = mapped_column(String(16))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    explanation: Mapped[str | None] = mapped_column(Text)

    entry: Mapped[LogEntry] = relationship(back_populates="complaint")


class AuditEvent(Base):
    """Who listened to, exported or looked at personal data, and when
    (保密制度: 客户资料信息 ... 不得泄露)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(255))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"  # for a speech model; runs once one is configured
    DONE = "done"
    FAILED = "failed"  # retries used up; the sweep tries again later


class CallJob(Base):
    """The pipeline's work on one call, shown to the admin: queued, running, waiting, done, failed."""

    __tablename__ = "call_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    state: Mapped[JobState] = mapped_column(_enum(JobState, "job_state"), default=JobState.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WorkOrderSequence(Base):
    """The last work-order number issued per year (派工单编号)."""

    __tablename__ = "work_order_sequences"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class WorkOrder(Base):
    """A matter dispatched to a department (派工), numbered per year like PG-2026-0001."""

    __tablename__ = "work_orders"
    __table_args__ = (
        UniqueConstraint("estate_id", "year", "seq", name="uq_work_order_estate_year_seq"),
        # An entry's first work order, its department read from the index (migration 0012).
        Index("ix_work_orders_entry_first", "entry_id", "dispatched_at", "id", "department"),
        Index("ix_work_orders_completed_at", "completed_at"),
        # A completed work order of an entry (migration 0015).
        Index("ix_work_orders_entry_done", "entry_id", "completed", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    entry_id: Mapped[int] = mapped_column(ForeignKey("log_entries.id"), index=True)
    department: Mapped[str] = mapped_column(String(64))
    dispatched_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The estate (recorder/estates.py) it belongs to; None: the company's (migration 0016).
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"), index=True)
    completed_at: Mapped[datetime | None]
    #: True done, False not completed (a reason is then required), None open.
    completed: Mapped[bool | None] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    #: The named technician (维修师傅) it went to, if not the department at large.
    technician: Mapped[str | None] = mapped_column(String(64))
    #: When the work is due, from the category's rules (recorder/deadlines.py).
    due_at: Mapped[datetime | None]
    #: The return (返单): parts used, and the fee of a paid service (有偿服务) in fen.
    parts: Mapped[str | None] = mapped_column(Text)
    paid: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    fee_fen: Mapped[int | None] = mapped_column(Integer)
    returned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The order this one re-dispatches (改派), if any.
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))


class FollowUp(Base):
    """A follow-up call to the resident (回访): reached? satisfied? notes."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        Index("ix_follow_ups_at", "at"),
        # A follow-up of an entry that reached someone (migration 0015).
        Index("ix_follow_ups_entry_reached", "entry_id", "reached", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("log_entries.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reached: Mapped[bool] = mapped_column(Boolean)
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    notes: Mapped[str] = mapped_column(Text, default="")


class LogCheck(Base):
    """A supervisor's daily sign-off of the log (每天对日常电话接待记录本作检查)."""

    __tablename__ = "log_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    checked_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    notes: Mapped[str] = mapped_column(Text, default="")


class ComplianceResult(Base):
    """How whoever answered a call kept to the phone script (the greeting audit)."""

    __tablename__ = "compliance_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    answered_by: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    within_rings: Mapped[bool | None] = mapped_column(Boolean)
    passed: Mapped[bool] = mapped_column(Boolean)
    checks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    forbidden: Mapped[list[Any]] = mapped_column(default=list)
    #: [{"check": ..., "phrase": ..., "at_s": seconds or null}]
    findings: Mapped[list[Any]] = mapped_column(default=list)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffSession(Base):
    """A login to the web desk, kept on the server (issue 15): the cookie carries only a
    random token; the row holds its hash and when it ends (admin.session_hours).
    Logging out deletes the row, so a cookie copied before then no longer works."""

    __tablename__ = "staff_sessions"

    #: sha256 of the cookie's token, hex: the table alone does not let anyone in.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class MatterRevision(Base):
    """One changed field of a complaint or a work order: like EntryRevision, a change
    is added, never written over (recorder/revisions.py writes them)."""

    __tablename__ = "matter_revisions"
    __table_args__ = (Index("ix_matter_revisions_row", "kind", "row_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "complaint" or "work_order".
    kind: Mapped[str] = mapped_column(String(16))
    row_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User | None] = relationship()


class ReplyLetter(Base):
    """A reply letter to a complainant (客户回函作业指导书, seed 001 篇1): reviewed, approved,
    sent by registered mail, confirmed by phone three days after sending, archived with
    the matter."""

    __tablename__ = "reply_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    #: 3.3: 物业部经理 reviews when it concerns the property, a lawyer when law is involved.
    involves_property: Mapped[bool] = mapped_column(Boolean, default=False)
    involves_law: Mapped[bool] = mapped_column(Boolean, default=False)
    drafted_at: Mapped[datetime] = mapped_column(default=utcnow)
    drafted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: 3.4 审批人: 营销部经理 (named), recorded by a desk user.
    approver: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None]
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: 3.6 挂号信: when it was posted and its registered-mail number.
    mailed_at: Mapped[datetime | None]
    mail_number: Mapped[str | None] = mapped_column(String(64))
    #: 3.6 信件在发出3天后与客户电话联系确认: the clerk's task, due then.
    confirm_due: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirm_note: Mapped[str | None] = mapped_column(Text)
    archived_at: Mapped[datetime | None]
    archived_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    reviews: Mapped[list[LetterReview]] = relationship(
        back_populates="letter", order_by="LetterReview.id"
    )


class LetterReview(Base):
    """One reviewer's word on a reply letter (3.3 审核人), who and when."""

    __tablename__ = "letter_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("reply_letters.id"), index=True)
    #: project_director, property_manager, service_supervisor, department_manager, lawyer.
    step: Mapped[str] = mapped_column(String(32))
    reviewer: Mapped[str] = mapped_column(String(100))
    approved: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    letter: Mapped[ReplyLetter] = relationship(back_populates="reviews")


class Handover(Base):
    """A shift handover (交接班, seed 001 篇5 3, 002 四 2): the open matters the leaving shift
    passes on (what, whose, due when), acknowledged by the next shift."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    notes: Mapped[str] = mapped_column(Text, default="")
    #: [{"entry": id, "what": ..., "owner": ..., "status": ..., "due": ...}] as handed over.
    matters: Mapped[list[Any]] = mapped_column(default=list)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CheckMark(Base):
    """One sampled record in a supervisor's check, seen and marked (检查作业指导书 3.2 daily
    log check, 3.6 weekly records check with 责成当事人改正, 3.4 monthly follow-up spot check:
    有偿服务全部检查, 非有偿服务检查10%)."""

    __tablename__ = "check_marks"
    __table_args__ = (
        UniqueConstraint("kind", "period", "entry_id", name="uq_check_mark"),
        Index("ix_check_marks_period", "kind", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: daily, weekly or monthly.
    kind: Mapped[str] = mapped_column(String(16))
    #: The day checked, the Monday of the week, or the first of the month.
    period: Mapped[date] = mapped_column(Date)
    entry_id: Mapped[int] = mapped_column(ForeignKey("log_entries.id"))
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    sampled_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: None until marked; False: not in order (the note says why).
    ok: Mapped[bool | None] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    checked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime | None]
    #: Returned to the record's writer for correction, and when they corrected it.
    returned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    corrected_at: Mapped[datetime | None]
