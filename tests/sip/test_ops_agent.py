"""The agent's health port and JSON log after a real call (SIPp on loopback, issue 23).

What the IT team reads: /metrics counts the call by the disposition the call log
stored, its rings and answer time, the RTP that arrived and the datagram the gate
refused; /readyz and `hotline status` say the agent is ready; every JSON log line
parses and the call's events carry its Call-ID.
"""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hotline.cli import main
from tests.sip.conftest import Site, sipp
from tests.sip.test_agent_calls import _ended, caller_audio, scenario
from tests.support.processes import free_port, wait_until

AgentFactory = Callable[..., AbstractContextManager[Site]]
#: A request of SIP version 7.0: the gate answers 505 (RFC 3261 8.2.1 / RFC 4475 3.1.2.16).
BAD_VERSION = (
    "OPTIONS sip:agent@127.0.0.1 SIP/7.0\r\n"
    "Via: SIP/7.0/UDP 127.0.0.1:{port};branch=z9hG4bK-ops-1\r\n"
    "From: <sip:ops@127.0.0.1>;tag=1\r\nTo: <sip:agent@127.0.0.1>\r\n"
    "Call-ID: ops-bad-version\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
    "Content-Length: 0\r\n\r\n"
)


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_readyz_status_and_json_log_after_a_real_call(
    agent: AgentFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audio, _sent = caller_audio(tmp_path, "PCMU")
    health = f"127.0.0.1:{free_port()}"
    settings = {"agent__health_listen": f'"{health}"', "logging__format": '"json"'}
    with agent(**settings) as site:
        out = sipp(
            site.address,
            "-sf",
            str(scenario(tmp_path, audio, "PCMU", 3000)),
            "-s",
            "agent",
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stdout[-2000:]
        (call,) = _ended(site)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            probe.settimeout(5)
            request = BAD_VERSION.format(port=probe.getsockname()[1]).encode()
            probe.sendto(request, ("127.0.0.1", site.port))
            reply = probe.recv(2048)
        assert reply.startswith(b"SIP/2.0 505")

        status, body = _get(f"http://{health}/metrics")
        assert status == 200
        metrics = _samples(body)
        disposition = (("disposition", call.disposition.value),)
        assert metrics[("hotline_agent_calls_total", disposition)] == 1.0
        assert metrics[("hotline_agent_calls_in_progress", ())] == 0.0
        assert metrics[("hotline_agent_rings_count", ())] == 1.0
        assert metrics[("hotline_agent_rings_sum", ())] == call.ring_count
        answer = (call.answered_at - call.invite_at).total_seconds()
        assert metrics[("hotline_agent_answer_seconds_sum", ())] == pytest.approx(answer, abs=0.05)
        received = metrics[("hotline_agent_rtp_received_packets_total", ())]
        assert received == call.rtp_packets_received and received > 100
        assert metrics[("hotline_agent_rtp_lost_packets_total", ())] == call.rtp_packets_lost
        wait_until(
            lambda: (
                _samples(_get(f"http://{health}/metrics")[1]).get(
                    ("hotline_agent_sip_refused_messages_total", (("code", "505"),))
                )
                == 1.0
            ),
            5,
            "the gate's refusal counted",
        )

        status, body = _get(f"http://{health}/readyz")
        report = json.loads(body)
        assert status == 200 and report["status"] == "ready", report
        assert set(report["checks"]) == {"database", "queue", "disk", "model"}
        assert "13800138000" not in body  # the caller's number is nowhere in it
        assert main(["--config", str(site.root / "hotline.toml"), "status", "agent"]) == 0
        assert f"agent   ready      http://{health}/readyz" in capsys.readouterr().out

        lines = site.log.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(records) >= 10 and all(
        {"time", "level", "logger", "message"} <= set(r) for r in records
    )
    # Not JSON: the start-up line `print`ed for scripts, and the RTP sender's child
    # process, which writes its few lines (its priority, its summary) to stderr as text.
    plain = [line for line in lines if not line.startswith("{")]
    assert plain[0] == f"agent ready on {site.address}", plain
    assert all(line.startswith("rtp-sender: ") for line in plain[1:]), plain
    events = [r for r in records if r.get("event")]
    assert {"started", "ringing", "answered", "ended"} <= {r["event"] for r in events}
    assert {r["call_id"] for r in events} == {call.call_id}
    ended = next(r for r in events if r["event"] == "ended")
    assert call.disposition.value in ended["message"]
    # The SIP layer's and the agent's own "[call-id] ..." lines carry it too.
    prefixed = [r for r in records if r["message"].startswith(f"[{call.call_id}]")]
    assert len(prefixed) > len(events) and all(r["call_id"] == call.call_id for r in prefixed)
