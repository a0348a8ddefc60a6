"""Bridging to the duty clerk: a SIPp caller presses 0, the agent rings the clerk's
phone (a real baresip that answers by itself), whispers, and joins them.

What is kept: the call record (answered, the caller hung up during the
bridge), two recordings — the agent's part in mono, the bridged part in two
channels, left the caller and right the clerk, each side what that side
really sent — and the clerk's phone hearing the caller.
"""

from __future__ import annotations

import json
import re
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from recorder.models import (
    AnsweredBy,
    Call,
    Disposition,
    Recording,
    RecordingState,
    Role,
    User,
)
from recorder.staff import add_user
from tests.sip.conftest import sipp, udp_port
from tests.sip.peers import baresip, flow_scenario, prompt_seconds
from tests.sip.test_agent_calls import AgentFactory, _ended, best_correlation, caller_audio
from tests.support.processes import wait_until


@pytest.fixture
def clerk_phone(tmp_path: Path) -> Iterator[tuple[int, np.ndarray, Path]]:
    """The clerk's phone reached by address (direct mode, no registrar)."""
    port = udp_port()
    account = f"<sip:8002@127.0.0.1:{port}>;regint=0;audio_codecs=PCMU/8000/1;answermode=auto"
    with baresip(tmp_path, port, account) as phone:
        yield port, phone.said, phone.home


def test_a_caller_who_presses_0_is_bridged_to_the_duty_clerk(
    agent: AgentFactory,
    tmp_path: Path,
    short_config: Path,
    clerk_phone: tuple[int, np.ndarray, Path],
) -> None:
    clerk_port, clerk_said, clerk_home = clerk_phone
    audio, caller_said = caller_audio(tmp_path, "PCMU")
    with agent(
        agent__mode='"flow"',
        organization__opening_hours='"00:00-24:00"',
        sip__clerk_uri_template=f'"sip:{{extension}}@127.0.0.1:{clerk_port}"',
    ) as site:
        with site.sessions.begin() as s:
            add_user(s, "wangfang", "王芳", "1024", Role.CLERK, "pw-1024-long", extension="8002")
        greeting = prompt_seconds(site, short_config, "greeting")
        transfer = prompt_seconds(site, short_config, "transfer")
        # 0 during the menu; speak once the transfer prompt, the ringing and the
        # whisper to the clerk are over (a generous 6 s for the last two); the
        # caller hangs up itself once it has spoken (no # in a conversation).
        scenario = flow_scenario(
            tmp_path, audio, len(caller_said) / 8000, greeting + 1.0, transfer + 6.0
        )
        out = sipp(site.address, "-sf", str(scenario), "-s", "agent", cwd=tmp_path, timeout=120)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        (call,) = _ended(site)
        assert call.disposition is Disposition.ANSWERED
        assert (call.ended_in, call.hangup_cause) == ("bridge", "caller BYE")
        with site.sessions() as s:
            recordings = list(s.scalars(select(Recording).order_by(Recording.id)))
            stored = s.scalars(select(Call)).one()
            clerk_id = s.scalars(select(User.id).where(User.username == "wangfang")).one()
            assert stored.caller_number == "13800138000"
            # The clerk who took the call is who answered it: the entry's first receiver.
            assert (stored.answered_by, stored.answered_by_user_id) == (AnsweredBy.STAFF, clerk_id)
            assert stored.ring_count == 1  # the agent's answer, within three rings
        # The live desk was told each stage as it came (the journal keeps the events):
        # greeting, the menu, ringing the clerks, then put through to 王芳.
        stages = [
            (event["args"]["stage"], event["args"]["detail"])
            for path in sorted((site.root / "var" / "journal").glob("*.jsonl"))
            for event in map(json.loads, path.read_text(encoding="utf-8").splitlines())
            if event["event"] == "call_stage"
        ]
        assert stages[:3] == [("greeting", {}), ("menu", {}), ("bridge", {})], stages
        assert ("bridge", {"extension": "8002", "user_id": clerk_id}) in stages, stages
        assert [r.channels for r in recordings] == ["caller", "caller,staff"]
        assert all(r.state is RecordingState.COMPLETE and r.sha256 for r in recordings)
        with wave.open(site.file(recordings[1].path)) as wav:
            assert wav.getnchannels() == 2
            both = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        left, right = both[0::2].astype(np.float64), both[1::2].astype(np.float64)
        # Left: what the caller said after the bridge, faithfully.
        assert best_correlation(caller_said, left) >= 0.97  # measured 0.9999
        # Right: two seconds of what the clerk's phone sent, found in its source.
        loud = int(np.argmax(np.convolve(np.abs(right), np.ones(8000), "valid")))
        window = right[loud : loud + 16000]
        assert len(window) == 16000
        assert best_correlation(window, clerk_said) >= 0.97  # measured 0.9999
        log = site.log.read_text(errors="replace")
        assert "bridged to the clerk" in log
    # The clerk's phone heard the caller (baresip's sndfile dump of what it decoded).
    heard = sorted(clerk_home.glob("dump-*-dec.wav"))
    assert heard, list(clerk_home.iterdir())
    data = heard[0].read_bytes()  # killed, so the header may not hold the length
    samples = data[data.index(b"data") + 8 :]
    clerk_heard = np.frombuffer(samples[: len(samples) // 2 * 2], dtype="<i2").astype(np.float64)
    assert best_correlation(caller_said[: 8000 * 2], clerk_heard) >= 0.95  # measured 0.9999


@pytest.mark.parametrize("proxy", ["kamailio", "kamailio_rr"])
def test_through_kamailio_a_clerk_not_registered_is_passed_over_for_the_next(
    agent: AgentFactory,
    proxy: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    short_config: Path,
) -> None:
    """Registered mode: the agent, the caller and the clerks' phones all go through a real
    Kamailio. The first clerk on the roster has no phone registered (Kamailio: 404), so
    the agent rings the next, whose baresip answers; the bridge is recorded and the
    clerk who answered is the call's first receiver.

    With kamailio_rr, Kamailio record-routes and takes requests inside a dialog only by
    their Route (else 404): the agent's ACK and BYE to the clerk carry the route set of
    the clerk's 200 OK (adapter fix 29), and the clerk's phone sees the BYE."""
    kamailio: int = request.getfixturevalue(proxy)
    port = udp_port()
    account = (
        f'<sip:8002@127.0.0.1>;regint=60;outbound="sip:127.0.0.1:{kamailio}";'
        "audio_codecs=PCMU/8000/1;answermode=auto"
    )
    audio, caller_said = caller_audio(tmp_path, "PCMU")
    with (
        baresip(tmp_path, port, account),
        agent(
            "--registrar",
            f"127.0.0.1:{kamailio}",
            "--user",
            "agent",
            agent__mode='"flow"',
            organization__opening_hours='"00:00-24:00"',
        ) as site,
    ):
        wait_until(
            lambda: "200 OK" in (tmp_path / "baresip.log").read_text(errors="replace"),
            20,
            "the clerk's phone to register",
        )
        with site.sessions.begin() as s:
            add_user(s, "lisi", "李四", "1023", Role.CLERK, "pw-1023-long", extension="8003")
            add_user(s, "wangfang", "王芳", "1024", Role.CLERK, "pw-1024-long", extension="8002")
        greeting = prompt_seconds(site, short_config, "greeting")
        transfer = prompt_seconds(site, short_config, "transfer")
        scenario = flow_scenario(
            tmp_path,
            audio,
            len(caller_said) / 8000,
            greeting + 1.0,
            transfer + 7.0,
            routed=proxy == "kamailio_rr",
        )
        out = sipp(
            f"127.0.0.1:{kamailio}", "-sf", str(scenario), "-s", "agent", cwd=tmp_path, timeout=120
        )
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        _ended(site)
        with site.sessions() as s:
            stored = s.scalars(select(Call)).one()
            answered_by = s.get(User, stored.answered_by_user_id)
            recordings = list(s.scalars(select(Recording).order_by(Recording.id)))
        assert (stored.disposition, stored.ended_in) == (Disposition.ANSWERED, "bridge")
        assert answered_by is not None and answered_by.username == "wangfang"
        assert [r.channels for r in recordings] == ["caller", "caller,staff"]
        with wave.open(site.file(recordings[1].path)) as wav:
            both = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        assert best_correlation(caller_said, both[0::2].astype(np.float64)) >= 0.97
        log = site.log.read_text(errors="replace")
        assert "sip:8003@" in log and "sip:8002@" in log  # the roster, in order
    if proxy == "kamailio_rr":
        routed = re.findall(
            r"IN-DIALOG (\w+) from 127\.0\.0\.1:(\d+) route=\[(.*?)\]",
            (tmp_path / "kamailio.log").read_text(errors="replace"),
        )
        by_agent = [(method, route) for method, source, route in routed if int(source) == site.port]
        assert {method for method, _ in by_agent} >= {"ACK", "BYE"}, routed
        assert all(r.startswith(f"<sip:127.0.0.1:{kamailio};lr") for _, r in by_agent), by_agent
        clerk = (tmp_path / "baresip.log").read_text(errors="replace")
        assert re.search(r"Call with sip:agent@\S+ terminated \(duration", clerk), clerk[-2000:]
