"""baresip as a second caller (beside SIPp): it dials the agent, plays a known
recording through its aufile source, and hangs up when the file ends.

The baresip set-up is the clerk's phone's (tests/sip/peers.py), with a text to
say and a URI to dial at start-up. baresip 1.0.0 hangs up by itself when its
aufile source reaches the end of the file; it ignores SIGTERM without its
stdio module, so once the call is over the test ends it with SIGKILL by its
PID.

What each test keeps: the call record (answered within the configured ring,
who called whom, codec, ended by the caller's BYE during the recording) and
the recording, which holds what baresip sent (normalised cross-correlation
with the source speech, through PCMU).
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from recorder.models import Call, Disposition, Recording, RecordingState
from tests.sip.conftest import Site, udp_port
from tests.sip.peers import Baresip, baresip, prompt_seconds
from tests.sip.test_agent_calls import AgentFactory, _ended, best_correlation

EXTENSION = "8001"
#: One text per caller, each longer than the short greeting, so each caller
#: hangs up during the recording stage (checked against the greeting's length).
TEXTS = {
    "caller1": "Hello, my name is Wang, I live in building three, unit two, room five "
    "hundred and one. The water pipe in my bathroom is leaking onto the floor.",
    "caller2": "Good afternoon. The lift in building eight has been out of order since "
    "this morning, and my mother cannot climb the stairs. Please send someone soon.",
}
#: The recording is compared after its first and last half second (the start of the
#: media and the BYE); what is left is searched for in what baresip sent.
EDGE_S = 0.5


@pytest.fixture
def baresip_caller(tmp_path: Path) -> Callable[[str, str], AbstractContextManager[Baresip]]:
    """`caller(name, target_uri)`: one baresip that dials `target_uri` and says TEXTS[name]."""

    def caller(name: str, target: str) -> AbstractContextManager[Baresip]:
        root = tmp_path / name
        root.mkdir()
        port = udp_port()
        account = f"<sip:{name}@127.0.0.1:{port}>;regint=0;audio_codecs=PCMU/8000/1"
        return baresip(root, port, account, text=TEXTS[name], dial=target)

    return caller


def _end(proc: Any) -> None:
    """baresip after its call: SIGKILL by PID (it ignores SIGTERM here), reaped."""
    proc.kill()
    proc.wait(timeout=5)


def _recorded(site: Site, call: Call) -> np.ndarray:
    with site.sessions() as s:
        (rec,) = s.scalars(select(Recording).where(Recording.call_pk == call.id))
        assert rec.state is RecordingState.COMPLETE and rec.sha256
        path = site.file(rec.path)
    with wave.open(path) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (8000, 1)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)


def _check_call(site: Site, call: Call, name: str, said: np.ndarray) -> float:
    """The record of one baresip call, and how faithfully it was recorded (returned)."""
    assert call.disposition is Disposition.ANSWERED, call.disposition
    assert (call.ended_in, call.hangup_cause) == ("recording", "caller BYE")
    assert (call.caller_number, call.called_number, call.codec) == (name, EXTENSION, "PCMU")
    assert call.ring_count == 1  # answer_after_rings = 1 (conftest), within the seeds' three
    assert call.answered_at is not None and call.ended_at is not None
    answer_delay = (call.answered_at - call.invite_at).total_seconds()
    assert 0.45 <= answer_delay <= 0.65, answer_delay  # one ring of 0.5 s
    recorded = _recorded(site, call)
    # baresip hung up at the end of its file: the recording covers all of it.
    assert len(recorded) >= len(said) - 8000 * 0.3, (len(recorded), len(said))
    edge = int(8000 * EDGE_S)
    return best_correlation(recorded[edge:-edge], said)


def test_a_baresip_call_is_answered_recorded_and_logged(
    agent: AgentFactory, baresip_caller: Callable[..., Any], short_config: Path
) -> None:
    with agent("--user", EXTENSION, agent__record_seconds="30.0") as site:
        greeting = prompt_seconds(site, short_config, "greeting")
        with baresip_caller("caller1", f"sip:{EXTENSION}@{site.address}") as caller:
            # The caller is still talking when the greeting is over: it hangs up while recorded.
            assert len(caller.said) / 8000 > greeting + 2, (len(caller.said) / 8000, greeting)
            (call,) = _ended(site)
            _end(caller.proc)
        # G.711 µ-law keeps about 0.999 of speech: 0.99 leaves room for nothing else.
        assert _check_call(site, call, "caller1", caller.said) >= 0.99  # measured 0.9999


def test_two_baresip_calls_at_once(agent: AgentFactory, baresip_caller: Callable[..., Any]) -> None:
    """Two callers talking at the same time: each recording holds its own caller only."""
    with agent("--user", EXTENSION, agent__record_seconds="30.0") as site:
        target = f"sip:{EXTENSION}@{site.address}"
        with ExitStack() as stack:
            calls = {
                name: stack.enter_context(baresip_caller(name, target))
                for name in ("caller1", "caller2")
            }
            records = _ended(site, 2)
            for caller in calls.values():
                _end(caller.proc)
        by_caller = {str(c.caller_number): c for c in records}
        assert sorted(by_caller) == ["caller1", "caller2"]
        ends = [c.ended_at for c in records if c.ended_at]
        answers = [c.answered_at for c in records if c.answered_at]
        assert (min(ends) - max(answers)).total_seconds() > 3  # really at the same time
        for name, caller in calls.items():
            assert _check_call(site, by_caller[name], name, caller.said) >= 0.99
        # Not cross-wired: caller1's recording does not hold caller2's speech.
        first = _recorded(site, by_caller["caller1"])
        edge = int(8000 * EDGE_S)
        assert best_correlation(first[edge:-edge], calls["caller2"].said) < 0.5  # measured 0.04
