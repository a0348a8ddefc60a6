"""回电 from the desk, end to end (issue 19): `hotline agent` registered with a real
Kamailio takes a clerk's call-back request at an hour outside its calling hours, rings the
clerk's phone (a real baresip that answers by itself), says whom it calls, dials the
resident (SIPp registered as 13800138000, who answers, talks and hangs up) and bridges
the two.

What is kept, as the desk shows it: the number's missed call leaves the call-back list,
done by that clerk (已回电), with the call-back on its handling; one call in the call log,
outbound, answered by the clerk (the clerk's phone as its leg), ended by the resident in
the bridge, recorded in two channels.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hotline.settings import Settings
from recorder import desk_callbacks
from recorder.models import (
    AnsweredBy,
    Call,
    CallLeg,
    Direction,
    Disposition,
    EntryRevision,
    EntryStatus,
    LegResult,
    LogEntry,
    Recording,
    Role,
)
from recorder.outbound_models import OutboundTask, TaskState
from recorder.staff import add_user
from tests.sip.conftest import SHORT_CLOSING, Site, udp_port
from tests.sip.peers import baresip
from tests.sip.test_agent_calls import AgentFactory
from tests.sip.test_clerk_busy import _sipp_phone
from tests.support.processes import wait_until
from tests.test_desk_callback import missed_call

RESIDENT = "13800138000"
#: The survey's texts as tests/sip/test_outbound_call.py makes them (one prompt cache),
#: and the desk call-back's own, short.
SHORT = {
    "survey_intro": "您好，幸福家园，8001号，回访{unit}。",
    "survey_question": "满意请按1。",
}
DESK = {
    "desk_call_back_intro": "回电{unit}。",
    "desk_call_back_failed": "未接通。",
    "call_back_greeting": "{job_number}号回电。",
    "transfer": "请稍等。",
    "whisper": "{unit}",
}


@pytest.fixture(scope="module")
def short_config(short_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("desk-call-back-config") / "config"
    shutil.copytree(short_config, target)
    script = target / "scripts" / "zh-CN.toml"
    lines = []
    for line in script.read_text(encoding="utf-8").splitlines():
        name = line.split(" = ")[0]
        survey = name.startswith(("survey", "letter_"))
        said = SHORT.get(name.replace("letter_", "survey_"), SHORT_CLOSING) if survey else None
        said = DESK.get(name, said)
        lines.append(line if said is None else f'{name} = "{said}"')
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def closed_hours() -> str:
    """An hour of calling that is not now: the agent may call nobody on its own."""
    hour = datetime.now(ZoneInfo(Settings().organization.timezone)).hour
    start = (hour + 12) % 24 or 12
    start = min(start, 22)
    return f'"{start:02d}:00-{start + 1:02d}:00"'


def test_the_clerks_phone_rings_first_then_the_resident_bridged_and_the_missed_call_leaves(
    agent: AgentFactory, kamailio: int, tmp_path: Path
) -> None:
    account = (
        f'<sip:8002@127.0.0.1>;regint=60;outbound="sip:127.0.0.1:{kamailio}";'
        "audio_codecs=PCMU/8000/1;answermode=auto"
    )
    outbound = {
        "outbound__enabled": "true",
        "outbound__hours": closed_hours(),
        "outbound__poll_s": "0.5",
        "outbound__ring_timeout_s": "10",
    }
    with (
        baresip(tmp_path, udp_port(), account),
        agent("--registrar", f"127.0.0.1:{kamailio}", "--user", "agent", **outbound) as site,
        _sipp_phone(
            tmp_path,
            kamailio,
            RESIDENT,
            "uas_survey_bridge.xml",
            KEY_AT_MS="1500",  # a key on the bridged call changes nothing
            KEY="5",
            HOLD_MS="2500",  # then hangs up itself
        ) as resident,
    ):
        wait_until(
            lambda: "200 OK" in (tmp_path / "baresip.log").read_text(errors="replace"),
            20,
            "the clerk's phone to register",
        )
        now = datetime.now(UTC)
        entry_id = missed_call(site.sessions, now - timedelta(minutes=10))
        with site.sessions.begin() as s:
            clerk = add_user(
                s, "wangfang", "王芳", "1024", Role.CLERK, "pw-1024-long", extension="8002"
            )
            s.flush()
            clerk_id = clerk.id
            desk_callbacks.request(s, entry_id, clerk_id, now, "Asia/Shanghai")
        assert resident.wait(timeout=60) == 0  # answered, talked, hung up
        wait_until(lambda: _state(site) is TaskState.DONE, 20, "the call-back's end on the task")
        wait_until(lambda: len(_ended_calls(site)) == 1, 20, "the call record")
        with site.sessions() as s:
            stored = s.scalars(select(Call).where(Call.direction == Direction.OUTBOUND)).one()
            legs = [(g.extension, g.user_id, g.result) for g in s.scalars(select(CallLeg))]
            recordings = [
                (r.channels, r.duration_s)
                for r in s.scalars(select(Recording).where(Recording.call_pk == stored.id))
            ]
            entry = s.get_one(LogEntry, entry_id)
            revised_by = s.scalars(
                select(EntryRevision.user_id).where(EntryRevision.reason == "已回电")
            ).all()
        clerk_log = (tmp_path / "baresip.log").read_text(errors="replace")
    assert entry.status is EntryStatus.DONE and revised_by == [clerk_id]
    assert "回电（王芳）：已接通" in (entry.handling or "")
    assert (stored.called_number, stored.disposition) == (RESIDENT, Disposition.ANSWERED)
    assert (stored.answered_by, stored.answered_by_user_id) == (AnsweredBy.STAFF, clerk_id)
    assert (stored.ended_in, stored.hangup_cause) == ("bridge", "resident BYE")
    assert legs == [("8002", clerk_id, LegResult.ANSWERED)]
    ((channels, seconds),) = recordings
    assert channels == "caller,staff" and seconds is not None and seconds > 1.0
    assert "Call established" in clerk_log, clerk_log[-2000:]


def _state(site: Site) -> TaskState | None:
    with site.sessions() as s:
        return s.scalar(select(OutboundTask.state))


def _ended_calls(site: Site) -> list[Call]:
    with site.sessions() as s:
        return list(
            s.scalars(
                select(Call).where(Call.direction == Direction.OUTBOUND, Call.ended_at.is_not(None))
            )
        )
