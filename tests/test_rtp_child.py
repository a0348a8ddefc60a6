"""Why the RTP sender process sent a packet late (issue 17, ivr/rtp_child.py).

The child lays the span from each late packet's deadline to its sending over what it
was doing meanwhile, and names the largest share in its summary at exit (the agent's
log; bench/sip_load.py reports it). A real child stopped mid-stream must say it slept
past its wake-up time, and keep the stream's clock (what was due goes out on resume).
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import time

import pytest

from ivr.rtp_child import LATE_S, Lateness, Round
from ivr.rtp_sender import RtpSender
from tests.support.processes import wait_until

PERIOD = 0.02


def _round(**spans: float | list[tuple[float, float]]) -> Round:
    """A round that went to sleep at 0.995 to wake at 1.000, woke at once and read for
    a microsecond; the round before sent from 0.990 to 0.991; `spans` overrides."""
    turn = Round()
    turn.sent_from, turn.sent_to = 0.990, 0.991
    turn.slept, turn.wake, turn.woke, turn.read_to = 0.995, 1.000, 1.000, 1.000001
    for name, value in spans.items():
        setattr(turn, name, value)
    return turn


@pytest.mark.parametrize(
    ("spans", "deadline", "cause"),
    [
        ({"woke": 1.030, "read_to": 1.0301}, 1.000, "asleep past its wake-up time"),
        ({"read_to": 1.030}, 1.000, "reading commands"),
        ({"read_to": 1.030, "collections": [(1.001, 1.029)]}, 1.000, "garbage collection"),
        (
            {"sent_to": 1.028, "slept": 1.028, "wake": 1.000, "woke": 1.028, "read_to": 1.030},
            1.000,
            "sending the round before",
        ),
        ({"woke": 1.030, "read_to": 1.0301}, 0.950, "handed over late"),
        ({"woke": 1.030, "read_to": 1.0301}, -0.950, "commanded after its deadline"),
    ],
)
def test_a_late_send_is_blamed_on_what_the_child_was_doing_meanwhile(
    spans: dict[str, float], deadline: float, cause: str
) -> None:
    """A negative deadline here stands for a commanded stream's (the child's own)."""
    lateness = Lateness()
    turn = _round(**spans)
    lateness.sent(abs(deadline), turn.read_to, turn, commanded=deadline < 0)
    deadline = abs(deadline)
    assert lateness.sent_late == 1
    assert {name: int(count) for name, (count, _) in lateness.causes.items() if count} == {cause: 1}
    summary = lateness.summary()
    assert f"sent late by cause: {cause} 1 (worst {1e3 * (turn.read_to - deadline):.1f} ms)" in (
        summary
    )
    assert "worst: " in summary


def test_a_packet_on_time_is_counted_and_blamed_on_nothing() -> None:
    lateness = Lateness()
    turn = _round()
    lateness.sent(1.000 - LATE_S / 2, turn.read_to, turn)
    assert (lateness.packets, lateness.sent_late) == (1, 0)
    assert "sent late by cause: none" in lateness.summary()


def test_a_child_stopped_mid_stream_says_it_slept_late_and_keeps_the_streams_clock(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """SIGSTOP for 150 ms while it paces a commanded stream (as a stolen core would): the
    packets due meanwhile go out on resume (none lost under MAX_BURST_S, sequence numbers
    continuous), and the summary at exit blames the sleep, not the child's own work."""
    process = RtpSender("test child")
    process.start()
    stream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    far_end = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stream.bind(("127.0.0.1", 0))
    far_end.bind(("127.0.0.1", 0))
    try:
        wait_until(process.ready, 5, "the sender process ready")
        pid = process.pid
        assert pid is not None
        process.open(1, stream)
        start = time.monotonic() + 0.05
        state = (start, PERIOD, 0, 0xCAFE, 100, 0, 160, 160, 0xFF, True)
        process.command("plane", 1, (*state, far_end.getsockname()))
        time.sleep(0.2)
        os.kill(pid, signal.SIGSTOP)
        time.sleep(0.15)
        os.kill(pid, signal.SIGCONT)
        end = start + 0.6
        seqs = []
        while (left := end - time.monotonic()) > 0:
            far_end.settimeout(left)
            try:
                seqs.append(struct.unpack("!H", far_end.recv(2048)[2:4])[0])
            except TimeoutError:
                break
    finally:
        process.stop()
        stream.close()
        far_end.close()
    assert seqs == list(range(100, 100 + len(seqs))) and len(seqs) >= 28
    err = capfd.readouterr().err
    late = [line for line in err.splitlines() if "sent late by cause" in line]
    assert len(late) == 1, err
    causes, worst = late[0].split("; worst: ")
    assert causes.startswith("rtp-sender: sent late by cause: asleep past its wake-up time ")
    assert "reading commands" not in causes and "garbage collection" not in causes
    assert "asleep past its wake-up time 1" in worst  # of the 150 ms stop
