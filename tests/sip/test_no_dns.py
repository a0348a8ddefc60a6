"""The agent on a site whose DNS server cannot be reached (issue 15, adapter fix 32).

The test makes a network namespace of its own, loopback only, whose resolv.conf
(`ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf) names a resolver address
that the runner puts on lo and binds a socket to that reads every query and never
answers: a name lookup there stalls for the resolver's timeout, as on an offline site. Before the fix one datagram
naming a host (an OPTIONS whose Via is a host name, a stray 200 OK whose Contact is)
made the agent deaf for that timeout: 9.9 s each.

What is kept: the good call placed right after 3 stray 200 OKs and 5 such OPTIONS is
answered as usual (SIPp's built-in caller completes within one lookup's stall; before
the fix it took 24.6 s here); every OPTIONS is answered, to the address it came from
(before: to nowhere); the stray responses get nothing back (before: an ACK).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sip.conftest import prompt_cache, udp_port
from tests.sip.nodns_run import RESOLVER
from tests.support.processes import require_tool


@pytest.fixture
def stalled_dns_namespace() -> Iterator[str]:
    assert os.geteuid() == 0, "ip netns needs root (sessions and CI run as root)"
    require_tool("ip")
    name = f"hotline-nodns-{os.getpid()}"
    etc = Path("/etc/netns") / name
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "resolv.conf").write_text(f"nameserver {RESOLVER}\noptions timeout:3 attempts:1\n")
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
        shutil.rmtree(etc, ignore_errors=True)


def test_names_on_the_receive_path_never_make_the_agent_deaf(
    stalled_dns_namespace: str, tmp_path: Path, short_config: Path
) -> None:
    require_tool("sipp")
    port = udp_port()
    config = tmp_path / "hotline.toml"
    config.write_text(
        f'[paths]\ndata_dir = "{tmp_path / "var"}"\n'
        f'prompt_cache_dir = "{prompt_cache(short_config)}"\n'
        f'[sip]\nlisten = "127.0.0.1:{port}"\n'
        "rtp_port_low = 34000\nrtp_port_high = 34100\n[ringing]\nanswer_after_rings = 0\n"
        '[agent]\nmode = "message"\nrecord_seconds = 1.0\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_CONFIG_DIR"] = str(short_config)
    base = [sys.executable, "-m", "hotline", "--config", str(config)]
    subprocess.run([*base, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60)
    runner = Path(__file__).with_name("nodns_run.py")
    out = subprocess.run(
        ["ip", "netns", "exec", stalled_dns_namespace, sys.executable, str(runner), str(config),
         str(port), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=300, check=False, cwd=Path.cwd(),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["lookup_s"] >= 2.5, result  # the namespace really stalls a lookup
    assert result["alive"]
    assert result["options_answers"] == ["SIP/2.0 200 OK"] * 5, result  # to their sources
    assert result["stray_replies"] == [], result  # no ACK, nothing sent back
    assert result["good_call"] == 0, result
    assert result["good_call_s"] < result["lookup_s"], result
