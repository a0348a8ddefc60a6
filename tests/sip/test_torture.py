"""RFC 4475 torture messages and PROTOS c07-sip cases against the agent, inside a
loopback-only network namespace (tests/sip/torture_run.py; tshark sees all it sends).

RFC 4475: each message from a socket of its own, only its top Via rewritten to that
socket, so replies come back (RFC 3261 18.2.2). What is kept: every message gets the
answer section 3 names (tests/sip/rfc4475_expected.py: the table, with the section);
nothing goes anywhere but the message's own socket; nothing malformed or carrying a
control octet is sent; no traceback; the agent survives and answers the next call.

PROTOS: a deterministic subset in the suite (every 10th case, and 0003978, the one
whose `m=audio 65536` silenced every later call); the full run of 4,527 cases is
`bench/torture_conformance.py` (docs/hostile-input.md has both). What is kept: no
traceback in the agent's log, no malformed message sent, the RTP sender process never
restarted and still there, every case answered or (a response, an ACK) rightly not,
the good call after answered, and the agent's memory back within 10 % of its start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.sip.conftest import prompt_cache, udp_port
from tests.sip.conftest import short_config as _short_config  # noqa: F401
from tests.sip.rfc4475_expected import EXPECTED, first_final, verdict
from tests.support.processes import require_tool

SHARED = Path(__file__).resolve().parents[3] / "shared"


def run_torture(
    tmp_path: Path, config_dir: Path, kind: str, source: Path, *options: str
) -> dict[str, Any]:
    """torture_run.py in `unshare -n` against a fresh agent; its JSON result."""
    require_tool("sipp")
    require_tool("tshark")
    port = udp_port()
    config = tmp_path / "hotline.toml"
    config.write_text(
        f'[paths]\ndata_dir = "{tmp_path / "var"}"\n'
        f'prompt_cache_dir = "{prompt_cache(config_dir)}"\n'
        f'[sip]\nlisten = "127.0.0.1:{port}"\n'
        "rtp_port_low = 33000\nrtp_port_high = 33400\n[ringing]\nanswer_after_rings = 0\n"
        '[agent]\nmode = "message"\nrecord_seconds = 1.0\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_CONFIG_DIR"] = str(config_dir)
    subprocess.run(
        [sys.executable, "-m", "hotline", "--config", str(config), "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    runner = Path(__file__).with_name("torture_run.py")
    args = [str(runner), str(config), str(port), kind, str(source), str(tmp_path), *options]
    out = subprocess.run(
        [*unshare, sys.executable, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=Path.cwd(),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_rfc4475_messages_get_the_answers_section_3_names(
    tmp_path: Path, short_config: Path
) -> None:
    torture = SHARED / "sip-torture" / "rfc4475"
    assert torture.is_dir(), (
        f"{torture} is missing: the shared test data sits beside the repository"
    )
    result = run_torture(tmp_path, short_config, "rfc4475", torture, "--idle", "0")
    replies = result["replies"]
    assert set(replies) == set(EXPECTED)
    wrong = {
        name: (EXPECTED[name][0], sorted(EXPECTED[name][2]), first_final(lines), lines[:4])
        for name, lines in replies.items()
        if not verdict(name, lines)
    }
    assert wrong == {}  # {message: (section, expected, first final got, lines)}
    assert result["elsewhere"] == {}  # no reply strayed, no stray response was ACKed
    assert result["malformed_sent"] == [] and result["control_octets_sent"] == 0
    assert result["tracebacks"] == 0
    assert result["alive_after"] and result["alive_end"]
    assert result["good_call"] == 0  # the next good call is answered


def test_protos_cases_leave_the_agent_whole(tmp_path: Path, short_config: Path) -> None:
    archive = SHARED / "sip-torture" / "protos-c07-sip.tar.xz"
    assert archive.is_file(), (
        f"{archive} is missing: the shared test data sits beside the repository"
    )
    result = run_torture(tmp_path, short_config, "protos", archive, "--every", "10")
    replies = result["replies"]
    assert len(replies) == 454 and "0003978" in replies  # 0, 10, ... 4520 and 3978
    assert result["alive_after"] and result["alive_end"]
    assert result["tracebacks"] == 0, "a traceback in the agent's log"
    assert result["malformed_sent"] == [] and result["control_octets_sent"] == 0
    assert result["sender_restarts"] == 0 and result["sender_alive_end"]
    # 0003978 offers m=audio 65536: refused before it rings, never answered.
    assert any(" 488 " in line for line in replies["0003978"]), replies["0003978"]
    assert not any(line.startswith("SIP/2.0 200") for line in replies["0003978"])
    elsewhere = set(result["answered_elsewhere"])  # at the port its Via named (18.2.2)
    silent = sorted(name for name, lines in replies.items() if not lines and name not in elsewhere)
    assert silent == [], silent
    assert result["good_call"] == 0, result["good_call"]
    assert result["good_call_s"] < 30, result["good_call_s"]
    grew = (result["rss_after_kb"] - result["rss_before_kb"]) / result["rss_before_kb"]
    assert grew <= 0.10, f"RSS {result['rss_before_kb']} -> {result['rss_after_kb']} kB"
