"""A real ring group: Kamailio forks a call for `desk` in parallel to the agent and a
clerk's desk phone (baresip), both registered with it (kamailio-ring-group.cfg).

- The clerk picks up first: Kamailio CANCELs the agent's leg with RFC 3326's
  `Reason: SIP;cause=200`, with or without `;text="Call completed elsewhere"` (seen
  with tshark). The
  agent records the call as answered by staff after the rings the caller heard, not
  missed, and the pipeline makes no "未接来电，请回电" entry for it (nor does its sweep
  come back to it).
- The clerk's phone only rings: the agent answers at its ring, Kamailio CANCELs the
  clerk's leg, and the call is the agent's, with its answered entry.

What each test keeps: the agent's call record, the pipeline's outcome and the
reception log (empty, or one answered entry), and the CANCELs on the wire.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select

from hotline.content import load_content
from hotline.settings import Settings
from recorder.models import AnsweredBy, Disposition, LogEntry
from tests.sip.conftest import HERE, Site, _kamailio, sipp, udp_port
from tests.sip.peers import baresip, prompt_seconds
from tests.sip.test_agent_calls import AgentFactory, _ended
from tests.sip.test_dialogs import _capture
from tests.support.processes import require_tool, wait_until
from transcripts.pipeline import CALLBACK_SUMMARY, Pipeline

#: The agent answers after 2 rings of 1 s on, 1 s off: 3 s after its 180 (the clerk's
#: auto-answering phone picks up well before that).
RINGING = {"ringing__answer_after_rings": "2", "ringing__ring_on_s": "1.0"}
RINGING["ringing__ring_off_s"] = "1.0"
#: What Debian's Kamailio 5.6.3 puts on the CANCEL of a branch that lost (measured with
#: tshark): with the text when the branch was ringing at the winner's 2xx; without it when
#: the branch's first provisional response came only after the 2xx (tm CANCELs it then,
#: and again on its next provisional: the second CANCEL gets 481).
COMPLETED_ELSEWHERE = 'SIP;cause=200;text="Call completed elsewhere"'
LATE_BRANCH = "SIP;cause=200"


@contextmanager
def _ring_group(
    tmp_path: Path, agent: AgentFactory, answermode: str, **settings: str
) -> Iterator[tuple[int, Site]]:
    """Kamailio with the ring group, the clerk's phone and the agent, both registered."""
    with _kamailio(tmp_path, "kamailio-ring-group.cfg") as port:
        account = (
            f'<sip:clerk@127.0.0.1>;regint=60;outbound="sip:127.0.0.1:{port}";'
            f"audio_codecs=PCMU/8000/1;answermode={answermode}"
        )
        with (
            baresip(tmp_path, udp_port(), account),
            agent("--registrar", f"127.0.0.1:{port}", "--user", "agent", **settings) as site,
        ):
            log = tmp_path / "kamailio.log"
            wait_until(
                lambda: all(
                    f"REGISTERED sip:{user}@" in log.read_text(errors="replace")
                    for user in ("clerk", "agent")
                ),
                20,
                "the clerk's phone and the agent to register",
            )
            yield port, site


def _call_desk(tmp_path: Path, port: int, pause_ms: int) -> None:
    text = (HERE / "scenarios" / "uac_ring_group.xml").read_text()
    scenario = tmp_path / "uac_ring_group.xml"
    scenario.write_text(text.replace("PAUSE_MS", str(pause_ms)))
    out = sipp(f"127.0.0.1:{port}", "-sf", str(scenario), "-s", "desk", cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


def _cancels(capture: Path, kamailio: int) -> list[tuple[int, str]]:
    """(destination port, Reason header) of every CANCEL Kamailio sent."""
    out = subprocess.run(
        [
            require_tool("tshark"),
            "-r",
            str(capture),
            "-d",
            f"udp.port=={kamailio},sip",
            "-Y",
            f'sip.Method == "CANCEL" && udp.srcport == {kamailio}',
            "-T",
            "fields",
            "-e",
            "udp.dstport",
            "-e",
            "sip.Reason",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [
        (int(port), reason)
        for port, reason in (line.split("\t") for line in out.split("\n") if line)
    ]


def _pipeline(site: Site, short_config: Path) -> Pipeline:
    settings = Settings()
    return Pipeline(
        site.sessions, load_content(settings, short_config), settings, load_engine=lambda: None
    )


def test_a_clerk_answering_first_leaves_an_answered_call_and_no_call_back(
    agent: AgentFactory, tmp_path: Path, short_config: Path
) -> None:
    with (
        _capture(tmp_path) as capture,
        _ring_group(tmp_path, agent, "auto", **RINGING) as (port, site),
    ):
        _call_desk(tmp_path, port, 1500)
        (call,) = _ended(site)
        log = site.log.read_text(errors="replace")
    # On the wire: Kamailio cancelled the agent's leg, saying the call was completed elsewhere.
    cancels = _cancels(capture, port)
    assert cancels and set(cancels) <= {
        (site.port, COMPLETED_ELSEWHERE),
        (site.port, LATE_BRANCH),
    }, cancels
    reason = cancels[0][1]
    assert f"answered elsewhere after 1 rings (CANCEL with Reason {reason})" in log
    # The record: answered by staff (a colleague: the CANCEL names nobody) after the one
    # ring the caller heard before the clerk picked up, never missed.
    assert call.disposition is Disposition.ANSWERED and call.answered_elsewhere
    assert (call.answered_by, call.answered_by_user_id) == (AnsweredBy.STAFF, None)
    assert (call.ended_in, call.ring_count) == ("elsewhere", 1)
    assert call.hangup_cause == f"CANCEL: {reason}"
    assert call.answered_at is not None and call.ringing_at is not None
    ring_s = (call.answered_at - call.ringing_at).total_seconds()
    assert 0 < ring_s < 3.0, ring_s  # before the agent's own answer at 3 s
    # No "未接来电，请回电" entry: the pipeline leaves the call to the clerk who spoke.
    outcome = _pipeline(site, short_config).process_call(call.call_id)
    assert outcome.entry_id is None
    with site.sessions() as s:
        assert s.scalar(select(func.count(LogEntry.id))) == 0
    assert _pipeline(site, short_config).sweep(lambda _cid: None) == []


def test_a_clerk_not_answering_leaves_the_call_to_the_agent_at_its_ring(
    agent: AgentFactory, tmp_path: Path, short_config: Path
) -> None:
    settings = {**RINGING, "agent__record_seconds": "30.0"}
    with (
        _capture(tmp_path) as capture,
        _ring_group(tmp_path, agent, "manual", **settings) as (port, site),
    ):
        # The caller stays past the greeting: a message is left, then it hangs up.
        _call_desk(tmp_path, port, int((prompt_seconds(site, short_config, "greeting") + 2) * 1000))
        (call,) = _ended(site)
        clerk_port = int(
            (tmp_path / "baresip" / "config")
            .read_text()
            .split("sip_listen 127.0.0.1:")[1]
            .split()[0]
        )
    # Kamailio cancelled the clerk's ringing phone once the agent answered.
    cancels = _cancels(capture, port)
    assert cancels and set(cancels) == {(clerk_port, COMPLETED_ELSEWHERE)}, cancels
    assert call.disposition is Disposition.ANSWERED and not call.answered_elsewhere
    assert (call.answered_by, call.ring_count) == (AnsweredBy.AGENT, 2)
    assert call.answered_at is not None and call.ringing_at is not None
    assert 2.9 <= (call.answered_at - call.ringing_at).total_seconds() < 3.5
    assert (call.ended_in, call.hangup_cause) == ("recording", "caller BYE")
    outcome = _pipeline(site, short_config).process_call(call.call_id)
    with site.sessions() as s:
        entry = s.get(LogEntry, outcome.entry_id)
        assert entry is not None and entry.summary not in CALLBACK_SUMMARY.values()
