"""The agent calls a resident back, end to end (issue 22): `hotline agent` registered
with a real Kamailio places the follow-up survey call of a completed repair to a SIPp
resident (registered as 13800138000) who answers and presses 1 (an RFC 4733 event).

The registrar asks the agent's INVITE for credentials and refuses a From user other than
the account it authenticated (kamailio-from-auth.cfg): the resident is shown the site's
name in From (the account as its user) and its number in P-Asserted-Identity.

What is kept: the entry's follow-up, reached and satisfied, as a clerk's would be (the
entry moves to followed_up); the call in the call log with direction outbound,
answered, with its recording; the task done with the call's id; no reception-log entry
made of the outbound call itself, even when the worker's job runs for it.

Key 0: the resident is put through to the duty clerk, a real baresip registered with the
same Kamailio that answers by itself, as the inbound flow's 0 does (docs/bridge.md): the
clerk's ring kept as the call's leg, the clerk as who took the call, the bridged part
recorded in two channels, and the desk not also asked to call the resident.

Call-back (outbound.call_back): a missed call on the desk's call-back list; the agent
calls the SIPp resident back, who answers, presses a key in the menu and hangs up: the
missed entry says it was reached (自动回电：已接通), is done, and leaves the list.
"""

from __future__ import annotations

import contextlib
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.content import load_content
from hotline.settings import Settings
from recorder import missed_calls
from recorder.models import (
    AnsweredBy,
    AuditEvent,
    Call,
    CallLeg,
    Direction,
    Disposition,
    EntryStatus,
    FieldSource,
    FollowUp,
    LegResult,
    LogEntry,
    Recording,
    Role,
    WorkOrder,
)
from recorder.outbound import CLERK_ASKED
from recorder.outbound_models import OptOut, OutboundTask, TaskKind, TaskState
from recorder.reception_log import new_entry
from recorder.staff import add_user
from recorder.work_orders import complete, dispatch
from tests.sip.conftest import SHORT_CLOSING, Site, udp_port
from tests.sip.peers import baresip
from tests.sip.test_agent_calls import AgentFactory, _ended
from tests.sip.test_clerk_busy import _sipp_phone
from tests.support.processes import wait_until
from transcripts.pipeline import Pipeline

RESIDENT = "13800138000"
SITE_NAME, SITE_NUMBER = "幸福家园物业", "057188880000"
SURVEY_INTRO = "您好，幸福家园，8001号，回访{unit}。"
SURVEY_QUESTION = "满意请按1。"
OUTBOUND = {
    "outbound__enabled": "true",
    "outbound__hours": '"00:00-24:00"',  # any time of day the suite runs
    "outbound__follow_up_after_hours": "0",  # due as soon as the work is returned
    "outbound__poll_s": "0.5",
    "outbound__ring_timeout_s": "10",
    "outbound__comment_silence_s": "1.0",  # the silent resident's comment ends soon
}


@pytest.fixture(scope="module")
def short_config(short_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The suite's short script with a short survey whose closings are its closing (one
    synthesis for all, from the prompt cache): the call, not the voice, is under test."""
    target = tmp_path_factory.mktemp("outbound-config") / "config"
    shutil.copytree(short_config, target)
    script = target / "scripts" / "zh-CN.toml"
    short = {"survey_intro": SURVEY_INTRO, "survey_question": SURVEY_QUESTION}
    # Key 0's transfer prompt and the clerk's whisper, short too.
    bridge = {"transfer": "请稍等。", "whisper": "{unit}", "call_back_greeting": "您好，回电。"}
    lines = []
    for line in script.read_text(encoding="utf-8").splitlines():
        name = line.split(" = ")[0]
        survey = name.startswith(("survey", "letter_"))
        said = short.get(name.replace("letter_", "survey_"), SHORT_CLOSING) if survey else None
        said = bridge.get(name, said)
        lines.append(line if said is None else f'{name} = "{said}"')
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def test_the_agent_calls_a_resident_whose_key_1_is_the_entrys_satisfied_follow_up(
    agent: AgentFactory, kamailio_from_auth: int, tmp_path: Path, short_config: Path
) -> None:
    kamailio = kamailio_from_auth  # From user must be the account it authenticates
    shown = {"sip__caller_id_name": f'"{SITE_NAME}"', "sip__caller_id_number": f'"{SITE_NUMBER}"'}
    with (
        agent(
            "--registrar",
            f"127.0.0.1:{kamailio}",
            "--user",
            "agent",
            "--password",
            "s3cret",
            **OUTBOUND,
            **shown,
        ) as site,
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
    # The resident's phone was shown the site's caller ID (sip.caller_id_*), through a
    # Kamailio that authenticates the agent's INVITE and refuses a From user other than
    # the account: From keeps the account with the site's name, P-Asserted-Identity
    # carries the site's number.
    invite = _received_invite(tmp_path)
    assert f'From: "{SITE_NAME}" <sip:agent@127.0.0.1' in invite, invite
    assert f'P-Asserted-Identity: "{SITE_NAME}" <sip:{SITE_NUMBER}@127.0.0.1' in invite, invite


def _received_invite(tmp_path: Path) -> str:
    """The INVITE the resident's SIPp received (its -trace_msg log)."""
    (log,) = tmp_path.glob(f"{RESIDENT}-uas_survey_*_messages.log")
    text = log.read_text(encoding="utf-8", errors="replace")
    start = text.index("INVITE sip:")
    return text[start : text.index("\n\n", start)]


def test_key_0_puts_the_resident_through_to_the_duty_clerks_baresip_recorded(
    agent: AgentFactory, kamailio: int, tmp_path: Path, short_config: Path
) -> None:
    account = (
        f'<sip:8002@127.0.0.1>;regint=60;outbound="sip:127.0.0.1:{kamailio}";'
        "audio_codecs=PCMU/8000/1;answermode=auto"
    )
    with (
        baresip(tmp_path, udp_port(), account),
        agent("--registrar", f"127.0.0.1:{kamailio}", "--user", "agent", **OUTBOUND) as site,
        _sipp_phone(
            tmp_path,
            kamailio,
            RESIDENT,
            "uas_survey_bridge.xml",
            KEY_AT_MS="1000",
            KEY="0",
            HOLD_MS="6500",  # the transfer prompt, the ring, the whisper: about 3 s,
        ) as resident,
    ):
        wait_until(
            lambda: "200 OK" in (tmp_path / "baresip.log").read_text(errors="replace"),
            20,
            "the clerk's phone to register",
        )
        with site.sessions.begin() as s:
            clerk = add_user(
                s, "wangfang", "王芳", "1024", Role.CLERK, "pw-1024-long", extension="8002"
            )
            _completed_repair(s)
            clerk_id = clerk.id
        # The resident pressed 0, was put through, talked and hung up itself.
        assert resident.wait(timeout=60) == 0
        wait_until(lambda: _state(site) is TaskState.DONE, 20, "the answer on the task")
        (stored,) = _ended(site)
        with site.sessions() as s:
            legs = list(s.scalars(select(CallLeg)))
            recordings = [r.channels for r in s.scalars(select(Recording).order_by(Recording.id))]
            asked = s.scalars(select(AuditEvent.action)).all()
        task = _task(site)
        clerk_log = (tmp_path / "baresip.log").read_text(errors="replace")
    assert (stored.direction, stored.disposition) == (Direction.OUTBOUND, Disposition.ANSWERED)
    assert (stored.ended_in, stored.hangup_cause) == ("bridge", "caller BYE")
    assert (stored.answered_by, stored.answered_by_user_id) == (AnsweredBy.STAFF, clerk_id)
    assert [(leg.extension, leg.user_id, leg.result) for leg in legs] == [
        ("8002", clerk_id, LegResult.ANSWERED)
    ]
    assert legs[0].ring_seconds < 3.0  # baresip answers at once
    assert recordings == ["caller", "caller,staff"]
    assert "Call established" in clerk_log, clerk_log[-2000:]
    assert task.result == "clerk"
    assert CLERK_ASKED not in asked, "put through: the desk is not also asked to call back"


def test_a_missed_call_is_called_back_reached_and_leaves_the_call_back_list(
    agent: AgentFactory, kamailio: int, tmp_path: Path, short_config: Path
) -> None:
    with (
        agent(
            "--registrar",
            f"127.0.0.1:{kamailio}",
            "--user",
            "agent",
            **OUTBOUND,
            outbound__call_back="true",
        ) as site,
        _sipp_phone(
            tmp_path,
            kamailio,
            RESIDENT,
            "uas_survey_bridge.xml",
            KEY_AT_MS="1500",  # in the greeting or the menu: a key, as a resident would
            KEY="1",
            HOLD_MS="1500",  # then hangs up itself
        ) as resident,
    ):
        with site.sessions.begin() as s:
            entry_id = _missed_call(s)
            assert [g.entries for g in missed_calls.waiting(s)] == [[entry_id]]
        assert resident.wait(timeout=60) == 0
        wait_until(lambda: _state(site) is TaskState.DONE, 20, "the call-back on the task")
        (stored,) = [c for c in _ended(site, 2) if c.direction is Direction.OUTBOUND]
        with site.sessions() as s:
            entry = s.get_one(LogEntry, entry_id)
            waiting = missed_calls.waiting(s)
        task = _task(site)
    assert (stored.called_number, stored.disposition) == (RESIDENT, Disposition.ANSWERED)
    assert (task.kind, task.result, task.history[-1]["call_id"]) == (
        TaskKind.CALL_BACK,
        "reached",
        stored.call_id,
    )
    assert entry.status is EntryStatus.DONE
    assert "自动回电：已接通" in (entry.handling or "")
    assert waiting == [], "reached: the missed call left the call-back list"


def _missed_call(s: Session) -> int:
    """A call the desk missed two minutes ago, waiting on the call-back list."""
    at = datetime.now(UTC) - timedelta(minutes=2)
    call = Call(
        call_id="missed-1@test",
        direction=Direction.INBOUND,
        caller_number=RESIDENT,
        invite_at=at,
        ended_at=at + timedelta(seconds=20),
        disposition=Disposition.MISSED,
    )
    s.add(call)
    s.flush()
    entry = new_entry(
        s,
        {"call_pk": call.id, "received_at": at, "caller_number": RESIDENT, "summary": "未接来电"},
        FieldSource.AUTO,
    )
    s.flush()
    return entry.id


def _completed_repair(s: Session, number: str = RESIDENT) -> int:
    now = datetime.now(UTC)
    entry = new_entry(
        s,
        {
            "received_at": now - timedelta(hours=5),
            "caller_number": number,
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
    return entry.id


def _task(site: Site) -> OutboundTask:
    with site.sessions() as s:
        return s.scalars(select(OutboundTask)).one()


def _state(site: Site) -> TaskState | None:
    with site.sessions() as s:
        return s.scalar(select(OutboundTask.state))


# Each way a survey call can end, with real phones (issue 22's tests: each key path, busy,
# never answering, rejecting): one agent, six SIPp residents registered with Kamailio, six
# completed repairs due at once, called side by side.
ENDINGS = {
    # number: (scenario, what the scenario's text gets, the task's state, its result or
    # last attempt)
    "13800138002": ("uas_survey.xml", {"KEY_AT_MS": "1000", "KEY": "2"}, "not_satisfied"),
    "13800138003": ("uas_survey.xml", {"KEY_AT_MS": "1000", "KEY": "3"}, "not_fixed"),
    "13800138009": ("uas_survey.xml", {"KEY_AT_MS": "1000", "KEY": "9"}, "opted_out"),
    "13800138486": ("uas_busy.xml", {"RING_MS": "500"}, "busy"),
    "13800138603": ("uas_busy.xml", {"RING_MS": "500", "486 Busy Here": "603 Decline"}, "rejected"),
    "13800138480": ("uas_no_answer.xml", {}, "no_answer"),
}


def test_each_way_a_survey_call_ends_is_kept_on_its_task_and_entry(
    agent: AgentFactory, kamailio: int, tmp_path: Path, short_config: Path
) -> None:
    """What is kept: keys 2 and 3 as reached follow-ups, not satisfied (3 reopens the work
    with a new order for the same department); 9 as the number's opt-out; busy (486),
    rejected (603) and never answered (CANCEL at ring_timeout_s) as the attempt each was,
    the task waiting for its next attempt with one attempt spent, and each call in the call
    log as an outbound call with its cause."""
    endings = {**OUTBOUND, "outbound__ring_timeout_s": "3", "outbound__max_calls": "6"}
    with contextlib.ExitStack() as stack:
        site = stack.enter_context(
            agent("--registrar", f"127.0.0.1:{kamailio}", "--user", "agent", **endings)
        )
        for number, (scenario, values, _) in ENDINGS.items():
            stack.enter_context(_sipp_phone(tmp_path, kamailio, number, scenario, **values))
        with site.sessions.begin() as s:
            entries = {number: _completed_repair(s, number) for number in ENDINGS}

        def settled() -> bool:
            with site.sessions() as s:
                tasks = s.scalars(select(OutboundTask)).all()
                return len(tasks) == len(ENDINGS) and all(
                    t.state is not TaskState.CALLING and t.last_attempt for t in tasks
                )

        wait_until(settled, 60, "every survey call to end")
        wait_until(lambda: len(_ended_calls(site)) == len(ENDINGS), 20, "the calls' ends")
        with site.sessions() as s:
            tasks = {t.number: t for t in s.scalars(select(OutboundTask))}
            follows = {f.entry_id: f for f in s.scalars(select(FollowUp))}
            orders = s.scalars(
                select(WorkOrder.department).where(WorkOrder.entry_id == entries["13800138003"])
            ).all()
            opted = s.scalars(select(OptOut.number)).all()
            calls = {c.called_number: c for c in s.scalars(select(Call))}
    outcome = {
        n: (t.result if t.state is TaskState.DONE else t.last_attempt) for n, t in tasks.items()
    }
    assert outcome == {number: ending[2] for number, ending in ENDINGS.items()}
    for key in ("13800138002", "13800138003"):
        follow = follows[entries[key]]
        assert (follow.reached, follow.satisfied) == (True, False), key
    assert orders == ["工程部", "工程部"]  # 3: not yet fixed, the work reopened
    assert opted == ["13800138009"]
    for number in ("13800138486", "13800138603", "13800138480"):
        task = tasks[number]
        assert (task.state, task.attempts_left) == (TaskState.DUE, 2), number
        assert entries[number] not in follows, number  # not reached: no follow-up
    assert {c.direction for c in calls.values()} == {Direction.OUTBOUND}
    assert [calls[n].disposition for n in ("13800138002", "13800138003", "13800138009")] == [
        Disposition.ANSWERED
    ] * 3
    causes = {n: calls[n].hangup_cause for n in ("13800138486", "13800138603", "13800138480")}
    assert causes == {
        "13800138486": "486 busy",
        "13800138603": "603 rejected",
        "13800138480": "CANCEL no_answer",
    }


def _ended_calls(site: Site) -> list[Call]:
    with site.sessions() as s:
        return list(s.scalars(select(Call).where(Call.ended_at.is_not(None))))
