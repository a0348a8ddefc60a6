"""SIPVicious (`svmap`, `svwar`, from the sipvicious package) against the agent on loopback.

How svwar decides that an extension exists (sipvicious 0.3.8, svwar.py
`TakeASip.start` and `getResponse`): it first sends the chosen method to a
random 32-bit user and keeps the answer's first line (for INVITE, the first
line of the *final* answer and its Reason header) as the "bad user"
fingerprint. Then it sends the same method to every extension of the range:
provisional answers (100, 180) are passed over (after a 180 it sends CANCEL),
and a final answer whose fingerprint differs from the bad user's makes the
extension "exist" (401/403/407: "requires authentication", 200: "no
authentication", anything else: "weird"). An answer equal to the bad user's
that is not one of the codes it knows (a 501, say) makes it stop at once.

So the agent gives a scanner nothing only if it answers a request the same
way whatever the user in the Request-URI and To: every REGISTER 501, every
OPTIONS 200, and every INVITE the same final answer (from an untrusted
source: 403 for every user; from a trusted one: the same ringing call for
every user). The agent here is extension 8001 (its job number, as on the
desk's PBX), inside the ranges scanned.

svmap may find the agent (it answers OPTIONS, as RFC 3261 11 wants): that
tells a scanner a SIP device listens, not which extensions exist.

Only loopback: the agent listens on 127.0.0.1, the scanners bind 127.0.0.1
and name it in their Via, Contact and SDP (`-b`, `-x`), so every answer and
any RTP stays on lo; no port is fixed (`-P` free ports; never 5060).

What each test keeps: what svwar found (read from its saved session, the
`resultauth` database svreport reads), the agent's call records and log,
and a good call answered after the scan.
"""

from __future__ import annotations

import dbm
import os
import re
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from sqlalchemy import select

from recorder.models import Call, Disposition
from tests.sip.conftest import Site, udp_port
from tests.support.processes import require_tool, wait_until

AgentFactory = Callable[..., AbstractContextManager[Site]]

#: The agent's extension, inside the second range.
EXTENSION = "8001"
RANGES = "100-300,8000-8010"
METHODS = ("REGISTER", "OPTIONS", "INVITE")
#: A trusted source for the good call in the untrusted setup; the scanners send from 127.0.0.1.
GOOD_CALLER = "127.0.0.2"


def _sipvicious(tool: str) -> str:
    """The console script of the sipvicious package installed beside this Python."""
    path = Path(sys.executable).with_name(f"sipvicious_{tool}")
    assert path.exists(), f"{path} is missing: scripts/bootstrap test installs sipvicious"
    return str(path)


def _scan(tool: str, home: Path, session: str, *args: str) -> subprocess.CompletedProcess[str]:
    """One sipvicious run, its session saved under `home` (HOME is set to it)."""
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run(
        [
            _sipvicious(tool),
            "-b",
            "127.0.0.1",
            "-x",
            "127.0.0.1",
            "-P",
            str(udp_port()),
            "-s",
            session,
            "-vv",
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _saved(home: Path, tool: str, session: str, table: str) -> dict[str, str]:
    """A saved sipvicious result table (what svreport lists) as {key: value}."""
    path = home / ".sipvicious" / tool / session / table
    with dbm.open(str(path), "r") as db:
        return {_text(key): _text(db[key]) for key in db.keys()}  # noqa: SIM118


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _svwar(site: Site, home: Path, method: str) -> tuple[dict[str, str], int]:
    """svwar over RANGES with `method`: what it found, and how many requests it sent."""
    session = f"svwar-{method.lower()}"
    # --force: scan on even when the unknown user already gets 403, as a determined
    # attacker would (without it svwar stops at once on the untrusted agent).
    out = _scan(
        "svwar", home, session, "--force", "-m", method, "-e", RANGES, f"udp://{site.address}"
    )
    assert out.returncode in (0, 40), out.stderr[-3000:]  # 40: "found something"
    assert "Ok SIP device found" in out.stderr, out.stderr[-3000:]
    sent = 1 + out.stderr.count("sending request for ")  # the bad-user probe first
    return _saved(home, "svwar", session, "resultauth"), sent


def _calls(site: Site) -> list[Call]:
    with site.sessions() as s:
        return list(s.scalars(select(Call)))


def _answered(site: Site) -> int:
    """Calls answered and over (a caller who hangs up during the greeting is abandoned)."""
    return sum(c.answered_at is not None and c.ended_at is not None for c in _calls(site))


def _good_call(site: Site, cwd: Path, source: str = "127.0.0.1", target: str | None = None) -> None:
    """A SIPp call to the agent's extension from `source` (to `target`, the agent if None):
    answered, and its record closed."""
    before = _answered(site)
    out = subprocess.run(
        [
            require_tool("sipp"),
            target or site.address,
            "-sn",
            "uac",
            "-s",
            EXTENSION,
            "-d",
            "500",
            "-i",
            source,
            "-p",
            str(udp_port()),
            "-m",
            "1",
            "-timeout",
            "25",
            "-timeout_error",
            "-trace_err",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    wait_until(lambda: _answered(site) == before + 1, 20, "the good call's record")


def test_svmap_finds_the_agent_and_only_that(agent: AgentFactory, tmp_path: Path) -> None:
    """svmap sees a SIP device on the agent's port (it answers OPTIONS); nothing else listens."""
    with agent("--user", EXTENSION) as site:
        other = udp_port()  # a port nobody listens on
        out = _scan("svmap", tmp_path, "svmap", "-p", f"{site.port},{other}", "127.0.0.1")
        # 30: fewer devices answered than ports probed (the closed one), as svmap counts.
        assert out.returncode == 30, out.stderr[-3000:]
        found = _saved(tmp_path, "svmap", "svmap", "resultua")
        assert list(found) == [f"127.0.0.1:{site.port}"], found
        assert "rfcvoip" in found[f"127.0.0.1:{site.port}"]  # its User-Agent, as svmap shows it
        _good_call(site, tmp_path)


SETUPS = {
    # The scanner sends from an address the agent takes calls from (a compromised trunk).
    "direct-trusted": ["--trust", "127.0.0.0/8"],
    # Only GOOD_CALLER is trusted: every INVITE from the scanner is refused with 403
    # (docs: direct mode, everyone else gets 403), whatever its user, and each is logged.
    "direct-untrusted": ["--trust", f"{GOOD_CALLER}/32"],
    # Registered with Kamailio; the scanner aims at the agent's own port, past the registrar.
    "registered": [],
}


@pytest.mark.parametrize("setup", list(SETUPS))
def test_svwar_cannot_enumerate_extensions(
    agent: AgentFactory, tmp_path: Path, setup: str, request: pytest.FixtureRequest
) -> None:
    """svwar with REGISTER, OPTIONS and INVITE over 100-300 and 8000-8010 finds no extension.

    Scanning *through* Kamailio is not done here: what it finds there is the
    registrar's answer (its 404 for a user with no binding, a relayed request
    for one that has), which the registrar's own configuration governs.
    """
    flags = list(SETUPS[setup])
    if setup == "registered":
        registrar = request.getfixturevalue("kamailio")
        flags = ["--registrar", f"127.0.0.1:{registrar}"]
    with agent("--user", EXTENSION, *flags) as site:
        found, sent = {}, {}
        for method in METHODS:
            found[method], sent[method] = _svwar(site, tmp_path, method)
        # Every INVITE the scanner placed has ended (svwar CANCELs on 180): no line left held.
        wait_until(lambda: all(c.ended_at for c in _calls(site)), 20, "the scan's calls to end")
        scanned = _calls(site)
        log = site.log.read_text(errors="replace")
        assert found == {method: {} for method in METHODS}, (found, _answers_note(log))
        # What a scan leaves in the call log: at most missed calls, never an answered one.
        assert all(c.disposition is Disposition.MISSED for c in scanned), scanned
        if setup == "direct-untrusted":
            refused = len(re.findall(r"refused: 127\.0\.0\.1 is not a trusted source", log))
            assert refused >= sent["INVITE"], (refused, sent["INVITE"])
            assert scanned == []  # no record for a refused source
        if setup == "registered":
            _good_call(site, tmp_path, target=f"127.0.0.1:{registrar}")
        else:
            _good_call(site, tmp_path, GOOD_CALLER)
        assert "Traceback" not in site.log.read_text(errors="replace")


def _answers_note(log: str) -> str:
    """The agent's own lines about the scan, for the failure message."""
    lines = [line for line in log.splitlines() if "refused" in line or "missed" in line]
    return "\n".join(lines[-10:])
