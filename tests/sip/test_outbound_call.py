"""The agent calls a resident back, end to end (issue 22): `hotline agent` registered
with a real Kamailio places the follow-up survey call of a completed repair to a SIPp
resident (registered as 13800138000) who answers and presses 1 (an RFC 4733 event).

What is kept: the entry's follow-up, reached and satisfied, as a clerk's would be (the
entry moves to followed_up); the call in the call log with direction outbound,
answered, with its recording; the task done with the call's id; no reception-log entry
made of the outbound call itself, even when the worker's job runs for it.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.content import load_content
from hotline.settings import Settings
from recorder.models import (
    Call,
    Direction,
    Disposition,
    EntryStatus,
    FieldSource,
    FollowUp,
    LogEntry,
    Recording,
)
from recorder.outbound_models import OutboundTask, TaskState
from recorder.reception_log import new_entry
from recorder.work_orders import complete, dispatch
from tests.sip.conftest import SHORT_CLOSING, Site
from tests.sip.test_agent_calls import AgentFactory, _ended
from tests.sip.test_clerk_busy import _sipp_phone
from tests.support.processes import wait_until
from transcripts.pipeline import Pipeline

RESIDENT = "13800138000"
SURVEY_INTRO = "您好，幸福家园，8001号，回访{unit}。"
SURVEY_QUESTION = "满意请按1。"
OUTBOUND = {
    "outbound__enabled": "true",
    "outbound__hours": '"00:00-24:00"',  # any time of day the suite runs
    "outbound__follow_up_after_hours": "0",  # due as soon as the work is returned
    "outbound__poll_s": "0.5",
    "outbound__ring_timeout_s": "10",
}


@pytest.fixture(scope="module")
def short_config(short_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The suite's short script with a short survey whose closings are its closing (one
    synthesis for all, from the prompt cache): the call, not the voice, is under test."""
    target = tmp_path_factory.mktemp("outbound-config") / "config"
    shutil.copytree(short_config, target)
    script = target / "scripts" / "zh-CN.toml"
    short = {"survey_intro": SURVEY_INTRO, "survey_question": SURVEY_QUESTION}
    lines = []
    for line in script.read_text(encoding="utf-8").splitlines():
        name = line.split(" = ")[0]
        survey = name.startswith(("survey", "letter_"))
        said = short.get(name.replace("letter_", "survey_"), SHORT_CLOSING) if survey else None
        lines.append(line if said is None else f'{name} = "{said}"')
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def test_the_agent_calls_a_resident_whose_key_1_is_the_entrys_satisfied_follow_up(
    agent: AgentFactory, kamailio: int, tmp_path: Path, short_config: Path
) -> None:
    with (
        agent("--registrar", f"127.0.0.1:{kamailio}", "--user", "agent", **OUTBOUND) as site,
        _sipp_phone(
            tmp_path, kamailio, RESIDENT, "uas_survey.xml", KEY_AT_MS="1000", KEY="1"
        ) as resident,
    ):
        now = datetime.now(UTC)
        with site.sessions.begin() as s:
            entry = new_entry(
                s,
                {
                    "received_at": now - timedelta(hours=5),
                    "caller_number": RESIDENT,
                    "unit": "3号楼1201",
                    "category": "repair",
                    "summary": "厨房水管漏水",
                    "follow_up_due": (now + timedelta(days=7)).date(),
                },
                FieldSource.AUTO,
            )
            s.flush()
            order = dispatch(s, entry, "工程部", ["工程部"], None, now - timedelta(hours=4))
            complete(s, order, True, None, now=now - timedelta(minutes=5))
            entry_id = entry.id
        # The resident's phone answered, got its key across and the agent's BYE.
        assert resident.wait(timeout=60) == 0
        wait_until(lambda: _state(site) is TaskState.DONE, 20, "the survey's answer on the task")
        # The call log is journaled (docs/journal.md): its end lands a moment later.
        stored_id = _ended(site)[0].call_id
        # The worker's job for the call finds a call the agent placed: no entry of its own.
        settings = Settings()
        pipeline = Pipeline(
            site.sessions, load_content(settings, short_config), settings, load_engine=lambda: None
        )
        assert pipeline.process_call(stored_id).entry_id is None
        with site.sessions() as s:
            follow = s.scalars(select(FollowUp)).one()
            stored = s.scalars(select(Call)).one()
            recording = s.scalars(select(Recording)).one()
            status = s.get_one(LogEntry, entry_id).status
            entries = s.scalars(select(LogEntry.id)).all()
        task = _task(site)
    assert (follow.entry_id, follow.reached, follow.satisfied) == (entry_id, True, True)
    assert status is EntryStatus.FOLLOWED_UP
    assert (stored.direction, stored.disposition, stored.called_number) == (
        Direction.OUTBOUND,
        Disposition.ANSWERED,
        RESIDENT,
    )
    assert recording.call_pk == stored.id
    assert (task.result, task.history[-1]["call_id"]) == ("satisfied", stored.call_id)
    assert entries == [entry_id]  # the outbound call made no entry of its own


def _task(site: Site) -> OutboundTask:
    with site.sessions() as s:
        return s.scalars(select(OutboundTask)).one()


def _state(site: Site) -> TaskState | None:
    with site.sessions() as s:
        return s.scalar(select(OutboundTask.state))
