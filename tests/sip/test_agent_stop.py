"""Stopping the agent with calls in progress (issue 16: every thread started is joined).

The agent runs in this process, as `hotline agent` builds it (build_agent), so the
test can see every thread: SIPp callers reach it over loopback and are mid-greeting
when it stops. What is kept: each call in progress has its record (answered, ended,
"agent stopped", the stage it ended in) and its recording, closed and complete.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import select

from hotline.app import App
from hotline.commands.agent import build_agent
from hotline.settings import load_settings
from recorder.models import Call, RecordingState
from tests.sip.conftest import udp_port
from tests.support.processes import free_port, require_tool, wait_until

CALLS = 3
#: The threads a call adds while it is answered: the library's call thread (the agent's
#: handler runs on it) and the call's RTP receiver; retransmissions add none.
THREADS_PER_CALL = 2


def _config(tmp_path: Path, port: int) -> Path:
    rtp = free_port() // 10 * 10 % 40000 + 20000
    config = tmp_path / "hotline.toml"
    config.write_text(
        f'[paths]\ndata_dir = "{tmp_path / "var"}"\n'
        f'[sip]\nlisten = "127.0.0.1:{port}"\nrtp_port_low = {rtp}\nrtp_port_high = {rtp + 200}\n'
        "[ringing]\nanswer_after_rings = 1\nring_on_s = 0.5\nring_off_s = 0.5\n"
        '[agent]\nmode = "message"\nrecord_seconds = 30.0\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    subprocess.run(
        [sys.executable, "-m", "hotline", "--config", str(config), "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return config


def _caller(address: str, cwd: Path) -> subprocess.Popen[bytes]:
    """A SIPp caller that would stay 60 s (the agent hangs up first, when it stops; a
    busy machine may take many seconds to answer all of them)."""
    return subprocess.Popen(
        [
            require_tool("sipp"),
            address,
            "-sn",
            "uac",
            "-s",
            "agent",
            "-d",
            "60000",
            "-i",
            "127.0.0.1",
            "-p",
            str(udp_port()),
            "-m",
            "1",
            "-timeout",
            "90",
        ],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _answered(app: App) -> int:
    with app.sessions() as session:
        return len([c for c in session.scalars(select(Call)) if c.answered_at is not None])


def test_stopping_mid_call_joins_every_thread_and_records_the_calls(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    port = udp_port()
    app = App(load_settings(_config(tmp_path, port), environ={}))
    agent, phone = build_agent(app)
    phone.start()
    callers: list[subprocess.Popen[bytes]] = []
    try:
        idle = {t for t in threading.enumerate() if t not in before}
        callers = [_caller(f"127.0.0.1:{port}", tmp_path) for _ in range(CALLS)]
        wait_until(lambda: _answered(app) == CALLS, 30, f"{CALLS} calls answered")
        # A second into the greeting, so each recording holds audio: a call stopped in the
        # very packet it was answered has nothing to record (seen on a loaded machine).
        time.sleep(1.0)
        during = {t for t in threading.enumerate() if t not in before}
        per_call = (len(during) - len(idle)) / CALLS
    finally:
        agent.stopping.set()  # as `hotline agent` stops on SIGTERM
        phone.stop()
        app.close()
        for caller in callers:
            caller.terminate()
            caller.wait(timeout=10)
    left = sorted(t.name for t in threading.enumerate() if t not in before and t.is_alive())
    assert left == [], f"threads left running after the agent stopped: {left}"
    assert per_call <= THREADS_PER_CALL, [
        t.name for t in during - idle if "Phone Call" not in t.name
    ]

    with app.sessions() as session:
        calls = list(session.scalars(select(Call)))
        assert len(calls) == CALLS
        for call in calls:
            assert call.answered_at is not None and call.ended_at is not None, call.call_id
            # The real script's greeting was still playing. (The agent files a call it
            # ends in the greeting as abandoned, whoever ended it: the cause says who.)
            assert (call.ended_in, call.hangup_cause) == ("greeting", "agent stopped")
            (recording,) = call.recordings
            assert recording.state is RecordingState.COMPLETE and recording.sha256
            assert recording.duration_s and recording.duration_s > 0
    app.engine.dispose()
