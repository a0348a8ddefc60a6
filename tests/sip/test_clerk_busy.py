"""The duty roster when clerks are busy or do not answer, end to end through a real Kamailio.

A SIPp caller presses 0. The first clerk's phone is a real SIPp phone,
registered in Kamailio, that rings briefly and answers 486 Busy Here; the
agent passes to the next clerk on the roster. In the first test that is a
baresip phone that answers by itself, and the caller ends bridged with it.
In the second the next phone rings until the agent gives up (CANCEL after
the flow's ring time), and the caller leaves a message instead, owned by the
first duty clerk (首问责任制, seed 000 1.4; the flow's [person] section).

What is kept: the call record (answered; ended in the bridge or in the
closing; who answered: the second clerk, or the agent), one call_legs row per
phone rung in roster order with its ring time and result, the recordings
(two channels once bridged; the message in the caller's recording), and the
reception-log entry whose responsible person is the first duty clerk.
"""

from __future__ import annotations

import subprocess
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from hotline.content import load_content
from hotline.settings import Settings
from recorder.models import (
    AnsweredBy,
    Call,
    CallLeg,
    Disposition,
    LegResult,
    LogEntry,
    Recording,
    Role,
)
from recorder.staff import add_user
from tests.sip.conftest import HERE, sipp, udp_port
from tests.sip.peers import baresip, flow_scenario, prompt_seconds
from tests.sip.test_agent_calls import AgentFactory, _ended, best_correlation, caller_audio
from tests.support.processes import require_tool, running, wait_until
from transcripts.pipeline import Pipeline

FLOW = {
    "agent__mode": '"flow"',
    "organization__opening_hours": '"00:00-24:00"',  # never after hours in these tests
}
#: How a phone's 486 shows in call_legs: busy, from the final status of the agent's
#: INVITE (SipCall.final_status, adapter fix 24), not a phone that never answered.
REFUSED = LegResult.BUSY


@contextmanager
def _sipp_phone(
    tmp_path: Path, registrar: int, extension: str, scenario: str, **values: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A clerk's desk phone played by SIPp (`scenario`), registered as `extension`."""
    port = udp_port()
    text = (HERE / "scenarios" / scenario).read_text()
    for key, value in values.items():
        text = text.replace(key, value)
    phone = tmp_path / f"{extension}-{scenario}"
    phone.write_text(text)
    argv = [require_tool("sipp"), "-sf", str(phone), "-i", "127.0.0.1", "-p", str(port)]
    # -trace_msg: what the phone received is read by tests (the INVITE's caller ID).
    argv += ["-m", "1", "-timeout", "100", "-timeout_error", "-trace_err", "-trace_msg"]
    with running(argv, log=tmp_path / f"sipp-{extension}.log", cwd=tmp_path) as proc:
        register = tmp_path / f"register-{extension}.xml"
        register.write_text(
            (HERE / "scenarios" / "register.xml")
            .read_text()
            .replace("EXTENSION", extension)
            .replace("CONTACT_PORT", str(port))
        )
        out = sipp(f"127.0.0.1:{registrar}", "-sf", str(register), cwd=tmp_path, timeout=30)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        yield proc


def _legs(site_sessions: object, call_pk: int) -> list[CallLeg]:
    with site_sessions() as s:  # type: ignore[operator]
        return list(s.scalars(select(CallLeg).where(CallLeg.call_pk == call_pk)))


def _user_ids(site_sessions: object) -> dict[str, int]:
    with site_sessions.begin() as s:  # type: ignore[attr-defined]
        # Roster order is the order they were added in (recorder.staff.duty_roster).
        first = add_user(s, "lisi", "李四", "1023", Role.CLERK, "pw-1023-long", extension="8003")
        second = add_user(
            s, "wangfang", "王芳", "1024", Role.CLERK, "pw-1024-long", extension="8002"
        )
        s.flush()
        return {"first": first.id, "second": second.id}


def test_a_busy_clerk_is_passed_over_and_the_next_clerks_phone_answers(
    agent: AgentFactory, kamailio: int, tmp_path: Path, short_config: Path
) -> None:
    account = (
        f'<sip:8002@127.0.0.1>;regint=60;outbound="sip:127.0.0.1:{kamailio}";'
        "audio_codecs=PCMU/8000/1;answermode=auto"
    )
    audio, caller_said = caller_audio(tmp_path, "PCMU")
    with (
        baresip(tmp_path, udp_port(), account),
        agent("--registrar", f"127.0.0.1:{kamailio}", "--user", "agent", **FLOW) as site,
        _sipp_phone(tmp_path, kamailio, "8003", "uas_busy.xml", RING_MS="800") as busy,
    ):
        wait_until(
            lambda: "200 OK" in (tmp_path / "baresip.log").read_text(errors="replace"),
            20,
            "the clerk's phone to register",
        )
        users = _user_ids(site.sessions)
        greeting = prompt_seconds(site, short_config, "greeting")
        transfer = prompt_seconds(site, short_config, "transfer")
        # Speak once the transfer prompt, the busy phone (0.8 s), the answer and the
        # whisper are over; a generous 8 s for all but the prompt.
        scenario = flow_scenario(
            tmp_path, audio, len(caller_said) / 8000, greeting + 1.0, transfer + 8.0
        )
        out = sipp(
            f"127.0.0.1:{kamailio}", "-sf", str(scenario), "-s", "agent", cwd=tmp_path, timeout=120
        )
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        assert busy.wait(timeout=30) == 0  # it was rung, said 486 and got its ACK
        _ended(site)
        with site.sessions() as s:
            stored = s.scalars(select(Call)).one()
            recordings = list(s.scalars(select(Recording).order_by(Recording.id)))
        legs = _legs(site.sessions, stored.id)
        log = site.log.read_text(errors="replace")
    assert (stored.disposition, stored.ended_in) == (Disposition.ANSWERED, "bridge")
    # Who answered: the second clerk, a member of staff, not the agent.
    assert (stored.answered_by, stored.answered_by_user_id) == (AnsweredBy.STAFF, users["second"])
    assert [(leg.seq, leg.extension, leg.user_id, leg.result) for leg in legs] == [
        (1, "8003", users["first"], REFUSED),
        (2, "8002", users["second"], LegResult.ANSWERED),
    ]
    # The first phone's 486 ended its ringing, not the flow's 20 s ring time.
    assert 0.7 <= legs[0].ring_seconds < 3.0, legs[0].ring_seconds
    assert legs[1].ring_seconds < 3.0  # baresip answers at once
    assert legs[1].rang_at >= legs[0].rang_at
    assert [r.channels for r in recordings] == ["caller", "caller,staff"]
    with wave.open(site.file(recordings[1].path)) as wav:
        both = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert best_correlation(caller_said, both[0::2].astype(np.float64)) >= 0.97
    assert "sip:8003@" in log and "sip:8002@" in log  # the roster, in order


@pytest.fixture
def four_second_rings(tmp_path: Path, short_config: Path) -> Path:
    """The default flow with each clerk rung for 4 s instead of 20 (the test's length)."""
    flow = tmp_path / "flow.toml"
    text = (short_config / "flows" / "default.toml").read_text(encoding="utf-8")
    assert text.count("ring_timeout_s = 20.0") == 1  # the [person] section's
    flow.write_text(text.replace("ring_timeout_s = 20.0", "ring_timeout_s = 4.0"), "utf-8")
    return flow


def test_when_no_clerk_answers_the_caller_leaves_a_message_owned_by_the_first_duty_clerk(
    agent: AgentFactory,
    kamailio: int,
    tmp_path: Path,
    short_config: Path,
    four_second_rings: Path,
) -> None:
    audio, sent = caller_audio(tmp_path, "PCMU")
    with (
        agent(
            "--registrar",
            f"127.0.0.1:{kamailio}",
            "--user",
            "agent",
            content__flow=f'"{four_second_rings}"',
            **FLOW,
        ) as site,
        _sipp_phone(tmp_path, kamailio, "8003", "uas_busy.xml", RING_MS="500") as busy,
        _sipp_phone(tmp_path, kamailio, "8002", "uas_no_answer.xml") as silent,
    ):
        users = _user_ids(site.sessions)
        seconds = {
            name: prompt_seconds(site, short_config, name)
            for name in ("greeting", "transfer", "clerk_unavailable", "ask_details")
        }
        # After 0: the transfer prompt, 0.5 s of the busy phone, 4 s of the silent one,
        # the apology, the request for details and the beep; then 2 s to spare.
        speak_at = (
            seconds["transfer"]
            + 0.5
            + 4.0
            + seconds["clerk_unavailable"]
            + seconds["ask_details"]
            + 0.4
            + 2.0
        )
        text = (
            (HERE / "scenarios" / "uac_flow.xml")
            .read_text()
            .replace("KEY_AT_MS", str(int((seconds["greeting"] + 1.0) * 1000)))
            .replace("dtmf_2833_KEY", "dtmf_2833_0")
            .replace("SPEAK_AT_MS", str(int(speak_at * 1000)))
            .replace("SPEECH_MS", str(len(sent) * 1000 // 8000 + 500))
            .replace("AUDIO_FILE", str(audio))
        )
        caller = tmp_path / "uac_message.xml"
        caller.write_text(text)
        out = sipp(
            f"127.0.0.1:{kamailio}", "-sf", str(caller), "-s", "agent", cwd=tmp_path, timeout=120
        )
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        assert busy.wait(timeout=30) == 0  # rung, 486, ACK
        assert silent.wait(timeout=30) == 0  # rung, CANCELed by the agent, 487, ACK
        (call,) = _ended(site)
        legs = _legs(site.sessions, call.id)
        with site.sessions() as s:
            (recording,) = s.scalars(select(Recording)).all()
        log = site.log.read_text(errors="replace")
        # The reception-log entry, made as the worker makes it (no speech model here:
        # the words wait for one, the entry and its owner do not).
        settings = Settings()
        pipeline = Pipeline(
            site.sessions, load_content(settings, short_config), settings, load_engine=lambda: None
        )
        outcome = pipeline.process_call(call.call_id)
        with site.sessions() as s:
            entry = s.get(LogEntry, outcome.entry_id)
            assert entry is not None
            responsible = entry.responsible_user_id
    assert call.disposition is Disposition.ANSWERED
    assert (call.ended_in, call.hangup_cause) == ("closing", "agent BYE")
    assert (call.answered_by, call.answered_by_user_id) == (AnsweredBy.AGENT, None)
    assert [(leg.seq, leg.extension, leg.user_id, leg.result) for leg in legs] == [
        (1, "8003", users["first"], REFUSED),
        (2, "8002", users["second"], LegResult.NO_ANSWER),
    ]
    assert 0.4 <= legs[0].ring_seconds < 3.0, legs[0].ring_seconds
    assert 3.9 <= legs[1].ring_seconds < 5.0, legs[1].ring_seconds  # the flow's ring time
    # The message: what the caller said is in the call's recording.
    with wave.open(site.file(recording.path)) as wav:
        recorded = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert best_correlation(sent, recorded.astype(np.float64)) >= 0.99
    assert "taking the message" in log and "call flow ended in closing" in log
    # 首问责任制: nobody answered, so the first duty clerk owns the message.
    assert responsible == users["first"]
