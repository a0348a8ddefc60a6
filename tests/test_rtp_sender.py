"""The RTP sender process (adapter fix 28, ivr/rtp_sender.py), on loopback sockets."""

from __future__ import annotations

import logging
import marshal
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.rtp_pacer import RtpPacer
from ivr.rtp_sender import LEAD_S, RtpSender, SenderGone, serve
from tests.support.processes import wait_until

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def sender() -> Iterator[RtpSender]:
    process = RtpSender("test sender")
    process.start()
    yield process
    process.stop()


def _udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def _receive(
    sock: socket.socket, count: int, timeout: float = 5.0
) -> list[tuple[float, bytes, int]]:
    """(arrival on the monotonic clock, packet, source port) of `count` datagrams."""
    sock.settimeout(timeout)
    got = []
    for _ in range(count):
        data, source = sock.recvfrom(2048)
        got.append((time.monotonic(), data, source[1]))
    return got


def _exited(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # a zombie has exited; its parent has not reaped it yet


def test_packets_leave_at_their_deadlines_in_order_from_the_calls_own_port(
    sender: RtpSender,
) -> None:
    """Handed over early and out of order: each packet leaves no earlier than its
    deadline, in deadline order, from the stream's socket (the port its SDP named)."""
    stream, far_end = _udp(), _udp()
    sender.open(1, stream)
    start = time.monotonic() + 0.05
    deadlines = [start + 0.02 * n for n in range(5)]
    packets = [(1, deadlines[n], far_end.getsockname(), b"packet %d" % n) for n in (3, 0, 4, 1, 2)]
    sender.send(packets)
    got = _receive(far_end, 5)
    assert [data for _, data, _ in got] == [b"packet %d" % n for n in range(5)]
    assert {port for _, _, port in got} == {stream.getsockname()[1]}
    for (arrival, _, _), deadline in zip(got, deadlines, strict=True):
        assert arrival >= deadline - 0.001
    stream.close()
    far_end.close()


def test_a_closed_stream_sends_nothing_more_and_its_port_is_let_go(sender: RtpSender) -> None:
    """What is kept: nothing of an ended call goes out after its end, and the child's
    duplicate of the socket is closed, so the RTP port can serve the next call."""
    stream, far_end = _udp(), _udp()
    port = stream.getsockname()[1]
    sender.open(7, stream)
    sender.send([(7, time.monotonic() + 0.3, far_end.getsockname(), b"late")])
    sender.close(7)
    stream.close()

    def port_free() -> bool:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            probe.close()
        return True

    wait_until(port_free, 5, "the sender process to let go of the port")
    far_end.settimeout(0.6)
    with pytest.raises(TimeoutError):
        far_end.recvfrom(2048)
    far_end.close()


def test_a_message_it_cannot_read_is_reported_and_the_next_ones_are_served() -> None:
    """serve() itself, in a thread: garbage on the control socket costs nothing."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    worker = threading.Thread(target=serve, args=(child,), daemon=True)
    worker.start()
    stream, far_end = _udp(), _udp()
    parent.send(b"\x00garbage")
    parent.send(marshal.dumps(("no such kind", 1)))
    socket.send_fds(parent, [marshal.dumps(("open", 3))], [stream.fileno()])
    parent.send(marshal.dumps(("send", ((3, time.monotonic(), far_end.getsockname(), b"ok"),))))
    ((_, data, _),) = _receive(far_end, 1)
    assert data == b"ok"
    parent.close()  # EOF: the loop ends
    worker.join(5)
    assert not worker.is_alive()
    stream.close()
    far_end.close()


def test_the_sender_process_ends_with_the_agent_even_when_the_agent_is_killed() -> None:
    """An agent killed with SIGKILL leaves no sender process behind."""
    code = (
        "import time; from ivr.rtp_sender import RtpSender; s = RtpSender(); s.start(); "
        "print(s.pid, flush=True); time.sleep(60)"
    )
    agent = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert agent.stdout is not None
    child = int(agent.stdout.readline())
    assert not _exited(child)
    agent.send_signal(signal.SIGKILL)
    agent.wait(5)
    wait_until(lambda: _exited(child), 5, "the sender process to end")


class _Stream:
    """A 20 ms stream whose packets are numbered, sent through the pacer."""

    period = 0.02

    def __init__(self, pacer: RtpPacer, far_end: tuple[str, int]) -> None:
        self.pacer = pacer
        self.sock = _udp()
        self.far_end = far_end
        self.count = 0
        self.failed = []

    def active(self) -> bool:
        return True

    def sending(self) -> bool:
        return True

    def send_next(self) -> None:
        self.pacer.transmit(self, self.sock, self.far_end, self.count.to_bytes(4, "big"))
        self.count += 1

    def skip(self, count: int) -> None:
        self.count += count

    def play_done(self, play_id: int) -> None:
        pass

    failed: list[str]

    def fail(self, reason: str) -> None:
        self.failed.append(reason)


def test_a_stream_handed_over_late_gets_no_packet_from_the_pacer_and_starts_paced() -> None:
    """Issue 17: the call thread hands its new stream to the sender process 0.3 s after
    adding it (a burst of calls being answered). What is kept: the pacer builds none of
    its packets meanwhile (at 100 calls it fed 18 streams' first packets up to 1.5 s
    late), and the child's first packet leaves after the hand-over, with the sequence
    number handed over, the next ones 20 ms apart: not a burst of the time missed."""
    far_end = _udp()
    pacer = RtpPacer(name="test pacer", sender=RtpSender("test sender"))
    stream = _Stream(pacer, far_end.getsockname())
    pacer.start()
    try:
        wait_until(pacer.commandable, 10, "the sender process ready")
        pacer.add(stream, pending=True)
        time.sleep(0.3)
        handed = time.monotonic()
        state = (0, 0xCAFE, 7, 0, 160, 160, 0xFF, True)
        assert pacer.play(stream, stream.sock, lambda: state, far_end.getsockname(), b"", 0)
        got = _receive(far_end, 10)
    finally:
        pacer.stop()
    assert stream.count == 0  # not one packet built by the pacer
    assert [struct.unpack("!H", data[2:4])[0] for _, data, _ in got] == list(range(7, 17))
    assert got[0][0] >= handed
    assert got[-1][0] - got[0][0] >= 9 * stream.period - 0.005
    stream.sock.close()
    far_end.close()


def test_a_killed_sender_process_is_restarted_and_the_stream_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The child is killed mid-stream. What is kept: a new child is started (logged at
    ERROR, counted), the stream goes on through it; at most the packets the child held
    (LEAD_S of audio) and those sent while it was replaced are missing."""
    far_end = _udp()
    pacer = RtpPacer(name="test pacer", sender=RtpSender("test sender"))
    stream = _Stream(pacer, far_end.getsockname())
    pacer.start()
    try:
        pacer.add(stream)
        before = _receive(far_end, 10)
        sender = pacer.sender
        assert sender is not None and sender.pid is not None
        first = sender.pid
        with caplog.at_level(logging.ERROR, logger="ivr"):
            os.kill(first, signal.SIGKILL)
            after = _receive(far_end, 25)
        # Bounded, not a speed figure: a loaded 2-core CI machine may take a while.
        wait_until(lambda: pacer.sender_restarts == 1, 30, "the pacer to restart the sender")
        assert pacer.sender is sender and sender.pid != first and not _exited(sender.pid)
    finally:
        pacer.stop()
    numbers = [int.from_bytes(data, "big") for _, data, _ in before + after]
    assert numbers == sorted(numbers)
    missing = (numbers[-1] - numbers[0] + 1) - len(numbers)
    assert missing <= round(LEAD_S / stream.period) + 1, numbers
    assert "the RTP sender process is gone" in caplog.text
    assert "RTP sender process restarted" in caplog.text
    stream.sock.close()
    far_end.close()


def test_a_stream_to_a_port_over_65535_ends_that_stream_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """PROTOS c07-sip case 0003978 (m=audio 65536) killed the sender process and the pacer
    thread with OverflowError. What is kept: the bad stream is dropped and told why
    (its call is hung up), the other stream goes on, the sender process is the same."""
    far_end = _udp()
    pacer = RtpPacer(name="test pacer", sender=RtpSender("test sender"))
    good = _Stream(pacer, far_end.getsockname())
    bad = _Stream(pacer, ("127.0.0.1", 65536))
    pacer.start()
    try:
        sender = pacer.sender
        assert sender is not None
        pid = sender.pid
        with caplog.at_level(logging.ERROR, logger="ivr"):
            pacer.add(bad)
            pacer.add(good)
            got = _receive(far_end, 20)
        wait_until(lambda: pacer.streams() == 1, 5, "the bad stream to be dropped")
        assert bad.failed and "65536" in bad.failed[0]
        assert not good.failed
        assert pacer.sender is sender and sender.pid == pid and pacer.sender_restarts == 0
        assert pacer.stream_faults == 1
    finally:
        pacer.stop()
    assert len(got) == 20
    assert "Traceback" not in caplog.text
    for sock in (good.sock, bad.sock, far_end):
        sock.close()


def test_the_child_drops_a_stream_sendto_cannot_take_and_serves_the_others() -> None:
    """serve() itself: a destination that raises OverflowError (not OSError) in sendto
    drops that stream only; the loop goes on (the process died of it before)."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    worker = threading.Thread(target=serve, args=(child,), daemon=True)
    worker.start()
    bad, good, far_end = _udp(), _udp(), _udp()
    socket.send_fds(parent, [marshal.dumps(("open", 1))], [bad.fileno()])
    socket.send_fds(parent, [marshal.dumps(("open", 2))], [good.fileno()])
    now = time.monotonic()
    parent.send(marshal.dumps(("send", ((1, now, ("127.0.0.1", 65536), b"bad"),))))
    parent.send(marshal.dumps(("send", ((2, now + 0.01, far_end.getsockname(), b"ok"),))))
    ((_, data, _),) = _receive(far_end, 1)
    assert data == b"ok"
    assert worker.is_alive()
    parent.close()
    worker.join(5)
    assert not worker.is_alive()
    for sock in (bad, good, far_end):
        sock.close()


def test_sending_to_a_sender_that_was_stopped_says_so() -> None:
    process = RtpSender("stopped")
    process.start()
    process.stop()
    with pytest.raises(SenderGone):
        process.send([(1, time.monotonic(), ("127.0.0.1", 9), b"x")])
    assert not process.alive()


def test_the_sender_process_runs_at_real_time_priority_where_the_system_allows_it(
    sender: RtpSender,
) -> None:
    """Issue 17: packets are put on the wire by a process the scheduler runs first. Where
    this machine allows SCHED_RR (root or CAP_SYS_NICE, as CI runs), the child has it."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os; os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(10))",
        ],
        capture_output=True,
    )
    process = sender._process
    assert process is not None
    expected = os.SCHED_RR if probe.returncode == 0 else os.SCHED_OTHER
    wait_until(
        lambda: os.sched_getscheduler(process.pid) == expected, 5, "the child's scheduling policy"
    )


def test_where_real_time_priority_is_refused_the_sender_says_so_in_one_line() -> None:
    """Without CAP_SYS_NICE (setpriv drops it) the child starts at normal priority, says so
    in one line with what to grant (the agent logs the child's stderr)."""
    code = (
        "import socket, sys; sys.path.insert(0, sys.argv[1]);"
        "from ivr.rtp_sender import _raise_priority, serve;"
        "print(_raise_priority(), flush=True)"
    )
    done = subprocess.run(
        [
            "setpriv",
            "--inh-caps=-sys_nice",
            "--bounding-set=-sys_nice",
            sys.executable,
            "-c",
            code,
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout.startswith("rtp-sender: real-time priority refused"), done.stdout
    assert "CAP_SYS_NICE" in done.stdout and "README" in done.stdout
