"""The recording alarm: an audit row the admin sees under Audit when an answered call
cannot be recorded (moved out of recorder/calls.py, which raises it)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from recorder.models import AuditEvent

logger = logging.getLogger(__name__)

#: The audit action under which a recording alarm is shown to the admin (admin/audit.py).
RECORDING_FAILED = "recording_failed"
NO_RECORDING = "answered, but no recording was made (recordings directory full or unwritable?)"


def raise_alarm(session: Session, call_id: str, reason: str, at: datetime) -> None:
    """One alarm per call, however often it is reported: the first reason is kept."""
    target = f"call:{call_id}"[:255]
    exists = session.scalar(
        select(AuditEvent.id).where(
            AuditEvent.action == RECORDING_FAILED, AuditEvent.target == target
        )
    )
    if exists is not None:
        return
    session.add(
        AuditEvent(
            at=at,
            user_id=None,
            action=RECORDING_FAILED,
            target=target,
            detail={"call_id": call_id, "reason": reason},
        )
    )
    logger.error("[%s] ALARM recorded for the admin: %s", call_id, reason)
