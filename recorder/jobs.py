"""The pipeline's job bookkeeping: one `CallJob` row per call, as Session-taking
functions (the caller opens and commits the session). What a job does lives in
transcripts.pipeline; recorder.queue runs it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from recorder.models import Call, CallJob, Direction, JobState, LogEntry

#: A call ended this long ago without an entry had its job lost (a killed worker).
LOST_AFTER = timedelta(seconds=60)
RETRY_FAILED_AFTER = timedelta(hours=1)


def job_row(session: Session, call_pk: int, now: datetime) -> CallJob:
    """The call's job row, created if need be (two workers may race to it), locked."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(CallJob)
        .values(call_pk=call_pk, state=JobState.QUEUED, attempts=0, updated_at=now)
        .on_conflict_do_nothing()
    )
    return session.scalars(
        select(CallJob).where(CallJob.call_pk == call_pk).with_for_update()
    ).one()


def record_failure(session: Session, call_id: str, error: str, final: bool, now: datetime) -> int:
    """Record a failed attempt; returns the number of attempts so far (0: no such call)."""
    call = session.scalar(select(Call).where(Call.call_id == call_id))
    if call is None:
        return 0
    job = job_row(session, call.id, now)
    job.state = JobState.FAILED if final else JobState.QUEUED
    job.last_error = error[:2000]
    return job.attempts


def lost_calls(session: Session, now: datetime) -> list[str]:
    """Ended calls without an entry whose job was lost (a killed worker)."""
    return list(
        session.scalars(
            select(Call.call_id)
            .outerjoin(LogEntry, LogEntry.call_pk == Call.id)
            .where(
                LogEntry.id.is_(None),
                Call.answered_elsewhere.is_(False),  # a clerk's phone answered: no entry
                Call.direction != Direction.OUTBOUND,  # placed by the agent: no entry
                Call.ended_at.is_not(None),
                Call.ended_at < now - LOST_AFTER,
            )
        ).all()
    )


def waiting_calls(session: Session, now: datetime) -> list[str]:
    """Calls whose job waits for a speech model, or failed long enough ago to try again."""
    return list(
        session.scalars(
            select(Call.call_id)
            .join(CallJob, CallJob.call_pk == Call.id)
            .where(
                (CallJob.state == JobState.WAITING)
                | (
                    (CallJob.state == JobState.FAILED)
                    & (CallJob.updated_at < now - RETRY_FAILED_AFTER)
                )
            )
        ).all()
    )
