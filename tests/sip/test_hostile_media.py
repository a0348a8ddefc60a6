"""Offers the agent must not be silenced by, with real SIPp callers and tshark on lo.

PROTOS c07-sip case 0003978 offers `m=audio 65536`: it was answered, and sendto()
raised OverflowError in the RTP sender process and in the pacer thread, both died,
and every later call was answered in silence. An audio+video offer was refused 488
(RFC 3264 6: answer the audio, refuse the video with port 0).

What each test keeps: the good call is answered, and the agent's greeting really
reaches the caller (µ-law payload that is not silence, from tshark); the bad offer
gets 488 and a log line; the sender process is the one the agent started with.
"""

from __future__ import annotations

import socket
import tarfile
from pathlib import Path

import numpy as np

from tests.sip.conftest import HERE, Site, sipp
from tests.sip.test_agent_calls import AgentFactory, _ended, caller_audio, scenario
from tests.sip.test_dialogs import _capture, _trace
from tests.sip.torture_run import fill, protos_records
from tests.support.processes import children
from tests.support.rtp_capture import rtp_packets

PROTOS = HERE.parents[2] / "shared" / "sip-torture" / "protos-c07-sip.tar.xz"
#: µ-law codes of silence and the smallest steps around it (sox and the TTS dither).
QUIET = {0xFF, 0x7F, 0xFE, 0x7E}


def _protos_case(case: str) -> list[bytes]:
    assert PROTOS.is_file(), f"{PROTOS} is missing: the shared test data sits beside the repository"
    with tarfile.open(PROTOS) as tar:
        member = tar.getmember(f"protos-c07-sip/cases/{case}")
        handle = tar.extractfile(member)
        assert handle is not None
        return protos_records(handle.read())


def _replies(sock: socket.socket, seconds: float) -> list[str]:
    sock.settimeout(seconds)
    got = []
    try:
        while True:
            data, _ = sock.recvfrom(65535)
            got.append(data.split(b"\r\n", 1)[0].decode("utf-8", "replace"))
            if data.startswith(b"SIP/2.0 4") or data.startswith(b"SIP/2.0 2"):
                sock.settimeout(0.3)
    except TimeoutError:
        return got


def _greeting_heard(capture: Path, agent_port: int) -> float:
    """The share of the agent's RTP payload octets (µ-law) that are not silence, over the
    first 2 s of its stream to the SIPp caller (the greeting plays first)."""
    packets = [p for p in rtp_packets(capture) if p.src == agent_port and p.payload_type == 0]
    assert packets, "the agent sent no RTP to the caller"
    body = b"".join(p.body for p in packets[:100])
    octets = np.frombuffer(body, dtype=np.uint8)
    return float(np.mean([o not in QUIET for o in octets]))


def _agent_rtp_port(tmp_path: Path, name: str) -> int:
    (answer,) = [m for m in _trace(tmp_path, name) if m.startswith("SIP/2.0 200 OK")][:1]
    return next(int(line.split()[1]) for line in answer.splitlines() if line.startswith("m=audio"))


def test_protos_case_3978_is_refused_and_the_next_call_hears_the_greeting(
    agent: AgentFactory, tmp_path: Path
) -> None:
    audio, _sent = caller_audio(tmp_path, "PCMU")
    caller = scenario(tmp_path, audio, "PCMU", 4000)
    with agent() as site, _capture(tmp_path) as capture:
        (sender,) = children(site.pid)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        invite, cancel = (
            fill(t, "0003978", site.port, sock.getsockname()[1]) for t in _protos_case("0003978")
        )
        assert b"m=audio 65536 " in invite
        sock.sendto(invite, ("127.0.0.1", site.port))
        got = _replies(sock, 3.0)
        sock.sendto(cancel, ("127.0.0.1", site.port))
        got += _replies(sock, 1.0)
        sock.close()
        assert "SIP/2.0 488 Not Acceptable Here" in got, got
        assert not any(line.startswith("SIP/2.0 200") for line in got), got
        out = sipp(site.address, "-sf", str(caller), "-s", "agent", "-trace_msg", cwd=tmp_path)
        assert out.returncode == 0, out.stdout[-2000:]
        (call,) = _ended(site)
        assert call.answered_at is not None
        assert children(site.pid) == [sender]  # the same sender process, never restarted
        log = site.log.read_text(errors="replace")
    assert "488: the offer's m= port '65536' is out of range" in log
    assert "Traceback" not in log
    heard = _greeting_heard(capture, _agent_rtp_port(tmp_path, caller.stem))
    assert heard > 0.5, f"the caller heard silence ({heard:.2f} of the octets not silent)"


def _video_scenario(tmp_path: Path, audio: Path) -> Path:
    """uac_audio.xml whose offer adds a video stream, and which fails unless the 200 OK
    answers it with m=video 0 after the audio (RFC 3264 6)."""
    text = scenario(tmp_path, audio, "PCMU", 3000).read_text()
    text = text.replace(
        "      a=ptime:20\n",
        "      a=ptime:20\n      m=video 6002 RTP/AVP 96\n      a=rtpmap:96 H264/90000\n",
    )
    text = text.replace(
        '<recv response="200" rtd="true"/>',
        '<recv response="200" rtd="true"><action><ereg regexp="m=audio [1-9][0-9]* RTP/AVP'
        '[^\\n]*\\n(a=[^\\n]*\\n)*m=video 0 RTP/AVP 96" search_in="body" check_it="true" '
        'assign_to="video"/></action></recv>\n  <Reference variables="video"/>',
    )
    path = tmp_path / "uac_video.xml"
    path.write_text(text)
    return path


def test_an_audio_and_video_offer_is_answered_with_audio_and_video_refused(
    agent: AgentFactory, tmp_path: Path
) -> None:
    audio, _sent = caller_audio(tmp_path, "PCMU")
    caller = _video_scenario(tmp_path, audio)
    site: Site
    with agent() as site, _capture(tmp_path) as capture:
        out = sipp(site.address, "-sf", str(caller), "-s", "agent", "-trace_msg", cwd=tmp_path)
        assert out.returncode == 0, out.stdout[-2000:]  # the ereg on m=video 0 held
        (call,) = _ended(site)
        assert call.answered_at is not None
        log = site.log.read_text(errors="replace")
    (answer,) = [m for m in _trace(tmp_path, caller.stem) if m.startswith("SIP/2.0 200 OK")][:1]
    media = [line for line in answer.splitlines() if line.startswith("m=")]
    assert [m.split()[0:2] for m in media][1] == ["m=video", "0"], media
    assert "refusing the rest (port 0)" in log
    heard = _greeting_heard(capture, _agent_rtp_port(tmp_path, caller.stem))
    assert heard > 0.5, f"the caller heard silence ({heard:.2f} of the octets not silent)"


def test_a_forged_200_ok_from_an_untrusted_source_makes_the_agent_send_nothing(
    agent: AgentFactory,
) -> None:
    """A 200 OK to an INVITE the agent never sent, from a source it does not trust, with the
    agent's own Via and a Contact naming a victim: rfcvoip ACKed it to the victim (D5).
    What is kept: nothing reaches the victim, nothing comes back, the log says why."""
    victim = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    victim.bind(("127.0.0.9", 0))
    with (
        victim,
        agent(sip__trusted='["10.0.0.0/8"]') as site,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as forger,
    ):
        forger.bind(("127.0.0.1", 0))
        target = f"127.0.0.9:{victim.getsockname()[1]}"
        for n in range(2):
            forger.sendto(
                (
                    "SIP/2.0 200 OK\r\n"
                    f"Via: SIP/2.0/UDP 127.0.0.1:{site.port};branch=z9hG4bKforged{n};rport\r\n"
                    f"From: <sip:agent@127.0.0.1:{site.port}>;tag=a{n}\r\n"
                    f"To: <sip:victim@{target}>;tag=v{n}\r\n"
                    f"Call-ID: forged-{n}\r\nCSeq: 1 INVITE\r\n"
                    f"Contact: <sip:victim@{target}>\r\nContent-Length: 0\r\n\r\n"
                ).encode(),
                ("127.0.0.1", site.port),
            )
        assert _replies(victim, 2.0) == []
        assert _replies(forger, 0.2) == []
        log = site.log.read_text(errors="replace")
    assert log.count("which the agent neither trusts nor called") == 2
