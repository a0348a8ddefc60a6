"""The call flow (agent.mode = "flow") against a real caller (SIPp) on loopback.

The caller hears the greeting and the menu, presses 1 (repairs) with RFC
2833, hears the request for details and the beep, speaks, presses #, and is
thanked and hung up on by the agent. What is kept: the call record (answered,
ended in the closing by the agent), the recording of what the caller said,
and the order of the prompts in the agent's own account of the call.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
from sqlalchemy import select

from recorder.models import Call, Disposition, Recording, RecordingState
from tests.sip.conftest import HERE, sipp
from tests.sip.peers import prompt_seconds
from tests.sip.test_agent_calls import AgentFactory, _ended, best_correlation, caller_audio

FLOW = {
    "agent__mode": '"flow"',
    "organization__opening_hours": '"00:00-24:00"',  # never after hours in this test
    # Direct mode: clerks' phones are reached by address (nobody is on duty here).
    "sip__clerk_uri_template": '"sip:{extension}@127.0.0.1:9"',
}


def test_a_caller_chooses_repairs_and_leaves_a_message(
    agent: AgentFactory, tmp_path: Path, short_config: Path
) -> None:
    audio, sent = caller_audio(tmp_path, "PCMU")
    with agent(**FLOW) as site:
        greeting = prompt_seconds(site, short_config, "greeting")
        ask = prompt_seconds(site, short_config, "ask_details")
        # Press 1 one second into the menu (it may be cut short: barge-in), then
        # wait for the request for details and the beep before speaking.
        key_at = greeting + 1.0
        speak_at = ask + 0.4 + 1.5
        text = (
            (HERE / "scenarios" / "uac_flow.xml")
            .read_text()
            .replace("KEY_AT_MS", str(int(key_at * 1000)))
            .replace("dtmf_2833_KEY", "dtmf_2833_1")
            .replace("SPEAK_AT_MS", str(int(speak_at * 1000)))
            .replace("SPEECH_MS", str(len(sent) * 1000 // 8000 + 500))
            .replace("AUDIO_FILE", str(audio))
        )
        path = tmp_path / "uac_flow.xml"
        path.write_text(text)
        out = sipp(site.address, "-sf", str(path), "-s", "agent", cwd=tmp_path, timeout=90)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        (call,) = _ended(site)
        assert call.disposition is Disposition.ANSWERED
        assert call.ended_in == "closing" and call.hangup_cause == "agent BYE"
        with site.sessions() as s:
            recordings = list(s.scalars(select(Recording)))
        assert [r.channels for r in recordings] == ["caller"]
        (rec,) = recordings
        assert rec.state is RecordingState.COMPLETE and rec.sha256
        with wave.open(site.file(rec.path)) as wav:
            recorded = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        # What the caller said after the beep is in the recording, faithfully: the
        # caller sent nothing before it, and Playout no longer reads at the edge
        # after such a silent start (it did, and dropped late packets: 0.83-0.94).
        assert best_correlation(sent, recorded.astype(np.float64)) >= 0.99
        log = site.log.read_text(errors="replace")
        assert "call flow ended in closing" in log
        with site.sessions() as s:
            assert s.scalars(select(Call)).one().caller_number == "13800138000"
