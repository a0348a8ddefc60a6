"""Deleting recordings past their retention period; the log entries stay.

Recordings older than retention.recording_days are deleted, complaint
recordings only after retention.complaint_recording_days (a complaint may
be disputed long after the call). The Recording row stays, marked purged,
so the log still says a recording existed and when it was removed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recorder.models import Call, Complaint, LogEntry, Recording, RecordingState
from recorder.settings import RetentionSettings
from recorder.stored_paths import resolve

logger = logging.getLogger(__name__)
KEPT_STATES = (RecordingState.COMPLETE, RecordingState.REPAIRED)


@dataclass(frozen=True)
class Purged:
    path: str
    started_at: datetime
    complaint: bool
    size_bytes: int


def purge(
    sessions: sessionmaker[Session],
    retention: RetentionSettings,
    now: datetime,
    dry_run: bool = False,
    data_dir: Path = Path(),
) -> list[Purged]:
    """Delete recordings past their retention period; `data_dir` resolves the stored paths."""
    ordinary = now - timedelta(days=retention.recording_days)
    complaints = now - timedelta(days=retention.complaint_recording_days)
    removed: list[Purged] = []
    with sessions.begin() as session:
        rows = session.execute(
            select(Recording, Complaint.id)
            .join(Call, Recording.call_pk == Call.id)
            .outerjoin(LogEntry, LogEntry.call_pk == Call.id)
            .outerjoin(Complaint, Complaint.entry_id == LogEntry.id)
            .where(Recording.state.in_(KEPT_STATES), Recording.started_at < ordinary)
        ).all()
        for recording, complaint_id in rows:
            is_complaint = complaint_id is not None
            if is_complaint and recording.started_at >= complaints:
                continue
            removed.append(
                Purged(
                    recording.path, recording.started_at, is_complaint, recording.size_bytes or 0
                )
            )
            if dry_run:
                continue
            resolve(data_dir, recording.path).unlink(missing_ok=True)
            recording.state = RecordingState.PURGED
            logger.info(
                "purged recording %s of %s (complaint: %s)",
                recording.path,
                recording.started_at.date(),
                is_complaint,
            )
    return removed
