"""After-hours calls are audited against the after-hours script the agent played, not
the daytime greeting (issue 20). The desk's schedule (08:00-18:00, ivr/schedule.py)
decides, as `hotline/app.py` wires it for the call flow. To tell the scripts apart the
after-hours prompt here lacks the greeting, the organisation and the job number: a
call at 21:00 fails on those, the same call at 10:00 passes. What is kept: each
call's entry and its audit row."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.content import load_content
from hotline.settings import Settings
from ivr.schedule import Schedule, is_open
from recorder.calls import DatabaseCallLog
from recorder.models import AnsweredBy, ComplianceResult, Disposition
from recorder.wav import WavWriter
from tests.test_audit_imported import FakeMonoEngine
from transcripts.pipeline import Pipeline

ZONE = ZoneInfo("Asia/Shanghai")
BARE_AFTER_HOURS = "现在是非工作时间，紧急情况请按9。"


def _call(sessions: sessionmaker[Session], tmp_path: Path, call_id: str, at: datetime) -> None:
    log = DatabaseCallLog(sessions)
    log.call_started(call_id, "13800138000", "8001", at)
    log.call_answered(call_id, at + timedelta(seconds=6), 2, AnsweredBy.AGENT)
    path = tmp_path / f"{call_id}.wav"
    log.recording_started(call_id, path, "caller", 8000, at + timedelta(seconds=6))
    with WavWriter(path) as writer:
        writer.write(np.zeros(8000 * 5, dtype="<i2").tobytes())
    log.recording_closed(call_id, writer.close(), at + timedelta(seconds=11))
    log.call_ended(
        call_id, at + timedelta(seconds=30), Disposition.ANSWERED, "agent BYE", "closing"
    )


@pytest.mark.parametrize(("hour", "passed"), [(21, False), (10, True)])
def test_the_audit_follows_the_script_of_the_hour(
    sessions: sessionmaker[Session], tmp_path: Path, hour: int, passed: bool
) -> None:
    settings = Settings()
    content = load_content(settings)
    prompts = {**content.script.prompts, "after_hours": BARE_AFTER_HOURS}
    content = dataclasses.replace(
        content, script=content.script.model_copy(update={"prompts": prompts})
    )
    schedule = Schedule.from_settings(settings.organization)
    at = datetime(2026, 11, 23, hour, 0, tzinfo=ZONE)
    _call(sessions, tmp_path, "c1", at)
    pipeline = Pipeline(
        sessions,
        content,
        settings,
        load_engine=FakeMonoEngine,
        after_hours=lambda when: not is_open(schedule, when),
    )
    pipeline.process_call("c1")
    with sessions() as s:
        result = s.scalars(select(ComplianceResult)).one()
    assert (result.answered_by, result.passed) == ("agent", passed)
    checks = {k: result.checks[k] for k in ("greeting", "organization", "staff_id")}
    assert checks == dict.fromkeys(checks, passed)
