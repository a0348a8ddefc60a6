"""The agent's outgoing RTP with real SIPp callers on lo, seen by tshark: sent in the
caller's packet time (adapter fix 27), and by the RTP sender process, which may be
killed mid-call: the call it carried is then ended cleanly and the process started
again (issue 17; fix 28 kept such a call going from the pacer's own thread).

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
from tests.sip.test_dialogs import _capture, _recording, _scenario, _trace
from tests.sip.test_ops_agent import _get, _samples
from tests.sip.test_pacing import _assert_paced, _rtp_streams
from tests.support.processes import children, free_port, wait_until


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


def test_the_rtp_sender_process_killed_mid_call_ends_the_call_cleanly_and_is_restarted(
    agent: AgentFactory, tmp_path: Path
) -> None:
    """SIGKILL to the agent's RTP sender process (the media plane, issue 17) 3 s into a
    call. The call's greeting and silence were the child's to send, so the call must not
    go on silent: the agent ends it with a BYE (the caller answers 200) within a second.
    What is kept: the call record (answered, cause "media
    fault", not abandoned by the caller), the recording of the caller up to the end, the agent's stream to the caller
    up to the kill, an ALARM line in the log, the metrics (one restart, one call ended),
    and a new sender process, started again by the agent."""
    audio, _sent = caller_audio(tmp_path, "PCMU")
    caller = _scenario(
        tmp_path,
        "uac_agent_bye.xml",
        AUDIO_FILE=audio,
        PAYLOAD=0,
        CODEC="PCMU",
        PTIME=20,
        ANSWER_AFTER_MS=0,
    )
    health = f"127.0.0.1:{free_port()}"
    settings = {"agent__record_seconds": "20.0", "agent__health_listen": f'"{health}"'}
    with agent(**settings) as site, _capture(tmp_path) as capture:
        (sender,) = children(site.pid)
        done: list[subprocess.CompletedProcess[str]] = []
        calling = threading.Thread(target=lambda: done.append(_call(site, caller, tmp_path)))
        calling.start()
        time.sleep(3.0)  # answered after one ring (1 s), then 2 s of the call
        os.kill(sender, signal.SIGKILL)
        killed = time.monotonic()
        calling.join(60)
        (out,) = done
        assert out.returncode == 0, out.stdout[-2000:]  # the caller got the BYE and said 200
        assert time.monotonic() - killed < 10
        (call,) = _ended(site)
        assert (call.disposition, call.hangup_cause) == (Disposition.ANSWERED, "media fault")
        assert 1.5 < (call.ended_at - call.answered_at).total_seconds() < 4.0
        recorded = _recording(site)
        assert 1.0 * 8000 < len(recorded) < 4.0 * 8000
        log = site.log.read_text(errors="replace")
        assert "the RTP sender process died" in log and "ALARM" in log
        wait_until(lambda: children(site.pid) not in ([], [sender]), 5, "a new sender process")
        metrics = _samples(_get(f"http://{health}/metrics")[1])
        assert metrics[("hotline_agent_rtp_sender_restarts_total", ())] == 1.0
        assert metrics[("hotline_agent_media_fault_calls_total", ())] == 1.0
    rows = _agent_stream(tmp_path, caller.stem, capture)
    seq = rows[:, 1].astype(int)
    assert int(np.sum(np.diff(seq) % 65536 - 1)) == 0  # nothing lost before the kill
    assert 1.0 < rows[-1, 0] - rows[0, 0] < 3.0  # the greeting and silence, until the kill
