"""Outgoing RTP from one pacer thread per phone (adapter fix 20, ivr/rtp_pacer.py).

Unit tests drive `RtpPacer.run_due` with a fake clock: absolute deadlines,
catching up after a late wake-up, a stall too long to catch up, hold, mixed
packet times, a stream that fails. The integration tests capture the real
thing with tshark on lo: three calls between two in-process phones (one of
them pressing keys), and four SIPp callers against `hotline agent`; they check
structure (every packet sent, timestamps on the clock, no gap over three
packet times, small drift), not speed: bench/sip_load.py measures that.

What is kept when one fails: the capture (`lo.pcapng`) and, for SIPp, its
message trace, in the test's tmp_path.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from ivr.rtp_pacer import RtpPacer, key_press_payloads
from ivr.sip import Endpoint, SipCall, SipPhone
from tests.sip.conftest import sipp, udp_port
from tests.sip.test_agent_calls import AgentFactory, _ended, caller_audio, scenario
from tests.sip.test_dialogs import _capture, _trace
from tests.support.processes import free_port, require_tool, wait_until
from tests.support.rtp_capture import rtp_packets, rtp_streams

# --- the pacer on a fake clock ---------------------------------------------------------


@dataclass
class FakeStream:
    period: float = 0.02
    clock: list[float] = field(default_factory=lambda: [0.0])
    sent: list[float] = field(default_factory=list)
    skipped: int = 0
    held: bool = False
    stopped: bool = False
    fail: bool = False

    def active(self) -> bool:
        return not self.stopped

    def sending(self) -> bool:
        return not self.held

    def send_next(self) -> None:
        if self.fail:
            raise OSError("socket gone")
        self.sent.append(self.clock[0])

    def skip(self, count: int) -> None:
        self.skipped += count


def _pacer_at(now: float) -> tuple[RtpPacer, list[float]]:
    clock = [now]
    return RtpPacer(clock=lambda: clock[0]), clock


def test_deadlines_are_absolute_and_shared_by_streams_of_one_period() -> None:
    """Two streams added 7 ms apart both start on the next 20 ms multiple; waking exactly
    at each returned deadline sends one packet each, every 20 ms, for 100 s without drift."""
    pacer, clock = _pacer_at(1000.003)
    first, second = FakeStream(clock=clock), FakeStream(clock=clock)
    pacer.add(first)
    clock[0] = 1000.010
    pacer.add(second)
    next_due = pacer.run_due(clock[0])
    assert next_due == pytest.approx(1000.02)
    for _ in range(5000):
        assert next_due is not None
        clock[0] = next_due + 0.0004  # every wake-up a little late
        next_due = pacer.run_due(clock[0])
    assert len(first.sent) == len(second.sent) == 5000
    assert np.diff(first.sent) == pytest.approx(0.02)
    assert next_due == pytest.approx(1000.02 + 5000 * 0.02)


def test_a_late_wake_up_sends_what_is_due_and_the_stream_catches_up() -> None:
    """Woken 47 ms late, the stream sends the three packets due at once (rfcvoip's own
    transmitter skipped them); the next deadline is where the clock says, not later."""
    pacer, clock = _pacer_at(0.0)
    stream = FakeStream(clock=clock)
    pacer.add(stream)
    pacer.run_due(0.0)
    clock[0] = 0.067
    next_due = pacer.run_due(clock[0])
    assert len(stream.sent) == 4 and stream.skipped == 0
    assert next_due == pytest.approx(0.08)


def test_a_stall_longer_than_the_burst_limit_skips_the_oldest() -> None:
    """Half a second without running: 10 packets (200 ms) go out, the 15 before them are skipped
    (their time passes, timestamps move on) so the far end gets no half-second burst."""
    pacer, clock = _pacer_at(0.0)
    stream = FakeStream(clock=clock)
    pacer.add(stream)
    pacer.run_due(0.0)
    clock[0] = 0.5
    pacer.run_due(clock[0])
    assert (len(stream.sent), stream.skipped) == (1 + 10, 15)


def test_a_held_stream_keeps_its_clock_and_resumes_without_a_burst() -> None:
    pacer, clock = _pacer_at(0.0)
    stream = FakeStream(clock=clock)
    pacer.add(stream)
    for n in range(100):
        stream.held = 20 <= n < 70
        clock[0] = n * 0.02
        pacer.run_due(clock[0])
    assert (len(stream.sent), stream.skipped) == (50, 50)
    assert np.diff(stream.sent).max() == pytest.approx(51 * 0.02)


def test_20_and_30_ms_streams_keep_their_own_periods() -> None:
    pacer, clock = _pacer_at(0.0)
    twenty, thirty = FakeStream(0.02, clock), FakeStream(0.03, clock)
    pacer.add(twenty)
    pacer.add(thirty)
    next_due: float | None = 0.0
    while next_due is not None and next_due < 6.0:
        clock[0] = next_due
        next_due = pacer.run_due(clock[0])
    assert np.diff(twenty.sent) == pytest.approx(0.02)
    assert np.diff(thirty.sent) == pytest.approx(0.03)
    assert (len(twenty.sent), len(thirty.sent)) == (300, 200)


def test_stopped_and_failing_streams_are_dropped_and_the_others_go_on() -> None:
    pacer, clock = _pacer_at(0.0)
    good, stopped, failing = (FakeStream(clock=clock) for _ in range(3))
    for stream in (good, stopped, failing):
        pacer.add(stream)
    stopped.stopped, failing.fail = True, True
    for n in range(10):
        clock[0] = n * 0.02
        pacer.run_due(clock[0])
    assert len(good.sent) == 10 and stopped.sent == failing.sent == []
    assert pacer.streams() == 1


def test_the_pacer_thread_is_idle_without_streams_and_joined_on_stop() -> None:
    pacer = RtpPacer(name="pacer under test")
    stream = FakeStream(clock=[0.0])
    pacer.start()
    try:
        pacer.add(stream)
        wait_until(lambda: len(stream.sent) >= 5, 5, "five packets")
        stream.stopped = True
        wait_until(lambda: pacer.streams() == 0, 5, "the stopped stream to be dropped")
    finally:
        pacer.stop()
    assert "pacer under test" not in {t.name for t in threading.enumerate()}


def test_a_key_press_is_rfc_4733_events_ending_three_times() -> None:
    packets = key_press_payloads("#", 160)
    assert [marker for _p, marker in packets] == [True] + [False] * 11
    assert {p[0] for p, _m in packets} == {11}  # '#'
    durations = [int.from_bytes(p[2:4], "big") for p, _m in packets]
    assert durations == [160 * n for n in range(1, 10)] + [1600] * 3
    assert [bool(p[1] & 0x80) for p, _m in packets] == [False] * 9 + [True] * 3


# --- real packets on lo ----------------------------------------------------------------


def _rtp_streams(capture: Path) -> dict[tuple[int, int], np.ndarray]:
    """(source port, destination port) -> rows of (time, seq, timestamp, pt, marker) of the
    RTP sent from 127.0.0.1 (tests/support/rtp_capture.py says why from udp.payload)."""
    filtered = "udp && !sip && ip.src == 127.0.0.1"
    return rtp_streams(rtp_packets(capture, filtered, tshark=require_tool("tshark"), timeout=120))


def _assert_paced(rows: np.ndarray, ptime_ms: int = 20) -> None:
    """Every packet sent (seq +1), stamped on the clock (+8 samples a ms), no gap over three
    packet times, and the interval fitted over the stream within 0.5 % of the packet time."""
    times, seq, stamps = rows[:, 0], rows[:, 1].astype(int), rows[:, 2].astype(np.int64)
    assert np.all(np.diff(seq) % 65536 == 1), "a sequence number missing: a packet not sent"
    audio = rows[:, 3] != 101
    steps = np.diff(stamps[audio]) % 2**32
    assert np.all(steps % (8 * ptime_ms) == 0), sorted(set(steps.tolist()))[:5]
    span = (stamps[-1] - stamps[0]) % 2**32 / (8 * ptime_ms)
    assert span == pytest.approx(len(times) - 1, abs=1), "timestamps off the packet count"
    gaps = np.diff(times) * 1000
    assert gaps.max() < 3 * ptime_ms, f"a gap of {gaps.max():.1f} ms"
    # Drift is the slope of send time over packet number (least squares): a late first
    # packet caught up at once (seen at load 20: end-to-end mean 19.87 ms) is not drift.
    mean = float(np.polyfit(np.arange(len(times)), times, 1)[0]) * 1000
    assert mean == pytest.approx(ptime_ms, rel=0.005), f"drift: mean interval {mean:.3f} ms"


@dataclass
class Answering:
    """The in-process far end: answers at once, writes a tone, collects the keys pressed."""

    rtp_ports: range = range(0)
    """Both phones' RTP ports (other programs share lo)."""
    calls: list[SipCall] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def on_call(self, call: SipCall) -> None:
        assert call.answer()
        self.calls.append(call)
        thread = threading.Thread(target=self._serve, args=(call,), daemon=True)
        self.threads.append(thread)
        thread.start()

    def _serve(self, call: SipCall) -> None:
        tone = (np.sin(np.arange(160) * 2 * np.pi * 440 / 8000) * 8000).astype("<i2").tobytes()
        start, tick = time.monotonic(), 0
        while not self.stop.is_set() and not call.ended:
            call.write(tone)
            self.keys[call.call_id] = self.keys.get(call.call_id, "") + call.dtmf_digits()
            tick += 1
            self.stop.wait(max(0.0, start + tick * 0.02 - time.monotonic()))


@pytest.fixture
def two_phones() -> Iterator[tuple[SipPhone, SipPhone, Answering]]:
    low = free_port() // 10 * 10 % 30000 + 20000
    far_end = Answering(rtp_ports=range(low, low + 200))
    answering_at = Endpoint("127.0.0.1", udp_port())
    answering = SipPhone(answering_at, far_end.on_call, user="agent", rtp_ports=(low, low + 99))
    calling = SipPhone(
        Endpoint("127.0.0.1", udp_port()),
        lambda _call: None,
        user="13800138000",
        rtp_ports=(low + 100, low + 199),
        peer=answering_at,
    )
    answering.start()
    calling.start()
    try:
        yield answering, calling, far_end
    finally:
        far_end.stop.set()
        calling.stop()
        answering.stop()
        for thread in far_end.threads:
            thread.join(5)


def test_three_calls_between_two_phones_are_paced_by_one_thread_each(
    two_phones: tuple[SipPhone, SipPhone, Answering], tmp_path: Path
) -> None:
    """Three concurrent calls for 4 s, both ways: no rfcvoip transmitter thread runs, one
    pacer per phone does; every stream both ways is paced (`_assert_paced`); the caller's
    key presses (RFC 4733 through the pacer) arrive, each once, in order."""
    _answering, calling, far_end = two_phones
    with _capture(tmp_path) as capture:
        calls = [calling.call("agent") for _ in range(3)]
        wait_until(lambda: all(c.answered for c in calls), 10, "three answers")
        names = [t.name for t in threading.enumerate()]
        assert not [n for n in names if n == "RTP Transmitter"], names
        assert len([n for n in names if n.startswith("RTP pacer")]) == 2, names
        time.sleep(1.0)
        for call, keys in zip(calls, ("1", "#", "2*"), strict=True):
            assert call.send_dtmf(keys)
        time.sleep(3.0)
        for call in calls:
            call.hangup()
        wait_until(lambda: all(c.ended for c in far_end.calls), 10, "the calls to end")
    assert sorted(far_end.keys.values()) == sorted(["1", "#", "2*"])
    ports = far_end.rtp_ports
    streams = {
        (src, dst): rows
        for (src, dst), rows in _rtp_streams(capture).items()
        if src in ports and dst in ports
    }
    assert len(streams) == 6, sorted(streams)  # three calls, both ways
    events = 0
    for rows in streams.values():
        _assert_paced(rows)
        press = rows[rows[:, 3] == 101]
        if len(press):
            events += int(press[:, 4].sum())  # one marker per key press
            assert len(set(press[:, 2].tolist())) == int(press[:, 4].sum())
    assert events == 4


def test_four_sipp_callers_get_paced_audio_from_the_agent(
    agent: AgentFactory, tmp_path: Path
) -> None:
    """`hotline agent` answers four concurrent SIPp callers (6 s each): each of its four
    streams is paced (`_assert_paced`) from the greeting to the caller's BYE."""
    audio, _sent = caller_audio(tmp_path, "PCMU")
    caller = scenario(tmp_path, audio, "PCMU", 6000)
    with agent(agent__record_seconds="20.0") as site, _capture(tmp_path) as capture:
        out = sipp(
            site.address,
            *("-sf", str(caller), "-s", "agent", "-l", "4", "-m", "4", "-r", "20"),
            "-trace_msg",
            cwd=tmp_path,
            timeout=90,
        )
        assert out.returncode == 0, out.stdout[-2000:]
        assert len(_ended(site, 4)) == 4
    answers = [m for m in _trace(tmp_path, caller.stem) if m.startswith("SIP/2.0 200 OK")]
    ports = {
        int(line.split()[1])
        for m in answers
        for line in m.splitlines()
        if line.startswith("m=audio")
    }
    assert len(ports) == 4
    streams = {src: rows for (src, _dst), rows in _rtp_streams(capture).items() if src in ports}
    assert sorted(streams) == sorted(ports)
    for rows in streams.values():
        assert len(rows) > 200
        _assert_paced(rows)
