"""The agent's outgoing RTP with real SIPp callers on lo, seen by tshark: sent in the
caller's packet time (adapter fix 27), and by the RTP sender process, which may be
killed mid-call without ending the call (fix 28).

What each test keeps: the call record, the recording of the caller (correlated with
what SIPp sent) and the agent's stream as it went over the wire.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

from recorder.models import Disposition
from tests.sip.conftest import Site, sipp
from tests.sip.test_agent_calls import (
    AgentFactory,
    _ended,
    best_correlation,
    caller_audio,
    scenario,
)
from tests.sip.test_dialogs import _capture, _recording, _trace
from tests.sip.test_pacing import _assert_paced, _rtp_streams
from tests.support.processes import children


def _call(site: Site, caller: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return sipp(
        site.address, "-sf", str(caller), "-s", "agent", "-trace_msg", cwd=tmp_path, timeout=60
    )


def _agent_stream(tmp_path: Path, name: str, capture: Path) -> np.ndarray:
    """The rows (time, seq, timestamp, pt, marker) of the agent's one stream to SIPp: from
    the port its 200 OK's m=audio named."""
    (answer,) = [m for m in _trace(tmp_path, name) if m.startswith("SIP/2.0 200 OK")][:1]
    port = next(int(line.split()[1]) for line in answer.splitlines() if line.startswith("m=audio"))
    (rows,) = [rows for (src, _dst), rows in _rtp_streams(capture).items() if src == port]
    return rows


def test_a_caller_asking_for_30_ms_packets_gets_them_paced(
    agent: AgentFactory, tmp_path: Path
) -> None:
    """The caller's offer says a=ptime:30: the agent's stream (greeting, then silence)
    goes out in 30 ms packets of 240 samples, every one sent, on a 30 ms clock."""
    audio, sent = caller_audio(tmp_path, "PCMU")
    caller = scenario(tmp_path, audio, "PCMU", 7000, ptime=30)
    with agent(agent__record_seconds="20.0") as site, _capture(tmp_path) as capture:
        out = _call(site, caller, tmp_path)
        assert out.returncode == 0, out.stdout[-2000:]
        (call,) = _ended(site)
        assert call.disposition is Disposition.ANSWERED and call.hangup_cause == "caller BYE"
        recorded = _recording(site)
    rows = _agent_stream(tmp_path, caller.stem, capture)
    assert len(rows) > 100
    _assert_paced(rows, ptime_ms=30)
    assert best_correlation(sent, recorded) >= 0.99


def test_the_rtp_sender_process_killed_mid_call_leaves_the_call_going(
    agent: AgentFactory, tmp_path: Path
) -> None:
    """SIGKILL to the agent's RTP sender process 2 s into a 7 s call. What is kept: the
    call (answered, ended by the caller's BYE), the recording of the caller (correlation
    >= 0.99), and the agent's stream to the caller, which goes on from the pacer's own
    thread after at most the packets the child held (10 ms of audio) and one short gap;
    the agent's log says what happened."""
    audio, sent = caller_audio(tmp_path, "PCMU")
    caller = scenario(tmp_path, audio, "PCMU", 7000)
    with agent(agent__record_seconds="20.0") as site, _capture(tmp_path) as capture:
        (sender,) = children(site.pid)
        done: list[subprocess.CompletedProcess[str]] = []
        calling = threading.Thread(target=lambda: done.append(_call(site, caller, tmp_path)))
        calling.start()
        time.sleep(3.0)  # answered after one ring (1 s), then 2 s of the call
        os.kill(sender, signal.SIGKILL)
        calling.join(60)
        (out,) = done
        assert out.returncode == 0, out.stdout[-2000:]
        (call,) = _ended(site)
        assert call.disposition is Disposition.ANSWERED and call.hangup_cause == "caller BYE"
        recorded = _recording(site)
        assert "the RTP sender process is gone" in site.log.read_text(errors="replace")
    rows = _agent_stream(tmp_path, caller.stem, capture)
    seq = rows[:, 1].astype(int)
    missing = int(np.sum(np.diff(seq) % 65536 - 1))
    assert missing <= 2, missing
    gaps = np.diff(rows[:, 0]) * 1000
    assert gaps.max() < 60, f"a gap of {gaps.max():.1f} ms"
    assert rows[-1, 0] - rows[0, 0] > 5.0  # the stream went on to the caller's BYE
    assert best_correlation(sent, recorded) >= 0.99
