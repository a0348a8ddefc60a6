"""Dialogs with real peers on loopback: OPTIONS, hold and unhold, BYE from either side,
30 ms packets, offers with no common codec, Record-Route through Kamailio, a flood of
INVITEs, oversized and broken requests, a registrar that restarts.

What each test keeps: the call record (or that there is none), the recording and
how it correlates with what the caller sent, the messages each end saw (SIPp's
message trace, Kamailio's log, a tshark capture), and that the agent answers the
next call afterwards.
"""

from __future__ import annotations

import contextlib
import re
import signal
import struct
import subprocess
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from sqlalchemy import select

from recorder.models import Disposition, Recording, RecordingState
from tests.sip.conftest import HERE, Site, sipp
from tests.sip.test_agent_calls import AgentFactory, _calls, _ended, best_correlation, caller_audio
from tests.support.processes import require_tool, running

SCENARIOS = HERE / "scenarios"


def _trace(tmp_path: Path, scenario: str) -> list[str]:
    """The messages SIPp sent and received (-trace_msg), one string each, start line first."""
    logs = sorted(tmp_path.glob(f"{scenario}_*_messages.log"))
    text = "".join(p.read_text(errors="replace") for p in logs)
    entries = re.split(r"\n-{20,}[^\n]*\n", text)
    messages = [re.sub(r"^UDP message [^\n]*\n", "", e.strip()).strip() for e in entries]
    return [m for m in messages if m]


def _is(message: str, start: str, cseq_method: str) -> bool:
    """Whether a traced message starts with `start` and is of the CSeq method given."""
    return message.startswith(start) and _header(message, "CSeq").endswith(cseq_method)


def _recording(site: Site) -> np.ndarray:
    with site.sessions() as s:
        rec = s.scalars(select(Recording)).one()
    assert rec.state is RecordingState.COMPLETE and rec.sha256
    with wave.open(rec.path) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)


@contextlib.contextmanager
def _capture(tmp_path: Path, name: str = "lo.pcapng") -> Iterator[Path]:
    """tshark on lo (UDP only) for the duration of the block."""
    path = tmp_path / name
    log = tmp_path / f"{name}.log"
    with running(
        [require_tool("tshark"), "-i", "lo", "-f", "udp", "-w", str(path), "-q"],
        ready=lambda: "Capturing on" in log.read_text(errors="replace"),
        timeout=20,
        log=log,
    ) as proc:
        yield path
        time.sleep(0.5)  # let the last packets reach the file
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def _udp_times(capture: Path, src_port: int) -> np.ndarray:
    """Arrival times (s) on lo of the UDP packets sent from `src_port`."""
    out = subprocess.run(
        [
            require_tool("tshark"),
            "-r",
            str(capture),
            "-Y",
            f"udp.srcport == {src_port}",
            "-T",
            "fields",
            "-e",
            "frame.time_epoch",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return np.array([float(x) for x in out.split()])


def test_options_are_answered_with_allow_accept_and_codecs(
    agent: AgentFactory, tmp_path: Path
) -> None:
    """The scenario itself checks Allow, Accept and the SDP (ereg check_it)."""
    with agent() as site:
        out = sipp(
            site.address,
            "-sf",
            str(SCENARIOS / "uac_options.xml"),
            "-s",
            "agent",
            "-trace_msg",
            cwd=tmp_path,
            timeout=30,
        )
        assert out.returncode == 0, out.stdout[-2000:]
        (ok,) = [m for m in _trace(tmp_path, "uac_options") if _is(m, "SIP/2.0 200 OK", "OPTIONS")]
        assert "SUBSCRIBE" not in ok and "opus" not in ok
        assert _calls(site) == []  # OPTIONS is no call


def test_hold_and_unhold_keep_the_call_going_and_recorded(
    agent: AgentFactory, tmp_path: Path
) -> None:
    """re-INVITE a=sendonly is answered a=recvonly and the agent stops sending RTP;
    a=sendrecv is answered a=sendrecv and it sends again (rfcvoip stayed on hold: fix 14).
    What is kept: one answered call ended by the caller, recorded through the hold."""
    audio, sent = caller_audio(tmp_path, "PCMU")
    text = (SCENARIOS / "uac_hold.xml").read_text()
    for key, value in {"AUDIO_FILE": str(audio), "HOLD_AT_MS": "2500", "HOLD_MS": "2000"}.items():
        text = text.replace(key, value)
    scenario = tmp_path / "uac_hold.xml"
    scenario.write_text(text.replace("REST_MS", "3500"))
    with agent(agent__record_seconds="30.0") as site, _capture(tmp_path) as capture:
        out = sipp(site.address, "-sf", str(scenario), "-s", "agent", "-trace_msg", cwd=tmp_path)
        assert out.returncode == 0, out.stdout[-2000:]
        (call,) = _ended(site)
    assert call.disposition is Disposition.ANSWERED and call.hangup_cause == "caller BYE"
    answers = [m for m in _trace(tmp_path, "uac_hold") if _is(m, "SIP/2.0 200 OK", "INVITE")]
    media = re.search(r"m=audio (\d+) ", answers[0])
    assert media
    versions = [int(v) for a in answers for v in re.findall(r"o=\S+ \d+ (\d+) IN", a)[:1]]
    assert sorted(set(versions)) == [versions[0], versions[0] + 1, versions[0] + 2]
    sending = _udp_times(capture, int(media.group(1)))
    gaps = np.sort(np.diff(sending))
    assert 1.7 < gaps[-1] < 2.8, gaps[-3:]  # silent while on hold (2 s) ...
    assert gaps[-2] < 0.2  # ... and only then
    resumed = sending[sending > sending[np.argmax(np.diff(sending))] + 0.5]
    assert len(resumed) > 100  # about 3.5 s of 20 ms packets after the unhold
    assert best_correlation(sent, _recording(site)) >= 0.99


def _scenario(tmp_path: Path, name: str, **values: object) -> Path:
    """A copy of scenarios/<name> with its placeholders (KEY=value) filled in."""
    text = (SCENARIOS / name).read_text()
    for key, value in values.items():
        text = text.replace(key, str(value))
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_agent_hangs_up_the_caller_answers_its_bye(agent: AgentFactory, tmp_path: Path) -> None:
    """After the closing the agent sends BYE; the caller answers only after 1.2 s, so the
    BYE is sent again meanwhile (fix 16). What is kept: the agent's record (answered,
    ended in the closing by the agent) and the caller's (a BYE from the agent's dialog,
    answered 200)."""
    audio, _sent = caller_audio(tmp_path, "PCMU")
    scenario = _scenario(
        tmp_path,
        "uac_agent_bye.xml",
        AUDIO_FILE=audio,
        PAYLOAD=0,
        CODEC="PCMU",
        PTIME=20,
        ANSWER_AFTER_MS=1200,
    )
    with agent() as site:
        out = sipp(site.address, "-sf", str(scenario), "-s", "agent", "-trace_msg", cwd=tmp_path)
        assert out.returncode == 0, out.stdout[-2000:]
        (call,) = _ended(site)
        assert (call.disposition, call.ended_in, call.hangup_cause) == (
            Disposition.ANSWERED,
            "closing",
            "agent BYE",
        )
    messages = _trace(tmp_path, "uac_agent_bye")
    ok = next(m for m in messages if _is(m, "SIP/2.0 200 OK", "INVITE"))
    byes = [m for m in messages if _is(m, "BYE ", "BYE")]
    assert len(byes) >= 2 and len(set(byes)) == 1  # sent again, unchanged, until answered
    bye = byes[0]
    assert re.match(r"BYE sip:13800138000@127\.0\.0\.1:\d+ SIP/2\.0", bye)  # the Contact
    agent_tag = re.search(r";tag=(\S+)", _header(ok, "To"))
    assert agent_tag and _header(bye, "From").endswith(f";tag={agent_tag.group(1)}")
    assert "SIPpTag" in _header(bye, "To") and _header(bye, "Call-ID") == _header(ok, "Call-ID")
    assert any(_is(m, "SIP/2.0 200 OK", "BYE") for m in messages)  # the caller answered it


def _header(message: str, name: str) -> str:
    match = re.search(rf"^\s*{name}:(.*)$", message, re.MULTILINE | re.IGNORECASE)
    return match.group(1).strip() if match else ""


def rtp_pcap(path: Path, payload: bytes, payload_type: int, ptime_ms: int) -> Path:
    """A capture (Ethernet/IPv4/UDP/RTP, pcap format) of `payload` cut into `ptime_ms` packets.

    SIPp's play_pcap_audio sends it paced by the capture's time stamps, from its media
    port to the agent's; a payload of 8 kHz G.711 is 8 bytes a millisecond.
    """
    size = 8 * ptime_ms
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for n, at in enumerate(range(0, len(payload), size)):
        rtp = struct.pack("!BBHII", 0x80, payload_type, n, n * size, 0x1234ABCD)
        rtp += payload[at : at + size].ljust(size, b"\xff" if payload_type == 0 else b"\xd5")
        udp = struct.pack("!HHHH", 6000, 6000, 8 + len(rtp), 0) + rtp
        ip = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n, 0, 64, 17, 0, b"\x7f\0\0\1", b"\x7f\0\0\1"
        )
        words = struct.unpack("!10H", ip)
        checksum = sum(words)
        checksum = ~((checksum & 0xFFFF) + (checksum >> 16)) & 0xFFFF
        ip = ip[:10] + struct.pack("!H", checksum) + ip[12:]
        frame = b"\0" * 12 + b"\x08\x00" + ip + udp
        micros = n * ptime_ms * 1000
        out += struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(frame), len(frame))
        out += frame
    path.write_bytes(bytes(out))
    return path


def test_30_ms_packets_are_recorded_faithfully_and_the_caller_hangs_up(
    agent: AgentFactory, tmp_path: Path
) -> None:
    """A caller sending PCMA in 30 ms packets (a=ptime:30) hangs up. What is kept: the
    agent's record (answered, ended by the caller), the caller's (200 OK to its BYE), and
    a recording that correlates >= 0.99 with what the caller sent."""
    encoded, sent = caller_audio(tmp_path, "PCMA")
    capture = rtp_pcap(tmp_path / "caller-30ms.pcap", encoded.read_bytes(), 8, 30)
    seconds = len(sent) / 8000
    scenario = _scenario(
        tmp_path,
        "uac_pcap.xml",
        PCAP_FILE=capture,
        PAYLOAD=8,
        CODEC="PCMA",
        PTIME=30,
        PAUSE_MS=int(seconds * 1000) + 800,
    )
    with agent(agent__record_seconds="30.0") as site:
        out = sipp(
            site.address,
            "-sf",
            str(scenario),
            "-s",
            "agent",
            "-trace_msg",
            "-mp",
            "0",
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stdout[-2000:]
        (call,) = _ended(site)
        assert call.disposition is Disposition.ANSWERED and call.codec == "PCMA"
        assert call.hangup_cause == "caller BYE"
        recorded = _recording(site)
    messages = _trace(tmp_path, "uac_pcap")
    assert any(_is(m, "SIP/2.0 200 OK", "BYE") for m in messages)
    assert best_correlation(sent, recorded) >= 0.99
